import FjordController
import FjordStorage
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// This node's replica of one partition: its log, leadership, high watermark, last stable offset, producer state
/// (with the partition's ongoing transactions), and the fetches waiting for its next append.
///
/// The log serializes appends itself; the state here (epoch, high watermark, producer state) is guarded by the
/// replica's lock, taken for the validation-and-append step of a produce or transaction marker so that producer
/// checks, the append they allow and the state change it makes are one step.
final class PartitionReplica: @unchecked Sendable {
    let topicPartition: TopicPartition
    let topicID: KafkaUUID
    let log: PartitionLog
    let lock = NIOLock()

    // Guarded by `lock`.
    private var leaderEpochStorage: Int32
    private var isLeaderStorage: Bool
    private var configStorage: EffectiveTopicConfig
    var producerState = ProducerStateManager()
    private var waiters: [UInt64: @Sendable () -> Void] = [:]
    private var nextWaiterID: UInt64 = 0

    init(topicPartition: TopicPartition, topicID: KafkaUUID, log: PartitionLog, leaderEpoch: Int32, isLeader: Bool, config: EffectiveTopicConfig) {
        self.topicPartition = topicPartition
        self.topicID = topicID
        self.log = log
        leaderEpochStorage = leaderEpoch
        isLeaderStorage = isLeader
        configStorage = config
        if log.logEndOffset > log.logStartOffset, let replayed = try? ProducerStateManager.replayed(from: log) {
            producerState = replayed.state
            // Re-adds index entries a crash lost between an ABORT marker and its entry (present ones are kept).
            for transaction in replayed.aborted { try? log.addAbortedTransaction(transaction) }
        }
    }

    var leaderEpoch: Int32 { lock.withLock { leaderEpochStorage } }
    /// The leader epoch, for code that already holds `lock`.
    var leaderEpochUnlocked: Int32 { leaderEpochStorage }
    var isLeader: Bool { lock.withLock { isLeaderStorage } }
    var config: EffectiveTopicConfig { lock.withLock { configStorage } }

    /// On a single node every replica is in sync the moment it is written: the high watermark is the log end.
    /// (Replication will keep it as the smallest log end offset of the in-sync replicas.)
    var highWatermark: Int64 { log.logEndOffset }
    /// The offset below which every transaction is complete (Kafka's last stable offset): the first offset of the
    /// earliest ongoing transaction, or the high watermark when none is open (never above it, and, as in Kafka,
    /// never below the log start, which DeleteRecords may have moved into an open transaction). read_committed
    /// fetches read below it. Read under the lock so that it agrees with the appends made so far.
    var lastStableOffset: Int64 {
        lock.withLock {
            guard let firstUnstable = producerState.firstUnstableOffset else { return highWatermark }
            return min(max(firstUnstable, log.logStartOffset), highWatermark)
        }
    }

    func update(leaderEpoch: Int32, isLeader: Bool, config: EffectiveTopicConfig) {
        let changed = lock.withLock { () -> Bool in
            let changed = configStorage != config
            leaderEpochStorage = leaderEpoch
            isLeaderStorage = isLeader
            configStorage = config
            return changed
        }
        if changed { log.configuration = config.logConfiguration }
    }

    // MARK: Waiting fetches

    /// Calls `wake` once, after the next append (or `wakeAll`). Returns an id to cancel with.
    func addWaiter(_ wake: @escaping @Sendable () -> Void) -> UInt64 {
        lock.withLock {
            nextWaiterID += 1
            waiters[nextWaiterID] = wake
            return nextWaiterID
        }
    }

    func removeWaiter(_ id: UInt64) {
        _ = lock.withLock { waiters.removeValue(forKey: id) }
    }

    /// Wakes every waiting fetch (after an append, a truncation, or a leadership change).
    func wakeAll() {
        let woken = lock.withLock { () -> [@Sendable () -> Void] in
            let all = Array(waiters.values)
            waiters.removeAll()
            return all
        }
        for wake in woken { wake() }
    }
}
