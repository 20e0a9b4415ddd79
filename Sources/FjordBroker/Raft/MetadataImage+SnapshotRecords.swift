import FjordController
import KafkaProtocol

extension MetadataImage {
    /// The metadata records that rebuild this image when replayed into an empty one: what a snapshot of the
    /// metadata log holds (KIP-630) — feature levels and broker and controller registrations first (a partition's
    /// leader names a registered broker), then topics with their partitions and configs, broker configs, and the
    /// ACLs, and the producer-id high mark. Replaying them must give the same image (a test checks it).
    func snapshotRecords() -> [MetadataRecord] {
        var records = membershipSnapshotRecords()
        for name in topicNames {
            guard let topic = topic(named: name) else { continue }
            records.append(.topic(TopicRecord(name: topic.name, topicID: topic.topicID)))
            for key in topic.configs.keys.sorted() {
                records.append(
                    .config(
                        ConfigRecord(
                            resourceType: ConfigResourceType.topic.rawValue, resourceName: topic.name, name: key,
                            value: topic.configs[key])))
            }
            for partition in topic.partitions {
                records.append(
                    .partition(
                        PartitionRecord(
                            partitionID: partition.index, topicID: topic.topicID, replicas: partition.replicas,
                            isr: partition.inSyncReplicas, removingReplicas: partition.removingReplicas,
                            addingReplicas: partition.addingReplicas, leader: partition.leader,
                            leaderRecoveryState: partition.leaderRecoveryState, leaderEpoch: partition.leaderEpoch,
                            partitionEpoch: partition.partitionEpoch)))
            }
        }
        for key in brokerConfigs.keys.sorted() {
            records.append(
                .config(
                    ConfigRecord(
                        resourceType: ConfigResourceType.broker.rawValue, resourceName: "", name: key,
                        value: brokerConfigs[key])))
        }
        for node in nodeConfigs.keys.sorted() {
            let configs = nodeConfigs[node]!
            for key in configs.keys.sorted() {
                records.append(
                    .config(
                        ConfigRecord(
                            resourceType: ConfigResourceType.broker.rawValue, resourceName: "\(node)", name: key,
                            value: configs[key])))
            }
        }
        records += aclSnapshotRecords
        records += scramSnapshotRecords
        records += quotaSnapshotRecords
        if nextProducerID > 0 {
            records.append(
                .producerIDs(ProducerIDsRecord(brokerID: controllerID, brokerEpoch: 0, nextProducerID: nextProducerID)))
        }
        return records
    }
}
