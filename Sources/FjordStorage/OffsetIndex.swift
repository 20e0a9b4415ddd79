import NIOCore

/// The sparse offset index of one segment (`<base offset>.index`), Kafka's format.
///
/// Layout: consecutive 8-byte entries, big-endian: 4-byte offset relative to the segment's base offset, then the
/// 4-byte byte position of a batch in the `.log` file; the offset is that batch's last offset. One entry is added
/// when more than `index.interval.bytes` of log were written since the previous one; entries strictly increase in
/// both fields, and none points at position 0 (the first batch of a segment is never indexed). While the segment
/// is active the file is preallocated to `segment.index.bytes` (a zero-filled tail); it is trimmed to its entries
/// when the segment rolls or the log closes. After an unclean shutdown the index of every segment past the
/// recovery point is rebuilt from the log; an index that does not agree with its log is rebuilt, never trusted.
///
/// The entries are held in memory once the segment is loaded (sealed segments load on first use). A value held in
/// its segment's state (`LogSegmentState`), behind the segment's lock.
struct OffsetIndex: Sendable {
    static let entrySize = 8

    typealias Entry = (relativeOffset: UInt32, position: UInt32)

    let file: SegmentFile
    let baseOffset: Int64
    let maximumEntries: Int
    private(set) var entries: [Entry] = []

    var isFull: Bool { entries.count >= maximumEntries }
    var lastOffset: Int64 { entries.last.map { baseOffset + Int64($0.relativeOffset) } ?? baseOffset }
    var lastPosition: Int64 { Int64(entries.last?.position ?? 0) }

    init(file: SegmentFile, baseOffset: Int64, maximumBytes: Int) {
        self.file = file
        self.baseOffset = baseOffset
        maximumEntries = max(1, maximumBytes / Self.entrySize)
    }

    /// Reads the entries of the file. Returns false when the file holds anything but increasing entries followed
    /// by zeros (the caller then rebuilds the index from the log).
    mutating func load() throws(LogError) -> Bool {
        let bytes = try file.read(at: 0, length: Int(try file.size()))
        let (parsed, clean) = Self.parse(bytes)
        entries = parsed
        return clean
    }

    /// Parses index bytes: the increasing entries, and whether only zeros follow them.
    static func parse(_ bytes: ByteBuffer) -> (entries: [Entry], clean: Bool) {
        var bytes = bytes
        var entries = [Entry]()
        entries.reserveCapacity(bytes.readableBytes / entrySize)
        while bytes.readableBytes >= entrySize {
            let relative = bytes.getInteger(at: bytes.readerIndex, as: UInt32.self)!
            let position = bytes.getInteger(at: bytes.readerIndex + 4, as: UInt32.self)!
            if position == 0 { break }
            if let last = entries.last, relative <= last.relativeOffset || position <= last.position { break }
            entries.append((relative, position))
            bytes.moveReaderIndex(forwardBy: entrySize)
        }
        let clean = bytes.isAllZeros
        return (entries, clean)
    }

    mutating func append(offset: Int64, position: Int64) throws(LogError) {
        let relative = UInt32(offset - baseOffset)
        if let last = entries.last, relative <= last.relativeOffset || UInt32(position) <= last.position { return }
        var buffer = ByteBuffer()
        buffer.writeInteger(relative)
        buffer.writeInteger(UInt32(position))
        try file.write(buffer, at: Int64(entries.count * Self.entrySize))
        entries.append((relative, UInt32(position)))
    }

    /// The entry with the largest offset ≤ `offset`: where a scan for `offset` starts.
    func lookup(_ offset: Int64) -> (offset: Int64, position: Int64) {
        guard offset > baseOffset else { return (baseOffset, 0) }
        let relative = UInt32(clamping: offset - baseOffset)
        var low = 0
        var high = entries.count - 1
        var found: Entry?
        while low <= high {
            let middle = (low + high) / 2
            if entries[middle].relativeOffset <= relative {
                found = entries[middle]
                low = middle + 1
            } else {
                high = middle - 1
            }
        }
        guard let found else { return (baseOffset, 0) }
        return (baseOffset + Int64(found.relativeOffset), Int64(found.position))
    }

    /// Drops entries pointing at or after `position` (the log is cut there).
    mutating func truncate(toPosition position: Int64) throws(LogError) {
        entries.removeAll { Int64($0.position) >= position }
        try file.truncate(to: Int64(entries.count * Self.entrySize))
    }

    mutating func reset() throws(LogError) {
        entries.removeAll()
        try file.truncate(to: 0)
    }

    /// Rewrites the file from the in-memory entries (after a rebuild of a sealed segment).
    mutating func writeAll() throws(LogError) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(entries.count * Self.entrySize)
        for entry in entries {
            buffer.writeInteger(entry.relativeOffset)
            buffer.writeInteger(entry.position)
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
