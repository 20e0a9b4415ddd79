/// A batch of the metadata log as the core sees it: what the driver writes as ONE Kafka record batch (a control
/// batch when its records are control records). Offsets are consecutive from `baseOffset`; `epoch` is the
/// partition leader epoch of the leader that appended it.
public struct RaftBatch: Sendable, Equatable {
    public var baseOffset: Int64
    public var epoch: Int32
    public var appendTimeMs: Int64
    public var records: [RaftRecord]

    public init(baseOffset: Int64, epoch: Int32, appendTimeMs: Int64, records: [RaftRecord]) {
        precondition(!records.isEmpty, "a batch holds at least one record")
        self.baseOffset = baseOffset
        self.epoch = epoch
        self.appendTimeMs = appendTimeMs
        self.records = records
    }

    /// The offset of the batch's last record.
    public var lastOffset: Int64 { baseOffset + Int64(records.count) - 1 }

    /// The offset after the batch: the log end offset once it is appended.
    public var nextOffset: Int64 { baseOffset + Int64(records.count) }

    /// Whether the batch holds control records (LeaderChange, Voters, KRaftVersion) rather than data.
    public var isControl: Bool { records.first?.isControl ?? false }

    /// Rough size in bytes (a batch header plus the records), used against fetch byte limits.
    var estimatedSize: Int { 61 + records.reduce(0) { $0 + $1.estimatedSize } }
}
