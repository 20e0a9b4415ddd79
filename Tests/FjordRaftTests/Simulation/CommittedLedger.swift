/// The committed log as the whole simulation has seen it: `endOffset` is the largest high watermark any node ever
/// reported, and the entry at each offset below it is the first one a node showed as committed there (from its log
/// below its own high watermark, its state machine or a snapshot). Any later sighting that differs is a violation:
/// an entry once committed is never changed.
struct CommittedLedger {
    private var entries: [LogEntry?] = []
    /// The largest high watermark seen.
    private(set) var endOffset: Int64 = 0
    /// Entries seen committed for the first time since the last `takeNewEntries()` (the liveness monitor watches
    /// which proposals commit).
    private var newEntries: [(offset: Int64, entry: LogEntry)] = []

    func entry(at offset: Int64) -> LogEntry? {
        guard offset >= 0, offset < Int64(entries.count) else { return nil }
        return entries[Int(offset)]
    }

    mutating func raiseEnd(to highWatermark: Int64) {
        endOffset = max(endOffset, highWatermark)
    }

    /// Records that `source` shows `entry` as committed at `offset`.
    mutating func record(_ entry: LogEntry, at offset: Int64, source: @autoclosure () -> String)
        throws(InvariantViolation)
    {
        precondition(offset >= 0)
        if offset >= Int64(entries.count) {
            entries.append(contentsOf: repeatElement(nil, count: Int(offset) - entries.count + 1))
        }
        if let known = entries[Int(offset)] {
            guard known == entry else {
                throw InvariantViolation(
                    "committedPrefix",
                    "\(source()) holds \(entry) at committed offset \(offset), but \(known) was committed there")
            }
            return
        }
        entries[Int(offset)] = entry
        newEntries.append((offset, entry))
    }

    mutating func takeNewEntries() -> [(offset: Int64, entry: LogEntry)] {
        defer { newEntries = [] }
        return newEntries
    }
}
