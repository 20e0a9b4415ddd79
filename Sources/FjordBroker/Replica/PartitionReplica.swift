import Dispatch
import FjordController
import FjordStorage
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// This node's replica of one partition: its log, and the replica's state (`PartitionReplicaState`: leadership,
/// high watermark, producer state with the partition's ongoing transactions, waiting fetches) as one value behind
/// one lock.
///
/// Two locks, always taken in this order (docs/ARCHITECTURE.md, "Threads and ownership"):
/// - `appendLock` serializes appends (produce, transaction markers, coordinator records). It is held across the log
///   append, which writes files and may roll a segment, so it is taken only on the I/O thread pool, never on an
///   event loop.
/// - `state` guards `PartitionReplicaState` for short critical sections that never do I/O. An append checks the
///   producer under it, appends to the log without it, then takes it again to record the producer's batch and
///   publish the new high watermark in one step: readers (fetches, ListOffsets, `/metrics`) see either the
///   state before the append or after it, never a log end that the producer state has not taken in.
final class PartitionReplica: Sendable {
    let topicPartition: TopicPartition
    let topicID: KafkaUUID
    let log: PartitionLog
    /// This broker's id: the replica's id in the partition's assignment.
    let localID: NodeID
    let appendLock = NIOLock()
    let state: NIOLockedValueBox<PartitionReplicaState>

    /// A replica with no role yet: `applyRegistration` gives it one (leader or follower) before it serves. Its
    /// high watermark starts at `checkpointedHighWatermark` (the `replication-offset-checkpoint` of its last run),
    /// kept within the log, else at the log start: nothing more is known to be committed until the role says so (a
    /// sole replica's leader moves it to its log end at once).
    init(
        topicPartition: TopicPartition, topicID: KafkaUUID, log: PartitionLog, localID: NodeID,
        config: EffectiveTopicConfig, checkpointedHighWatermark: Int64? = nil
    ) {
        self.topicPartition = topicPartition
        self.topicID = topicID
        self.log = log
        self.localID = localID
        var producerState = ProducerStateManager()
        if log.logEndOffset > log.logStartOffset, let replayed = try? ProducerStateManager.replayed(from: log) {
            producerState = replayed.state
            // Re-adds index entries a crash lost between an ABORT marker and its entry (present ones are kept).
            for transaction in replayed.aborted { try? log.addAbortedTransaction(transaction) }
        }
        state = NIOLockedValueBox(
            PartitionReplicaState(
                leaderEpoch: -1, isLeader: false, config: config,
                highWatermark: min(max(checkpointedHighWatermark ?? 0, log.logStartOffset), log.logEndOffset),
                producerState: producerState
            ))
    }

    var leaderEpoch: LeaderEpoch { state.withLockedValue { $0.leaderEpoch } }
    var isLeader: Bool { state.withLockedValue { $0.isLeader } }
    var config: EffectiveTopicConfig { state.withLockedValue { $0.config } }

    /// The offset below which records are committed and readable: the replication role's (`PartitionReplica+Role`):
    /// on a leader the smallest log end offset of the in-sync replicas (a sole replica's own log end after each
    /// append), on a follower the leader's as last fetched.
    var highWatermark: Int64 { state.withLockedValue { $0.highWatermark } }

    /// The offset below which every transaction is complete (Kafka's last stable offset): the first offset of the
    /// earliest ongoing transaction, or the high watermark when none is open (never above it, and, as in Kafka,
    /// never below the log start, which DeleteRecords may have moved into an open transaction). read_committed
    /// fetches read below it.
    var lastStableOffset: Int64 {
        let logStart = log.logStartOffset
        return state.withLockedValue { $0.lastStableOffset(logStartOffset: logStart) }
    }

    /// The last stable offset and the high watermark, read together (LSO ≤ HW always holds between them).
    var offsets: (lastStable: Int64, highWatermark: Int64) {
        let logStart = log.logStartOffset
        return state.withLockedValue { ($0.lastStableOffset(logStartOffset: logStart), $0.highWatermark) }
    }

    /// The producer state and the offset it describes (the log end: every append is in it), with no append in
    /// between: what a snapshot file saves.
    func producerStateSnapshot() -> (state: ProducerStateManager, offset: Int64) {
        appendLock.withLock { (state.withLockedValue { $0.producerState }, log.logEndOffset) }
    }

    // MARK: Waiting fetches

    /// Calls `wake` once, after the next append (or `wakeAll`). Returns an id to cancel with.
    func addWaiter(_ wake: @escaping @Sendable () -> Void) -> UInt64 {
        state.withLockedValue { state in
            state.nextWaiterID += 1
            state.waiters[state.nextWaiterID] = wake
            return state.nextWaiterID
        }
    }

    func removeWaiter(_ id: UInt64) {
        _ = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
    }

    /// Blocks until the high watermark reaches `offset` while this replica leads `epoch` (true), or until it stops
    /// leading it or `timeout` passes (false). A pool thread only: the coordinators wait this way for their
    /// internal-topic writes to reach the ISR before they answer, as Kafka's coordinators append with acks=all.
    func awaitHighWatermark(_ offset: Int64, leaderEpoch epoch: LeaderEpoch, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let woken = DispatchSemaphore(value: 0)
            let waiter = addWaiter { woken.signal() }
            // Registered first, then checked: an advance between the two still signals.
            let (reached, leading) = state.withLockedValue { state in
                (state.highWatermark >= offset, state.isLeader && state.leaderEpoch == epoch)
            }
            let remaining = deadline - ContinuousClock.now
            guard !reached, leading, remaining > .zero else {
                removeWaiter(waiter)
                return reached && leading
            }
            let nanoseconds =
                remaining.components.seconds * 1_000_000_000 + remaining.components.attoseconds / 1_000_000_000
            _ = woken.wait(timeout: .now() + .nanoseconds(Int(nanoseconds)))
            removeWaiter(waiter)
        }
    }

    /// Wakes every waiting fetch (after an append, a truncation, or a leadership change), outside the lock.
    func wakeAll() {
        let woken = state.withLockedValue { state -> [@Sendable () -> Void] in
            let all = Array(state.waiters.values)
            state.waiters.removeAll()
            return all
        }
        for wake in woken { wake() }
    }
}
