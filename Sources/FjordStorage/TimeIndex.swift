import NIOCore

/// The sparse time index of one segment (`<base offset>.timeindex`), Kafka's format.
///
/// Layout: consecutive 12-byte entries, big-endian: 8-byte timestamp, then the 4-byte offset relative to the
/// segment's base offset of the batch holding the record with that timestamp. An entry is added (at the same
/// moments as offset-index entries, and when the segment rolls) only when the largest timestamp so far has grown,
/// so timestamps strictly increase along the file. Preallocated while active and trimmed on roll or close, like
/// `OffsetIndex`; rebuilt from the log after an unclean shutdown.
final class TimeIndex {
    static let entrySize = 12

    let file: SegmentFile
    let baseOffset: Int64
    let maximumEntries: Int
    private(set) var entries: [(timestamp: Int64, relativeOffset: UInt32)] = []

    var isFull: Bool { entries.count >= maximumEntries }
    var lastTimestamp: Int64 { entries.last?.timestamp ?? -1 }

    init(path: String, baseOffset: Int64, maximumBytes: Int, load: Bool) throws(LogError) {
        file = try SegmentFile(path: path, create: true)
        self.baseOffset = baseOffset
        maximumEntries = max(1, maximumBytes / Self.entrySize)
        if load {
            let size = try file.size()
            var bytes = try file.read(at: 0, length: Int(size) / Self.entrySize * Self.entrySize)
            while let timestamp = bytes.readInteger(as: Int64.self), let relative = bytes.readInteger(as: UInt32.self) {
                if let last = entries.last, timestamp <= last.timestamp || relative < last.relativeOffset { break }
                if timestamp == 0, relative == 0, !entries.isEmpty { break }
                entries.append((timestamp, relative))
            }
        }
    }

    /// Adds an entry if `timestamp` is larger than every timestamp indexed so far.
    func maybeAppend(timestamp: Int64, offset: Int64) throws(LogError) {
        guard timestamp > lastTimestamp else { return }
        let relative = UInt32(offset - baseOffset)
        if let last = entries.last, relative < last.relativeOffset { return }
        var buffer = ByteBuffer()
        buffer.writeInteger(timestamp)
        buffer.writeInteger(relative)
        try file.write(buffer, at: Int64(entries.count * Self.entrySize))
        entries.append((timestamp, relative))
    }

    /// The offset where a search for the first record with timestamp ≥ `timestamp` starts: the entry before the
    /// first entry whose timestamp is ≥ `timestamp` (or the segment base).
    func lookup(_ timestamp: Int64) -> Int64 {
        var result = baseOffset
        for entry in entries {
            if entry.timestamp >= timestamp { break }
            result = baseOffset + Int64(entry.relativeOffset)
        }
        return result
    }

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
