import KafkaRecords
import NIOCore

/// The producer's per-partition queues of batches (DESIGN.md §1: accumulate until `batch.size` or `linger.ms`).
///
/// A pure value: the producer gives it the time and decides when to send. It accounts the bytes of every record
/// from `append` until the producer `release`s them after the broker answered, so `buffer.memory` bounds records
/// queued and in flight together.
struct RecordAccumulator: Sendable {
    /// What an append did.
    struct AppendResult: Equatable {
        /// The record closed the previous batch of its partition and started a new one.
        var closedPreviousBatch: Bool
        /// The partition's last batch is now full (ready to send without waiting for linger).
        var batchIsFull: Bool
        /// The record started a new batch (whose linger deadline the sender must learn).
        var newBatch: Bool = false
    }

    let batchSize: Int
    let linger: Duration
    let bufferMemory: Int
    let compression: CompressionCodec

    /// The batches of one partition: `waiting` (closed or retried, oldest first) and then `open`, the batch
    /// records are appended to. Both are changed in place only: a copy of a batch would copy its buffer.
    private struct PartitionQueue {
        var waiting = CircularBuffer<ProducerBatch>()
        var open: ProducerBatch?

        var isEmpty: Bool { waiting.isEmpty && open == nil }
        var count: Int { waiting.count + (open == nil ? 0 : 1) }
        mutating func removeFirst() -> ProducerBatch {
            if !waiting.isEmpty { return waiting.removeFirst() }
            defer { open = nil }
            return open!
        }
    }

    private var queues: [TopicPartition: PartitionQueue] = [:]
    /// Bytes of records appended and not yet released.
    private(set) var bufferedBytes = 0

    init(batchSize: Int, linger: Duration, bufferMemory: Int, compression: CompressionCodec) {
        self.batchSize = max(1, batchSize)
        self.linger = linger
        self.bufferMemory = bufferMemory
        self.compression = compression
    }

    /// Whether `bytes` more fit in `buffer.memory`. A record larger than the whole buffer is let in when the
    /// buffer is empty, so it is not blocked forever.
    func hasRoom(for bytes: Int) -> Bool {
        bufferedBytes == 0 || bufferedBytes + bytes <= bufferMemory
    }

    /// Whether no batch waits to be sent.
    var isEmpty: Bool { queues.values.allSatisfy(\.isEmpty) }

    /// Number of batches waiting to be sent.
    var queuedBatchCount: Int { queues.values.reduce(0) { $0 + $1.count } }

    /// Counts `bytes` of a record about to be appended with `reserved: true`.
    mutating func reserve(_ bytes: Int) {
        bufferedBytes += bytes
    }

    /// Appends a record to the open batch of `partition`, or to a new batch when it would not fit. `reserved`:
    /// its bytes were already counted by `reserve`.
    mutating func append(
        to partition: TopicPartition, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?,
        headers: [RecordHeader], completion: ProducerBatch.Completion, now: ContinuousClock.Instant,
        reserved: Bool = false
    ) -> AppendResult {
        let size = ProducerBatch.estimatedSize(key: key, value: value, headers: headers)
        if !reserved { bufferedBytes += size }
        // In place (`default:` subscript): copying the queue out and back would copy the open batch's buffer once
        // per record.
        return Self.append(
            to: &queues[partition, default: PartitionQueue()], partition: partition, size: size,
            batchSize: batchSize, compression: compression, timestamp: timestamp, key: key, value: value,
            headers: headers, completion: completion, now: now
        )
    }

    private static func append(
        to queue: inout PartitionQueue, partition: TopicPartition, size: Int, batchSize: Int,
        compression: CompressionCodec, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?,
        headers: [RecordHeader], completion: ProducerBatch.Completion, now: ContinuousClock.Instant
    ) -> AppendResult {
        // The open batch is moved out and back (never copied): a copy would retain every field per record, and a
        // write to a shared copy would copy the batch's buffer.
        var closedPrevious = false
        var batch: ProducerBatch
        if var current = queue.open.take() {
            if current.estimatedBytes + size > batchSize, current.recordCount > 0 {
                current.isClosed = true
                queue.waiting.append(current)
                closedPrevious = true
                batch = ProducerBatch(partition: partition, compression: compression, createdAt: now)
            } else {
                batch = current
            }
        } else {
            batch = ProducerBatch(partition: partition, compression: compression, createdAt: now)
        }
        let newBatch = batch.recordCount == 0
        let full = batch.append(
            timestamp: timestamp, key: key, value: value, headers: headers, completion: completion, size: size,
            batchSize: batchSize
        )
        if full {
            queue.waiting.append(batch)
        } else {
            queue.open = batch
        }
        return AppendResult(closedPreviousBatch: closedPrevious, batchIsFull: full, newBatch: newBatch)
    }

    /// Takes the first batch of every partition that is ready: closed (full), followed by another batch, lingered
    /// long enough, or `flushing`; not backing off before a retry; and not `blocked`.
    mutating func drain(
        now: ContinuousClock.Instant, flushing: Bool, blocked: (TopicPartition, ProducerBatch) -> Bool
    ) -> [ProducerBatch] {
        var ready: [ProducerBatch] = []
        // Walks the values by index so that each queue is changed in place.
        var index = queues.values.startIndex
        while index != queues.values.endIndex {
            defer { queues.values.formIndex(after: &index) }
            guard let first = readyFirst(queues.values[index], now: now, flushing: flushing),
                !blocked(first.partition, first)
            else { continue }
            var batch = queues.values[index].removeFirst()
            batch.isClosed = true
            ready.append(batch)
        }
        return ready
    }

    /// The first batch of `queue` if it may be sent now.
    private func readyFirst(_ queue: PartitionQueue, now: ContinuousClock.Instant, flushing: Bool) -> ProducerBatch? {
        guard let first = queue.waiting.first ?? queue.open else { return nil }
        if let retryAt = first.retryAt, retryAt > now { return nil }
        let lingered = first.createdAt + linger <= now
        let ready = first.isClosed || queue.count > 1 || lingered || flushing || first.attempts > 0
        return ready ? first : nil
    }

    /// The earliest instant at which a waiting batch becomes ready by linger or retry backoff. Partitions whose
    /// first batch is `blocked` are left out: the answer that unblocks them wakes the sender anyway, and their
    /// deadlines, long past, would otherwise wake it in a busy loop.
    func nextReadyTime(blocked: (TopicPartition, ProducerBatch) -> Bool = { _, _ in false }) -> ContinuousClock.Instant?
    {
        var earliest: ContinuousClock.Instant?
        for queue in queues.values {
            guard let first = queue.waiting.first ?? queue.open, !blocked(first.partition, first) else { continue }
            let at = first.retryAt ?? (first.createdAt + linger)
            if earliest == nil || at < earliest! { earliest = at }
        }
        return earliest
    }

    /// Puts a batch back for a retry, ahead of batches with later sequence numbers (or simply first). The open
    /// batch stays last: it has no sequence yet.
    mutating func reenqueue(_ batch: ProducerBatch) {
        Self.insert(batch, into: &queues[batch.partition, default: PartitionQueue()].waiting)
    }

    private static func insert(_ batch: ProducerBatch, into queue: inout CircularBuffer<ProducerBatch>) {
        let index =
            queue.firstIndex { other in
                other.encoded == nil || other.baseSequence < 0 || other.baseSequence > batch.baseSequence
            } ?? queue.endIndex
        queue.insert(batch, at: batch.baseSequence < 0 ? queue.startIndex : index)
    }

    /// Returns the bytes of a finished batch to the buffer.
    mutating func release(_ batch: ProducerBatch) {
        bufferedBytes -= batch.estimatedBytes
        precondition(bufferedBytes >= 0, "released more bytes than were appended")
    }

    /// Removes every queued batch (for failing them at close).
    mutating func removeAll() -> [ProducerBatch] {
        let all = queues.values.flatMap { Array($0.waiting) + ($0.open.map { [$0] } ?? []) }
        queues.removeAll()
        return all
    }
}
