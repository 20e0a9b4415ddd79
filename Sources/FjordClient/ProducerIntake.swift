import KafkaRecords
import NIOCore

/// What `send` changes synchronously: the accumulator, the partitioner, the cached partition counts, the closing
/// flag and the sender's wakeup. It lives in a lock (`Producer.intake`) so that a record whose topic's partition
/// count is cached and that fits in `buffer.memory` is appended without a hop onto the producer actor; the sender
/// loop takes the same lock to drain, requeue and release batches. Only what cannot be decided at once (metadata
/// to fetch, memory to wait for) goes through the actor.
struct ProducerIntake: Sendable {
    /// The outcome of `reserve`.
    enum Reservation: Sendable {
        /// The partition is chosen and the record's bytes are counted in `buffer.memory`.
        case reserved(TopicPartition)
        case closed
        /// The topic's partition count is not cached (or too old).
        case needsMetadata
        case invalidPartition(count: Int)
        /// `buffer.memory` is full.
        case noRoom
    }

    var accumulator: RecordAccumulator
    var partitioner = Partitioner()
    /// Partition counts per topic and when they were read from the client's metadata. Change them only through
    /// `setPartitionCount` / `forgetPartitionCount`, which keep `lastTopic` in step.
    private(set) var partitionCounts: [String: (count: Int, checkedAt: ContinuousClock.Instant)] = [:]
    /// The entry of `partitionCounts` used last.
    private var lastTopic: (topic: String, count: Int, checkedAt: ContinuousClock.Instant)?
    var closing = false
    /// For a transactional producer: whether a transaction is open, so that `send` may take records.
    var transactionOpen = false
    /// The sender loop, when it waits for work.
    var senderWakeup: CheckedContinuation<Void, Never>?
    /// A wakeup that came while the sender was busy: its next wait returns at once.
    var wakeupPending = false
    let metadataMaxAge: Duration
    /// Whether every record wakes the sender (linger 0), not only a new or closed batch.
    let wakeForEveryRecord: Bool

    init(accumulator: RecordAccumulator, metadataMaxAge: Duration) {
        self.accumulator = accumulator
        self.metadataMaxAge = metadataMaxAge
        self.wakeForEveryRecord = accumulator.linger == .zero
    }

    mutating func setPartitionCount(_ count: Int, of topic: String, at now: ContinuousClock.Instant) {
        partitionCounts[topic] = (count, now)
        lastTopic = nil
    }

    mutating func forgetPartitionCount(of topic: String) {
        partitionCounts[topic] = nil
        lastTopic = nil
    }

    /// Picks the partition of a record of `size` bytes and takes its room in `buffer.memory`, or says why not.
    /// `count` is a partition count just read from metadata (used instead of the cache).
    mutating func reserve(
        topic: String, key: ByteBuffer?, partition: Int32?, size: Int, count known: Int? = nil,
        now: ContinuousClock.Instant
    ) -> Reservation {
        guard !closing else { return .closed }
        let count: Int
        if let known {
            count = known
        } else if let last = lastTopic, last.topic == topic, last.checkedAt + metadataMaxAge > now {
            count = last.count  // no hashing of the topic name for the usual case: the same topic again
        } else if let cached = partitionCounts[topic], cached.checkedAt + metadataMaxAge > now {
            count = cached.count
            lastTopic = (topic, cached.count, cached.checkedAt)
        } else {
            return .needsMetadata
        }
        if let partition, partition < 0 || Int(partition) >= count { return .invalidPartition(count: count) }
        guard accumulator.hasRoom(for: size) else { return .noRoom }
        let chosen =
            partition
            ?? partitioner.partition(topic: topic, key: key.map { Array($0.readableBytesView) }, partitionCount: count)
        accumulator.reserve(size)
        return .reserved(TopicPartition(topic, chosen))
    }

    /// The outcome of `reserveAndAppend`: small on purpose (it is returned once per record).
    enum FastAppend {
        case appended
        /// Appended; resume this sender (outside the lock).
        case appendedWaking(CheckedContinuation<Void, Never>)
        case closed
        /// Metadata to fetch, memory to wait for, or an error to describe: the slow path decides.
        case slowPath
    }

    /// `reserve` and `append` in one step when the partition count is cached and the record fits.
    mutating func reserveAndAppend(
        topic: String, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], partition: Int32?, size: Int,
        timestamp: Int64, now: ContinuousClock.Instant
    ) -> FastAppend {
        switch reserve(topic: topic, key: key, partition: partition, size: size, now: now) {
        case .reserved(let target):
            let sender = append(
                to: target, timestamp: timestamp, key: key, value: value, headers: headers, completion: nil, now: now
            )
            return sender.map(FastAppend.appendedWaking) ?? .appended
        case .closed:
            return .closed
        case .needsMetadata, .noRoom, .invalidPartition:
            return .slowPath
        }
    }

    /// Appends a record whose bytes `reserve` counted; returns the sender to resume (outside the lock) when the
    /// record closed a batch or started one whose linger deadline the sender must learn.
    mutating func append(
        to target: TopicPartition, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader],
        completion: ProducerBatch.Completion, now: ContinuousClock.Instant
    ) -> CheckedContinuation<Void, Never>? {
        let result = accumulator.append(
            to: target, timestamp: timestamp, key: key, value: value, headers: headers, completion: completion,
            now: now, reserved: true
        )
        if result.batchIsFull || result.closedPreviousBatch {
            let count = partitionCounts[target.topic]?.count ?? 1
            partitioner.batchClosed(topic: target.topic, partition: target.partition, partitionCount: count)
            return wake()
        }
        return result.newBatch || wakeForEveryRecord ? wake() : nil
    }

    /// The sender's continuation if it waits (to resume outside the lock); else remembers the wakeup.
    mutating func wake() -> CheckedContinuation<Void, Never>? {
        if let waiter = senderWakeup {
            senderWakeup = nil
            return waiter
        }
        wakeupPending = true
        return nil
    }
}
