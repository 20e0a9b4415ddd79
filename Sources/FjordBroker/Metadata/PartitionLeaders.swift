import FjordController
import KafkaProtocol

/// Where a partition this broker does not lead is led now, for KIP-951: a Produce or Fetch answered
/// NOT_LEADER_OR_FOLLOWER names the current leader and epoch, and the response lists that leader's endpoint, so
/// the client moves at once instead of refreshing its metadata first.
///
/// Built from one image per request; it collects the leaders it named so the response's `NodeEndpoints` lists
/// each once, at the endpoint clients reach (`MetadataService.liveBrokers`).
struct PartitionLeaders {
    let image: MetadataImage
    let brokers: [NodeID: MetadataImage.Broker]
    /// The leaders named so far, in the order first named.
    private(set) var named: [NodeID] = []

    /// `liveBrokers`: the brokers as clients reach them (`MetadataService.liveBrokers(image)`).
    init(image: MetadataImage, liveBrokers: [MetadataImage.Broker]) {
        self.image = image
        brokers = Dictionary(liveBrokers.map { ($0.nodeID, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// Whether the image knows the partition (this broker may simply not host it).
    func exists(_ topicPartition: TopicPartition) -> Bool {
        partition(topicPartition) != nil
    }

    /// The partition's current leader and leader epoch; leader -1 when it has none. Notes a live leader for the
    /// response's endpoints.
    mutating func current(_ topicPartition: TopicPartition) -> (leaderID: Int32, leaderEpoch: Int32)? {
        guard let partition = partition(topicPartition) else { return nil }
        if partition.leader >= 0, brokers[partition.leader] != nil, !named.contains(partition.leader) {
            named.append(partition.leader)
        }
        return (partition.leader, partition.leaderEpoch)
    }

    /// The endpoints of the leaders named, for the response's `NodeEndpoints`.
    var endpoints: [MetadataImage.Broker] { named.compactMap { brokers[$0] } }

    private func partition(_ topicPartition: TopicPartition) -> MetadataImage.Partition? {
        image.topic(named: topicPartition.topic)?.partitions.first { $0.index == topicPartition.partition }
    }
}
