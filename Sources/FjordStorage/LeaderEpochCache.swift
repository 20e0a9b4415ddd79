/// Which leader epoch started at which offset: the partition's `leader-epoch-checkpoint` (Kafka's format, see
/// `CheckpointFile`). A follower asks "where did epoch N end?" (OffsetForLeaderEpoch) to learn how much of its
/// log a new leader never had.
struct LeaderEpochCache {
    private(set) var entries: [(epoch: Int32, startOffset: Int64)] = []
    let path: String

    init(path: String) throws(LogError) {
        self.path = path
        if let text = try CheckpointFile.read(path), let lines = CheckpointFile.entries(text, fields: 2) {
            for line in lines {
                if let epoch = Int32(line[0]), let start = Int64(line[1]) { entries.append((epoch, start)) }
            }
        }
    }

    var latestEpoch: Int32? { entries.last?.epoch }

    /// Records that `epoch` begins at `startOffset`, if it is newer than the latest known epoch.
    mutating func assign(epoch: Int32, startOffset: Int64) throws(LogError) {
        guard epoch >= 0, epoch > (latestEpoch ?? -1) else { return }
        entries.append((epoch, startOffset))
        try persist()
    }

    /// The largest epoch ≤ `epoch` and the offset where it ended (the next epoch's start, or `logEndOffset`).
    /// (-1, -1) if the log knows no epoch that old (Kafka's UNDEFINED_EPOCH / UNDEFINED_EPOCH_OFFSET).
    func endOffset(forEpoch epoch: Int32, logEndOffset: Int64) -> (epoch: Int32, endOffset: Int64) {
        guard let index = entries.lastIndex(where: { $0.epoch <= epoch }) else { return (-1, -1) }
        let end = index + 1 < entries.count ? entries[index + 1].startOffset : logEndOffset
        return (entries[index].epoch, end)
    }

    /// The epoch of the batch that holds `offset`.
    func epoch(atOffset offset: Int64) -> Int32 {
        entries.last { $0.startOffset <= offset }?.epoch ?? -1
    }

    /// Forgets epochs that start at or after `offset` (the log was truncated there).
    mutating func truncate(fromEnd offset: Int64) throws(LogError) {
        let before = entries.count
        entries.removeAll { $0.startOffset >= offset }
        if entries.count != before { try persist() }
    }

    /// The log now starts at `offset`: epochs wholly before it go, the one spanning it starts there.
    mutating func truncate(fromStart offset: Int64) throws(LogError) {
        guard let keep = entries.lastIndex(where: { $0.startOffset <= offset }) else { return }
        if keep == 0, entries[0].startOffset == offset { return }
        var remaining = Array(entries[keep...])
        remaining[0].startOffset = offset
        entries = remaining
        try persist()
    }

    mutating func clear() throws(LogError) {
        entries.removeAll()
        try persist()
    }

    private func persist() throws(LogError) {
        try CheckpointFile.writeAtomically(
            CheckpointFile.render(entries.map { "\($0.epoch) \($0.startOffset)" }), to: path
        )
    }
}
