import KafkaProtocol

/// A partition's role on this broker, each with its own state. `ReplicaRole.apply` is the one place roles change;
/// every legal edge:
///
/// - none → leader: the controller names this broker leader (`PartitionLeader.init`: new epoch at the log end).
/// - none → follower: this broker is assigned and another leads, or none does (leader -1: no fetching).
/// - leader → leader (same epoch): an ISR or assignment change within the epoch (`.partitionChanged`).
/// - leader → leader (newer epoch): re-elected; waiting produces fail, the state starts over at the log end.
/// - leader → follower: another broker leads a newer epoch; waiting produces fail NOT_LEADER_OR_FOLLOWER.
/// - follower → follower (same epoch): only the partition epoch moves; the fetch goes on.
/// - follower → follower (newer epoch): fetching restarts from the log end with the log's latest epoch.
/// - follower → leader: elected (newer epoch).
/// - any → none: this broker is no longer assigned.
///
/// Metadata no newer than the role's (a lower leader epoch, or the same one with a partition epoch not above the
/// role's) is ignored: the partition epoch versions the whole registration, so an equal one says nothing new — and
/// re-applying it would end an AlterPartition in flight.
public enum ReplicaRole: Sendable {
    case none
    case leader(PartitionLeader)
    case follower(PartitionFollower)

    public var leaderEpoch: LeaderEpoch? {
        switch self {
        case .none: nil
        case .leader(let leader): leader.leaderEpoch
        case .follower(let follower): follower.leaderEpoch
        }
    }

    public var partitionEpoch: Int32? {
        switch self {
        case .none: nil
        case .leader(let leader): leader.partitionEpoch
        case .follower(let follower): follower.partitionEpoch
        }
    }

    /// Applies the controller's `registration` to this broker's role; `log` is the local log as it is now. The
    /// outputs answer the produces a former leader leaves waiting.
    public mutating func apply(
        _ registration: PartitionRegistration, localID: NodeID, log: LocalLogState,
        configuration: ReplicationConfiguration, now: Int64
    ) -> [LeaderOutput] {
        if let epoch = leaderEpoch {
            if registration.leaderEpoch < epoch { return [] }
            if registration.leaderEpoch == epoch, registration.partitionEpoch <= partitionEpoch! { return [] }
        }
        guard registration.replicas.contains(localID) else {
            let outputs = resign()
            self = .none
            return outputs
        }
        if registration.leader == localID {
            if case .leader(var leader) = self, leader.leaderEpoch == registration.leaderEpoch {
                let outputs = leader.step(.partitionChanged(registration, now: now))
                self = .leader(leader)
                return outputs
            }
            let outputs = resign()
            self = .leader(
                PartitionLeader(
                    localID: localID, registration: registration, log: log, configuration: configuration, now: now))
            return outputs
        }
        if case .follower(var follower) = self, follower.leaderEpoch == registration.leaderEpoch {
            follower.updatePartitionEpoch(registration.partitionEpoch)
            self = .follower(follower)
            return []
        }
        let outputs = resign()
        self = .follower(PartitionFollower(localID: localID, registration: registration, log: log))
        return outputs
    }

    private mutating func resign() -> [LeaderOutput] {
        guard case .leader(var leader) = self else { return [] }
        let outputs = leader.resign()
        self = .leader(leader)
        return outputs
    }
}
