import KafkaRecords
import NIOCore

/// The fields of a record batch header that the log needs, read from the file without reading the records.
struct BatchHeader: Sendable {
    /// Bytes of the header that `BatchHeaderScanner` reads: through `baseSequence` (every v2 batch has them).
    static let prefixSize = 57

    var position: Int64
    var baseOffset: Int64
    /// Total size of the batch in the file: 12 bytes of offset and length, then `batchLength` bytes.
    var size: Int
    var partitionLeaderEpoch: Int32
    var magic: Int8
    var lastOffsetDelta: Int32
    var maxTimestamp: Int64
    var attributes: Int16
    /// The idempotent producer, or -1 (the log cleaner keeps each producer's last batch).
    var producerID: Int64

    var isControl: Bool { attributes & 0x20 != 0 }
    var isTransactional: Bool { attributes & 0x10 != 0 }

    var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    var nextOffset: Int64 { lastOffset + 1 }
    var endPosition: Int64 { position + Int64(size) }

    init?(parsing buffer: ByteBuffer, at index: Int, position: Int64) {
        guard let baseOffset = buffer.getInteger(at: index, as: Int64.self),
            let batchLength = buffer.getInteger(at: index + 8, as: Int32.self),
            let epoch = buffer.getInteger(at: index + 12, as: Int32.self),
            let magic = buffer.getInteger(at: index + 16, as: Int8.self),
            let attributes = buffer.getInteger(at: index + 21, as: Int16.self),
            let lastOffsetDelta = buffer.getInteger(at: index + 23, as: Int32.self),
            let maxTimestamp = buffer.getInteger(at: index + 35, as: Int64.self),
            let producerID = buffer.getInteger(at: index + 43, as: Int64.self)
        else { return nil }
        self.position = position
        self.baseOffset = baseOffset
        self.size = RecordBatch.logOverhead + Int(batchLength)
        self.partitionLeaderEpoch = epoch
        self.magic = magic
        self.lastOffsetDelta = lastOffsetDelta
        self.maxTimestamp = maxTimestamp
        self.attributes = attributes
        self.producerID = producerID
    }

    /// Whether the header is plausible: a v2 batch at least a header long that ends within `fileSize`.
    func isPlausible(fileSize: Int64) -> Bool {
        magic == RecordBatch.currentMagic && size >= RecordBatch.headerSize && endPosition <= fileSize
            && lastOffsetDelta >= 0
    }
}

/// Walks the batch headers of a `.log` file from a position, reading the file in chunks rather than one small
/// read per batch.
struct BatchHeaderScanner {
    static let chunkSize = 32 * 1024

    let file: SegmentFile
    let fileSize: Int64
    private(set) var position: Int64
    private var chunk = ByteBuffer()
    private var chunkPosition: Int64 = 0

    init(file: SegmentFile, fileSize: Int64, from position: Int64) {
        self.file = file
        self.fileSize = fileSize
        self.position = position
    }

    /// The next plausible header, or nil at the end of the file or at the first implausible one (a torn tail).
    mutating func next() throws(LogError) -> BatchHeader? {
        guard position + Int64(BatchHeader.prefixSize) <= fileSize else { return nil }
        let offsetInChunk = Int(position - chunkPosition)
        if position < chunkPosition || offsetInChunk + BatchHeader.prefixSize > chunk.readableBytes {
            chunk = try file.read(at: position, length: Self.chunkSize)
            chunkPosition = position
        }
        guard let header = BatchHeader(parsing: chunk, at: chunk.readerIndex + Int(position - chunkPosition), position: position),
            header.isPlausible(fileSize: fileSize)
        else { return nil }
        position = header.endPosition
        return header
    }
}
