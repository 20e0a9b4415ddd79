import NIOCore

/// The sparse offset index of one segment (`<base offset>.index`), Kafka's format.
///
/// Layout: consecutive 8-byte entries, big-endian: 4-byte offset relative to the segment's base offset, then the
/// 4-byte byte position of the batch in the `.log` file. One entry is added when at least `index.interval.bytes`
/// of log were written since the previous one; entries are increasing in both fields. While the segment is active
/// the file is preallocated to `segment.index.bytes` (zero-filled tail); it is trimmed to its entries when the
/// segment rolls or the log closes. After an unclean shutdown the index is not trusted: recovery rebuilds it from
/// the log.
final class OffsetIndex {
    static let entrySize = 8

    let file: SegmentFile
    let baseOffset: Int64
    let maximumEntries: Int
    private(set) var entries: [(relativeOffset: UInt32, position: UInt32)] = []

    var isFull: Bool { entries.count >= maximumEntries }
    var lastOffset: Int64 { entries.last.map { baseOffset + Int64($0.relativeOffset) } ?? baseOffset }

    /// Opens the file, reading its entries when `load` is set (a fresh or rebuilt index starts empty).
    init(path: String, baseOffset: Int64, maximumBytes: Int, load: Bool) throws(LogError) {
        file = try SegmentFile(path: path, create: true)
        self.baseOffset = baseOffset
        maximumEntries = max(1, maximumBytes / Self.entrySize)
        if load {
            let size = try file.size()
            var bytes = try file.read(at: 0, length: Int(size) / Self.entrySize * Self.entrySize)
            while let relative = bytes.readInteger(as: UInt32.self), let position = bytes.readInteger(as: UInt32.self) {
                // No entry points at position 0 (the first batch of a segment is never indexed), so a zero entry is
                // the preallocated tail of a file that was not trimmed; so is an entry that does not increase.
                if position == 0 { break }
                if let last = entries.last, relative <= last.relativeOffset || position <= last.position { break }
                entries.append((relative, position))
            }
        }
    }

    func append(offset: Int64, position: Int) throws(LogError) {
        let relative = UInt32(offset - baseOffset)
        if let last = entries.last, relative <= last.relativeOffset { return }
        var buffer = ByteBuffer()
        buffer.writeInteger(relative)
        buffer.writeInteger(UInt32(position))
        try file.write(buffer, at: Int64(entries.count * Self.entrySize))
        entries.append((relative, UInt32(position)))
    }

    /// The entry with the largest offset ≤ `offset`: where a scan for `offset` starts.
    func lookup(_ offset: Int64) -> (offset: Int64, position: Int) {
        guard offset > baseOffset else { return (baseOffset, 0) }
        let relative = UInt32(clamping: offset - baseOffset)
        var low = 0
        var high = entries.count - 1
        var found: (relativeOffset: UInt32, position: UInt32)?
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
        return (baseOffset + Int64(found.relativeOffset), Int(found.position))
    }

    /// Drops entries at or after `offset`.
    func truncate(toOffset offset: Int64) throws(LogError) {
        entries.removeAll { baseOffset + Int64($0.relativeOffset) >= offset }
        try file.truncate(to: Int64(entries.count * Self.entrySize))
    }

    func reset() throws(LogError) {
        entries.removeAll()
        try file.truncate(to: 0)
    }

    func preallocate() throws(LogError) {
        try file.truncate(to: Int64(maximumEntries * Self.entrySize))
    }

    func trim() throws(LogError) {
        try file.truncate(to: Int64(entries.count * Self.entrySize))
    }
}
