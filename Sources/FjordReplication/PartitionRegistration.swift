import KafkaProtocol

/// A partition as the controller last wrote it (a `PartitionRecord` / `PartitionChangeRecord` replayed, or an
/// AlterPartition answer): who leads in which epoch, the assignment and the ISR. Epochs only grow: a leader epoch
/// changes with every election, the partition epoch with every change at all.
public struct PartitionRegistration: Sendable, Hashable, CustomStringConvertible {
    /// The leader, or -1 while the partition has none (every ISR member is down).
    public var leader: NodeID
    public var leaderEpoch: LeaderEpoch
    public var partitionEpoch: Int32
    public var replicas: [NodeID]
    public var isr: [NodeID]

    public init(leader: NodeID, leaderEpoch: LeaderEpoch, partitionEpoch: Int32, replicas: [NodeID], isr: [NodeID]) {
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.replicas = replicas
        self.isr = isr
    }

    public static let noLeader: NodeID = -1

    public var description: String {
        "leader \(leader) epoch \(leaderEpoch) partition epoch \(partitionEpoch) replicas \(replicas) isr \(isr)"
    }
}

/// What the local log holds, as the driver reads it from storage when the core needs it: a replica's position,
/// its high watermark and its leader epochs.
public struct LocalLogState: Sendable, Hashable {
    public var logStartOffset: Int64
    public var logEndOffset: Int64
    public var highWatermark: Int64
    public var epochs: LeaderEpochHistory

    public init(logStartOffset: Int64, logEndOffset: Int64, highWatermark: Int64, epochs: LeaderEpochHistory) {
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
        self.highWatermark = highWatermark
        self.epochs = epochs
    }
}
