import KafkaProtocol

/// Who leads an epoch, as far as the sender knows (Kafka's `LeaderIdAndEpoch`, with -1 as nil).
public struct LeaderAndEpoch: Hashable, Sendable {
    public var leaderID: NodeID?
    public var epoch: Int32

    public init(leaderID: NodeID?, epoch: Int32) {
        self.leaderID = leaderID
        self.epoch = epoch
    }
}
