import NIOCore

/// The sparse time index of one segment (`<base offset>.timeindex`), Kafka's format.
///
/// Layout: consecutive 12-byte entries, big-endian: 8-byte timestamp, then the 4-byte offset relative to the
/// segment's base offset of the last record of the batch holding the largest timestamp so far. An entry is added
/// at the same moments as offset-index entries, and when the segment rolls or closes, only when the largest
/// timestamp has grown, so timestamps strictly increase along the file and the last entry of a sealed segment is
/// its largest timestamp (which retention uses without reading the log). Preallocated while active and trimmed on
/// roll or close, like `OffsetIndex`; rebuilt from the log when it is not trusted. A value held in its segment's
/// state (`LogSegmentState`), behind the segment's lock.
struct TimeIndex: Sendable {
    static let entrySize = 12

    typealias Entry = (timestamp: Int64, relativeOffset: UInt32)

    let file: SegmentFile
    let baseOffset: Int64
    let maximumEntries: Int
    private(set) var entries: [Entry] = []

    var isFull: Bool { entries.count >= maximumEntries }
    var lastTimestamp: Int64 { entries.last?.timestamp ?? -1 }

    init(file: SegmentFile, baseOffset: Int64, maximumBytes: Int) {
        self.file = file
        self.baseOffset = baseOffset
        maximumEntries = max(1, maximumBytes / Self.entrySize)
    }

    /// Reads the entries of the file; false when anything but increasing entries followed by zeros is there.
    mutating func load() throws(LogError) -> Bool {
        let bytes = try file.read(at: 0, length: Int(try file.size()))
        let (parsed, clean) = Self.parse(bytes)
        entries = parsed
        return clean
    }

    /// Parses time-index bytes: the increasing entries, and whether only zeros follow them. An all-zero entry is
    /// the preallocated tail.
    static func parse(_ bytes: ByteBuffer) -> (entries: [Entry], clean: Bool) {
        var bytes = bytes
        var entries = [Entry]()
        while bytes.readableBytes >= entrySize {
            let timestamp = bytes.getInteger(at: bytes.readerIndex, as: Int64.self)!
            let relative = bytes.getInteger(at: bytes.readerIndex + 8, as: UInt32.self)!
            if timestamp == 0, relative == 0 { break }
            if let last = entries.last, timestamp <= last.timestamp || relative < last.relativeOffset { break }
            entries.append((timestamp, relative))
            bytes.moveReaderIndex(forwardBy: entrySize)
        }
        let clean = bytes.isAllZeros
        return (entries, clean)
    }

    /// Adds an entry if `timestamp` is larger than every timestamp indexed so far.
    mutating func maybeAppend(timestamp: Int64, offset: Int64) throws(LogError) {
        guard timestamp > lastTimestamp, timestamp >= 0 else { return }
        let relative = UInt32(offset - baseOffset)
        if let last = entries.last, relative < last.relativeOffset { return }
        var buffer = ByteBuffer()
        buffer.writeInteger(timestamp)
        buffer.writeInteger(relative)
        try file.write(buffer, at: Int64(entries.count * Self.entrySize))
        entries.append((timestamp, relative))
    }

    /// The offset where a search for the first record with timestamp ≥ `timestamp` starts: the offset of the last
    /// entry whose timestamp is < `timestamp` (every record up to it is older), or the segment base.
    func lookup(_ timestamp: Int64) -> Int64 {
        var low = 0
        var high = entries.count - 1
        var result = baseOffset
        while low <= high {
            let middle = (low + high) / 2
            if entries[middle].timestamp < timestamp {
                result = baseOffset + Int64(entries[middle].relativeOffset)
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        return result
    }

    mutating func truncate(toOffset offset: Int64) throws(LogError) {
        entries.removeAll { baseOffset + Int64($0.relativeOffset) >= offset }
        try file.truncate(to: Int64(entries.count * Self.entrySize))
    }

    mutating func reset() throws(LogError) {
        entries.removeAll()
        try file.truncate(to: 0)
    }

    mutating func writeAll() throws(LogError) {
        var buffer = ByteBuffer()
        for entry in entries {
            buffer.writeInteger(entry.timestamp)
            buffer.writeInteger(entry.relativeOffset)
        }
        try file.truncate(to: 0)
        try file.write(buffer, at: 0)
    }

    func preallocate() throws(LogError) {
        try file.truncate(to: Int64(maximumEntries * Self.entrySize))
    }

    func trim() throws(LogError) {
        try file.truncate(to: Int64(entries.count * Self.entrySize))
    }
}
