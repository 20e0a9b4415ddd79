import KafkaProtocol

/// A node's role as others may see it: the role's name, its epoch, the leader it knows and whom it voted for.
public struct RaftRoleSummary: Hashable, Sendable, CustomStringConvertible {
    /// The role names, one per `RaftRole` case.
    public enum Name: String, Hashable, Sendable, CaseIterable {
        case unattached, voted, prospective, candidate, leader, follower, resigned
    }

    public var name: Name
    public var epoch: Int32
    public var leaderID: NodeID?
    public var votedKey: ReplicaKey?

    public init(name: Name, epoch: Int32, leaderID: NodeID?, votedKey: ReplicaKey?) {
        self.name = name
        self.epoch = epoch
        self.leaderID = leaderID
        self.votedKey = votedKey
    }

    public var description: String {
        var text = "\(name.rawValue)(epoch \(epoch)"
        if let leaderID { text += ", leader \(leaderID)" }
        if let votedKey { text += ", voted \(votedKey)" }
        return text + ")"
    }
}
