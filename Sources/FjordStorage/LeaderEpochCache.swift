import FjordReplication
import NIOConcurrencyHelpers

/// Which leader epoch started at which offset: the partition's `leader-epoch-checkpoint` (Kafka's format, see
/// `CheckpointFile`). The rules are FjordReplication's `LeaderEpochHistory` (Kafka's `LeaderEpochFileCache`); this
/// type is its file: every change that alters the entries is written (atomically) before it returns, so what a
/// leader answered about its epochs survives a crash.
///
/// Changed only under the log's writer lock (it lives in `PartitionLog.WriterState`); each change is also published
/// to `published`, a leaf lock held for no I/O, which readers on an event loop (Fetch's divergence check,
/// OffsetForLeaderEpoch, ListOffsets) read instead of waiting for the writer lock behind an append.
struct LeaderEpochCache {
    private(set) var history: LeaderEpochHistory
    let path: String
    let published: NIOLockedValueBox<LeaderEpochHistory>

    init(path: String) throws(LogError) {
        self.path = path
        var entries = [LeaderEpochHistory.Entry]()
        if let text = try CheckpointFile.read(path), let lines = CheckpointFile.entries(text, fields: 2) {
            for line in lines {
                guard let epoch = Int32(line[0]), let start = Int64(line[1]), epoch >= 0, start >= 0 else { continue }
                entries.append(LeaderEpochHistory.Entry(epoch: epoch, startOffset: start))
            }
        }
        history = LeaderEpochHistory(entries: entries)
        published = NIOLockedValueBox(history)
    }

    var entries: [LeaderEpochHistory.Entry] { history.entries }
    var latestEpoch: Int32? { history.latestEpoch }

    /// A batch of epoch `epoch` was appended at `startOffset`: recorded only when the epoch is newer than every
    /// known one (Kafka's append path; -1, a batch written without an epoch, records nothing).
    mutating func noteAppended(epoch: Int32, startOffset: Int64) throws(LogError) {
        guard epoch >= 0, epoch > (history.latestEpoch ?? -1) else { return }
        try change { $0.assign(epoch: epoch, startOffset: startOffset) }
    }

    /// `epoch` starts at `startOffset` (a new leader at its log end): Kafka's `assign`, which first removes every
    /// entry of an epoch ≥ `epoch` or starting at or after `startOffset`.
    mutating func assign(epoch: Int32, startOffset: Int64) throws(LogError) {
        guard epoch >= 0, startOffset >= 0 else { return }
        try change { $0.assign(epoch: epoch, startOffset: startOffset) }
    }

    /// Kafka's `endOffsetFor` (`LeaderEpochHistory.endOffset`).
    func endOffset(forEpoch epoch: Int32, logEndOffset: Int64) -> EpochEndOffset {
        history.endOffset(for: epoch, logEndOffset: logEndOffset)
    }

    /// The epoch of the batch that holds `offset`, -1 before the first known epoch.
    func epoch(atOffset offset: Int64) -> Int32 {
        history.epoch(at: offset) ?? -1
    }

    /// Forgets epochs that start at or after `offset` (the log was truncated to end there).
    mutating func truncate(fromEnd offset: Int64) throws(LogError) {
        try change { $0.truncate(fromEnd: offset) }
    }

    /// The log now starts at `offset`: epochs wholly before it go, the one spanning it starts there.
    mutating func truncate(fromStart offset: Int64) throws(LogError) {
        try change { $0.truncate(fromStart: offset) }
    }

    mutating func clear() throws(LogError) {
        try Self.persist(LeaderEpochHistory(), to: path)
        history = LeaderEpochHistory()
        published.withLockedValue { $0 = LeaderEpochHistory() }
    }

    /// Applies `body` to the history; if the entries changed, the file is written first and the change kept only
    /// once it is (a failed write leaves both as they were).
    private mutating func change(_ body: (inout LeaderEpochHistory) -> Void) throws(LogError) {
        var next = history
        body(&next)
        guard next != history else { return }
        try Self.persist(next, to: path)
        history = next
        published.withLockedValue { $0 = next }
    }

    private static func persist(_ history: LeaderEpochHistory, to path: String) throws(LogError) {
        try CheckpointFile.writeAtomically(
            CheckpointFile.render(history.entries.map { "\($0.epoch) \($0.startOffset)" }), to: path
        )
    }
}
