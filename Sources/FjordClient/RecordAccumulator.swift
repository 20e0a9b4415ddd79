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

    private var queues: [TopicPartition: [ProducerBatch]] = [:]
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

    /// Appends a record to the last open batch of `partition`, or to a new batch when it would not fit.
    mutating func append(
        to partition: TopicPartition, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?,
        headers: [RecordHeader], completion: ProducerBatch.Completion, now: ContinuousClock.Instant
    ) -> AppendResult {
        let size = ProducerBatch.estimatedSize(key: key, value: value, headers: headers)
        var queue = queues[partition] ?? []
        var closedPrevious = false
        if let last = queue.indices.last, !queue[last].isClosed, queue[last].encoded == nil {
            if queue[last].estimatedBytes + size > batchSize, queue[last].recordCount > 0 {
                queue[last].isClosed = true
                closedPrevious = true
            }
        }
        var newBatch = false
        if queue.last.map({ $0.isClosed || $0.encoded != nil }) ?? true {
            queue.append(ProducerBatch(partition: partition, compression: compression, createdAt: now))
            newBatch = true
        }
        let index = queue.count - 1
        queue[index].builder.append(timestamp: timestamp, key: key, value: value, headers: headers)
        queue[index].completions.append(completion)
        queue[index].timestamps.append(timestamp)
        queue[index].estimatedBytes += size
        let full = queue[index].estimatedBytes >= batchSize
        if full { queue[index].isClosed = true }
        queues[partition] = queue
        bufferedBytes += size
        return AppendResult(closedPreviousBatch: closedPrevious, batchIsFull: full, newBatch: newBatch)
    }

    /// Takes the first batch of every partition that is ready: closed (full), followed by another batch, lingered
    /// long enough, or `flushing`; not backing off before a retry; and not `blocked`.
    mutating func drain(
        now: ContinuousClock.Instant, flushing: Bool, blocked: (TopicPartition, ProducerBatch) -> Bool
    ) -> [ProducerBatch] {
        var ready: [ProducerBatch] = []
        for (partition, queue) in queues {
            guard let first = queue.first else { continue }
            if let retryAt = first.retryAt, retryAt > now { continue }
            let lingered = first.createdAt + linger <= now
            guard first.isClosed || queue.count > 1 || lingered || flushing || first.attempts > 0 else { continue }
            guard !blocked(partition, first) else { continue }
            var batch = queues[partition]!.removeFirst()
            batch.isClosed = true
            ready.append(batch)
        }
        return ready
    }

    /// The earliest instant at which a waiting batch becomes ready by linger or retry backoff.
    func nextReadyTime() -> ContinuousClock.Instant? {
        var earliest: ContinuousClock.Instant?
        for queue in queues.values {
            guard let first = queue.first else { continue }
            let at = first.retryAt ?? (first.createdAt + linger)
            if earliest == nil || at < earliest! { earliest = at }
        }
        return earliest
    }

    /// Puts a batch back for a retry, ahead of batches with later sequence numbers (or simply first).
    mutating func reenqueue(_ batch: ProducerBatch) {
        var queue = queues[batch.partition] ?? []
        let index = queue.firstIndex { other in
            other.encoded == nil || other.baseSequence < 0 || other.baseSequence > batch.baseSequence
        } ?? queue.endIndex
        queue.insert(batch, at: batch.baseSequence < 0 ? 0 : index)
        queues[batch.partition] = queue
    }

    /// Returns the bytes of a finished batch to the buffer.
    mutating func release(_ batch: ProducerBatch) {
        bufferedBytes -= batch.estimatedBytes
        precondition(bufferedBytes >= 0, "released more bytes than were appended")
    }

    /// Removes every queued batch (for failing them at close).
    mutating func removeAll() -> [ProducerBatch] {
        let all = queues.values.flatMap { $0 }
        queues.removeAll()
        return all
    }
}
