import NIOCore

/// The aborted-transaction index of one segment (`<base offset, 20 digits>.txnindex`), Kafka's format.
///
/// Layout: consecutive 34-byte entries, big-endian: `version` int16 (0), `producer_id` int64, `first_offset`
/// int64, `last_offset` int64 (the ABORT marker), `last_stable_offset` int64 (see `AbortedTransaction`). One
/// entry per aborted transaction whose marker lies in this segment, in marker order (Kafka indexes a transaction
/// in the segment holding its marker, so its first offset may lie in an earlier segment). Committed transactions
/// and markers that end no transaction leave no entry. The file exists only once a first entry is written: most
/// segments never hold an abort.
///
/// What is rebuilt after a crash: the index cannot be derived from its own segment alone, so the partition's
/// producer-state rebuild, which replays the log after the newest producer snapshot, re-adds every abort it
/// replays (`add` ignores an entry already present for that producer and marker). Log truncation and recovery
/// drop entries whose marker was cut.
///
/// Reading is bounded by the file's size. A trailing partial entry (a torn write) is ignored, and so is
/// everything from the first entry with an unknown version on; the file is then cut back to its whole entries
/// so the next append lands right after them. The entries are held in memory once loaded (on first use). A value
/// held in its segment's state (`LogSegmentState`), behind the segment's lock.
struct TransactionIndex: Sendable {
    static let entrySize = 34
    static let version: Int16 = 0

    let file: SegmentFile
    private(set) var entries: [AbortedTransaction] = []
    private var isLoaded = false

    init(file: SegmentFile) {
        self.file = file
    }

    /// What `parse` found: the whole, known entries, how many bytes they take, and what was wrong after them.
    struct Parsed {
        var entries: [AbortedTransaction]
        var validBytes: Int
        var problem: String?
    }

    /// Parses index bytes: entries up to a partial entry or one of an unknown version.
    static func parse(_ bytes: ByteBuffer) -> Parsed {
        var bytes = bytes
        var entries = [AbortedTransaction]()
        entries.reserveCapacity(bytes.readableBytes / entrySize)
        while bytes.readableBytes >= entrySize {
            let version = bytes.readInteger(as: Int16.self)!
            guard version == Self.version else {
                return Parsed(
                    entries: entries, validBytes: entries.count * entrySize,
                    problem: "entry \(entries.count) has version \(version); only version \(Self.version) is known"
                )
            }
            entries.append(
                AbortedTransaction(
                    producerID: bytes.readInteger(as: Int64.self)!, firstOffset: bytes.readInteger(as: Int64.self)!,
                    lastOffset: bytes.readInteger(as: Int64.self)!, lastStableOffset: bytes.readInteger(as: Int64.self)!
                ))
        }
        let trailing = bytes.readableBytes
        return Parsed(
            entries: entries, validBytes: entries.count * entrySize,
            problem: trailing > 0 ? "\(trailing) bytes after entry \(entries.count) (a partial entry)" : nil
        )
    }

    static func encode(_ entry: AbortedTransaction, into buffer: inout ByteBuffer) {
        buffer.writeInteger(version)
        buffer.writeInteger(entry.producerID)
        buffer.writeInteger(entry.firstOffset)
        buffer.writeInteger(entry.lastOffset)
        buffer.writeInteger(entry.lastStableOffset)
    }

    /// Reads the file on first use (a missing file is an empty index) and cuts off anything unreadable.
    mutating func loadIfNeeded() throws(LogError) {
        guard !isLoaded else { return }
        defer { isLoaded = true }
        guard SegmentFile.exists(file.path) else { return }
        let size = try file.size()
        let parsed = Self.parse(try file.read(at: 0, length: Int(size)))
        entries = parsed.entries
        if Int64(parsed.validBytes) < size { try file.truncate(to: Int64(parsed.validBytes)) }
    }

    /// Adds an entry, unless one for the same producer and marker offset is there already (recovery replays
    /// aborts that may have been indexed before the crash). Entries stay in marker order.
    mutating func add(_ entry: AbortedTransaction) throws(LogError) {
        try loadIfNeeded()
        if entries.contains(where: { $0.producerID == entry.producerID && $0.lastOffset == entry.lastOffset }) {
            return
        }
        if let last = entries.last, entry.lastOffset < last.lastOffset {
            // Only a repair can add out of order: rewrite the file in order.
            let index = entries.firstIndex { $0.lastOffset > entry.lastOffset }!
            entries.insert(entry, at: index)
            try writeAll()
            return
        }
        var buffer = ByteBuffer()
        Self.encode(entry, into: &buffer)
        try file.write(buffer, at: Int64(entries.count * Self.entrySize))
        entries.append(entry)
    }

    /// Drops entries whose marker is at or after `offset` (the log is cut there).
    mutating func truncate(fromOffset offset: Int64) throws(LogError) {
        try loadIfNeeded()
        guard let keep = entries.firstIndex(where: { $0.lastOffset >= offset }) else { return }
        entries.removeSubrange(keep...)
        try file.truncate(to: Int64(entries.count * Self.entrySize))
    }

    /// Appends to `result` the entries overlapping `[startOffset, upperBound)`. Returns true when an entry shows
    /// that no later one can overlap (its last stable offset reaches `upperBound`), so a search can stop.
    mutating func collect(from startOffset: Int64, upperBound: Int64, into result: inout [AbortedTransaction])
        throws(LogError) -> Bool
    {
        try loadIfNeeded()
        for entry in entries {
            if entry.lastOffset >= startOffset, entry.firstOffset < upperBound { result.append(entry) }
            if entry.lastStableOffset >= upperBound { return true }
        }
        return false
    }

    /// Whether there are entries to fsync (the file may not exist otherwise).
    var hasEntries: Bool { isLoaded && !entries.isEmpty }

    private mutating func writeAll() throws(LogError) {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(entries.count * Self.entrySize)
        for entry in entries { Self.encode(entry, into: &buffer) }
        try file.truncate(to: 0)
        try file.write(buffer, at: 0)
    }
}
