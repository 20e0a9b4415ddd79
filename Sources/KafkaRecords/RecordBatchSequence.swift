import NIOCore

/// The v2 record batches laid end to end in a `records` field (of a Produce request, a Fetch response or a segment).
///
/// Each batch is yielded as a `RecordBatch` slice sharing storage with the input; nothing is copied or decoded.
/// Iteration throws, so this is not a Swift `Sequence`: call `next()` on an iterator or `batches()`.
///
/// - `.fetch` mode follows Kafka's fetch semantics: a trailing partial batch (the response was cut at the fetch size
///   limit) ends iteration quietly; `trailingPartialBytes` on the iterator reports how many bytes were left.
/// - `.produce` mode is what a broker needs for a Produce request: every batch must be complete and pass
///   `validate()`, a trailing partial batch is an error, and so is a blob with no batch at all. (Kafka additionally
///   requires exactly one batch per partition in a v3+ Produce request; that rule belongs to the broker.)
///
/// In both modes a header whose `batchLength` is below the minimum, or a magic other than 2, throws.
public struct RecordBatchSequence: Sendable {
    /// How to treat a trailing partial batch and whether to validate each batch.
    public enum Mode: Sendable, Hashable {
        /// Stop at a trailing partial batch; do not check CRCs (the consumer decides).
        case fetch
        /// Reject a trailing partial batch and validate every batch (magic, length, CRC, record count).
        case produce
    }

    /// The bytes holding the batches.
    public let buffer: ByteBuffer
    /// How to iterate.
    public let mode: Mode
    /// Decompression limit used by `.produce` validation.
    public let maxDecompressedBytes: Int

    /// Iterates the batches in the readable bytes of `buffer`.
    public init(
        _ buffer: ByteBuffer,
        mode: Mode,
        maxDecompressedBytes: Int = CompressionCodec.defaultMaxDecompressedBytes
    ) {
        self.buffer = buffer
        self.mode = mode
        self.maxDecompressedBytes = maxDecompressedBytes
    }

    /// Walks the batches one at a time.
    public struct Iterator: Sendable {
        private var remaining: ByteBuffer
        private let mode: Mode
        private let maxDecompressedBytes: Int
        private var yielded = 0

        /// Bytes left unread because they form an incomplete batch (only in `.fetch` mode; 0 otherwise).
        public private(set) var trailingPartialBytes = 0

        init(_ sequence: RecordBatchSequence) {
            self.remaining = sequence.buffer
            self.mode = sequence.mode
            self.maxDecompressedBytes = sequence.maxDecompressedBytes
        }

        /// The next batch, or `nil` at the end (or at a trailing partial batch in `.fetch` mode).
        public mutating func next() throws(RecordBatchError) -> RecordBatch? {
            guard remaining.readableBytes > 0 else {
                if mode == .produce && yielded == 0 {
                    throw RecordBatchError(.invalidRecordCount, "produced records hold no record batch")
                }
                return nil
            }
            guard
                let length = remaining.getInteger(
                    at: remaining.readerIndex + RecordBatch.Offset.batchLength, as: Int32.self)
            else {
                return try partial("\(remaining.readableBytes) bytes are too few for a batch length")
            }
            let minimum = RecordBatch.headerSize - RecordBatch.logOverhead
            guard length >= minimum else {
                throw RecordBatchError(.invalidLength, "batchLength \(length) is below the minimum of \(minimum)")
            }
            if let magic = remaining.getInteger(at: remaining.readerIndex + RecordBatch.Offset.magic, as: Int8.self),
                magic != RecordBatch.currentMagic
            {
                throw RecordBatchError(.unsupportedMagic, "record batch magic is \(magic), only 2 is supported")
            }
            let total = Int(length) + RecordBatch.logOverhead
            guard let slice = remaining.readSlice(length: total) else {
                return try partial("batch of \(total) bytes but only \(remaining.readableBytes) remain")
            }
            let batch = try RecordBatch(buffer: slice)
            if mode == .produce {
                try batch.validate(maxDecompressedBytes: maxDecompressedBytes)
            }
            yielded += 1
            return batch
        }

        private mutating func partial(_ message: String) throws(RecordBatchError) -> RecordBatch? {
            guard mode == .fetch else {
                throw RecordBatchError(.truncated, "trailing partial record batch: \(message)")
            }
            trailingPartialBytes = remaining.readableBytes
            remaining.moveReaderIndex(forwardBy: remaining.readableBytes)
            return nil
        }
    }

    /// An iterator starting at the first batch.
    public func makeIterator() -> Iterator {
        Iterator(self)
    }

    /// All batches, in order (stopping at a trailing partial batch in `.fetch` mode).
    public func batches() throws(RecordBatchError) -> [RecordBatch] {
        var iterator = makeIterator()
        var result: [RecordBatch] = []
        while let batch = try iterator.next() {
            result.append(batch)
        }
        return result
    }
}
