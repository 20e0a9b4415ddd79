import KafkaProtocol

/// The ISR change a leader asks the controller for (one AlterPartition partition entry, KIP-497): the leader's
/// epochs as it knows them and the whole new ISR, each member with the broker epoch of its last fetch (-1 unknown),
/// so the controller can refuse a replica that restarted since (INELIGIBLE_REPLICA).
public struct AlterPartitionProposal: Sendable, Hashable, CustomStringConvertible {
    public struct Member: Sendable, Hashable {
        public var brokerID: NodeID
        public var brokerEpoch: Int64

        public init(brokerID: NodeID, brokerEpoch: Int64) {
            self.brokerID = brokerID
            self.brokerEpoch = brokerEpoch
        }
    }

    public var leader: NodeID
    public var leaderEpoch: LeaderEpoch
    public var partitionEpoch: Int32
    public var newISR: [Member]

    public init(leader: NodeID, leaderEpoch: LeaderEpoch, partitionEpoch: Int32, newISR: [Member]) {
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.newISR = newISR
    }

    public var isrIDs: [NodeID] { newISR.map(\.brokerID) }

    public var description: String {
        "AlterPartition(leader \(leader) epoch \(leaderEpoch) partition epoch \(partitionEpoch) isr \(isrIDs))"
    }
}

/// The controller's answer to an `AlterPartitionProposal`: the partition as now written, or an error code.
public enum AlterPartitionAnswer: Sendable, Hashable {
    case accepted(leaderEpoch: LeaderEpoch, partitionEpoch: Int32, isr: [NodeID])
    case rejected(ErrorCode)
}
