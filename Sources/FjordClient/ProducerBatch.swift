import KafkaRecords
import NIOCore

/// The records of one partition that travel in one record batch, with the callers waiting for each.
struct ProducerBatch: Sendable {
    /// Who is waiting for a record's outcome: `nil` for fire-and-forget sends.
    typealias Completion = CheckedContinuation<RecordMetadata, any Error>?

    let partition: TopicPartition
    var builder: RecordBatchBuilder
    var completions: [Completion] = []
    var timestamps: [Int64] = []
    /// Bytes of records before compression (estimated the way they are encoded).
    var estimatedBytes: Int = 0
    /// Whether no more records go into this batch.
    var isClosed = false
    let createdAt: ContinuousClock.Instant
    /// Sends so far.
    var attempts = 0
    /// Not resent before this instant.
    var retryAt: ContinuousClock.Instant?
    /// The encoded batch: built once, when the batch is first drained, so a retry resends identical bytes.
    var encoded: ByteBuffer?

    /// A new, empty batch.
    init(partition: TopicPartition, compression: CompressionCodec, createdAt: ContinuousClock.Instant) {
        self.partition = partition
        var options = RecordBatchBuilder.Options()
        options.compression = compression
        self.builder = RecordBatchBuilder(options: options)
        self.createdAt = createdAt
    }

    /// Appends one record of `size` estimated bytes; returns whether the batch is now full (and closed).
    mutating func append(
        timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader],
        completion: Completion, size: Int, batchSize: Int
    ) -> Bool {
        builder.append(timestamp: timestamp, key: key, value: value, headers: headers)
        completions.append(completion)
        timestamps.append(timestamp)
        estimatedBytes += size
        if estimatedBytes >= batchSize { isClosed = true }
        return isClosed
    }

    var recordCount: Int { timestamps.count }

    /// The first sequence number, or -1 before the batch is sequenced.
    var baseSequence: Int32 { builder.options.baseSequence }

    /// The encoded size of one record, as `RecordBatchBuilder` writes it (at most a few bytes over for varints).
    static func estimatedSize(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) -> Int {
        var size = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
        for header in headers { size += 10 + header.key.utf8.count + (header.value?.readableBytes ?? 0) }
        return size
    }

    /// Encodes the batch with idempotence fields; called once.
    mutating func encode(producerID: Int64, producerEpoch: Int16, baseSequence: Int32, transactional: Bool = false)
        throws
    {
        builder.options.producerID = producerID
        builder.options.producerEpoch = producerEpoch
        builder.options.baseSequence = baseSequence
        builder.options.isTransactional = transactional
        do {
            encoded = try builder.finish()  // uncompressed: in place, no copy of the records
        } catch {
            throw ClientError(
                .records, "cannot encode batch for \(partition)", isRetriable: false, topic: partition.topic,
                partition: partition.partition, cause: error
            )
        }
    }

    /// Resumes every waiting caller with its record's metadata.
    func succeed(baseOffset: Int64, logAppendTime: Int64) {
        for (index, completion) in completions.enumerated() {
            let offset = baseOffset < 0 ? -1 : baseOffset + Int64(index)
            let timestamp = logAppendTime >= 0 ? logAppendTime : timestamps[index]
            completion?.resume(
                returning: RecordMetadata(topicPartition: partition, offset: offset, timestamp: timestamp))
        }
    }

    /// Resumes every waiting caller with `error`.
    func fail(_ error: any Error) {
        for completion in completions { completion?.resume(throwing: error) }
    }
}
