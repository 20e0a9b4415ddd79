import KafkaProtocol
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
    var partitionLeaderEpoch: LeaderEpoch
    var magic: Int8
    var lastOffsetDelta: Int32
    var maxTimestamp: Int64
    var attributes: Int16
    /// The idempotent producer, or -1 (the log cleaner keeps each producer's last batch).
    var producerID: ProducerID

    var isControl: Bool { attributes & 0x20 != 0 }
    var isTransactional: Bool { attributes & 0x10 != 0 }

    var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    var nextOffset: Int64 { lastOffset + 1 }
    var endPosition: Int64 { position + Int64(size) }

    /// Reads the header of the batch at `index` of `buffer` (`RecordBatchHeader`, the one reader of the layout),
    /// which sits at `position` in its file. Needs the first `prefixSize` bytes of the header.
    init?(parsing buffer: ByteBuffer, at index: Int, position: Int64) {
        // The log reads through `baseSequence` only; the record count (the last 4 header bytes) may lie beyond a
        // chunk's end, so it is read as zero-padded when absent.
        guard index + Self.prefixSize <= buffer.writerIndex else { return nil }
        let header: RecordBatchHeader
        if let whole = RecordBatchHeader(parsing: buffer, at: index) {
            header = whole
        } else {
            var padded = buffer.getSlice(at: index, length: Self.prefixSize)!
            padded.writeInteger(Int32(0))
            header = RecordBatchHeader(parsing: padded, at: padded.readerIndex)!
        }
        self.position = position
        self.baseOffset = header.baseOffset
        self.size = header.sizeInBytes
        self.partitionLeaderEpoch = header.partitionLeaderEpoch
        self.magic = header.magic
        self.lastOffsetDelta = header.lastOffsetDelta
        self.maxTimestamp = header.maxTimestamp
        self.attributes = header.attributes
        self.producerID = header.producerID
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
        guard
            let header = BatchHeader(
                parsing: chunk, at: chunk.readerIndex + Int(position - chunkPosition), position: position),
            header.isPlausible(fileSize: fileSize)
        else { return nil }
        position = header.endPosition
        return header
    }
}
