import FjordController
import KafkaProtocol
import Testing

@testable import FjordBroker

/// KIP-951's current leader for NOT_LEADER_OR_FOLLOWER answers, and the snapshot's membership records.
@Suite struct PartitionLeadersTests {
    static let topicID = KafkaUUID(high: 1, low: 2)

    /// Brokers 1 and 2 registered on PLAINTEXT (2 fenced), topic "t" with partition 0 led by 1, 1 by 2, 2 by none.
    static func image() -> MetadataImage {
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        for (offset, id) in [(Int64(0), Int32(1)), (1, 2)] {
            image.replay(
                .registerBroker(
                    RegisterBrokerRecord(
                        brokerID: id, incarnationID: KafkaUUID(high: 9, low: UInt64(id)), brokerEpoch: offset,
                        endPoints: [.init(name: "PLAINTEXT", host: "127.0.0.1", port: UInt16(9000 + id))],
                        rack: nil, fenced: id == 2)),
                offset: offset)
        }
        image.replay(.topic(TopicRecord(name: "t", topicID: topicID)), offset: 2)
        for (index, leader) in [(Int32(0), Int32(1)), (1, 2), (2, -1)] {
            image.replay(
                .partition(
                    PartitionRecord(
                        partitionID: index, topicID: topicID, replicas: [max(leader, 1)], isr: [max(leader, 1)],
                        leader: leader, leaderEpoch: 3, partitionEpoch: 0)),
                offset: 3 + Int64(index))
        }
        return image
    }

    @Test func namesTheLeaderAndListsOnlyLiveLeadersOnce() {
        let image = Self.image()
        var leaders = PartitionLeaders(image: image, liveBrokers: image.brokers(listener: "PLAINTEXT"))
        #expect(leaders.current(TopicPartition("t", 0))! == (leaderID: 1, leaderEpoch: 3))
        #expect(leaders.current(TopicPartition("t", 0))! == (leaderID: 1, leaderEpoch: 3))
        // Broker 2 is fenced: named as leader, but it has no endpoint to offer.
        #expect(leaders.current(TopicPartition("t", 1))! == (leaderID: 2, leaderEpoch: 3))
        #expect(leaders.current(TopicPartition("t", 2))! == (leaderID: -1, leaderEpoch: 3))
        #expect(leaders.current(TopicPartition("t", 3)) == nil)
        #expect(leaders.current(TopicPartition("other", 0)) == nil)
        #expect(leaders.endpoints == [MetadataImage.Broker(nodeID: 1, host: "127.0.0.1", port: 9001)])
    }

    @Test func snapshotRecordsRebuildTheMembership() {
        var image = Self.image()
        // Dynamic broker configs, cluster-wide and of one broker, a reassignment in progress and ACLs come back too.
        image.replay(
            .config(
                ConfigRecord(
                    resourceType: ConfigResourceType.broker.rawValue, resourceName: "", name: "log.retention.ms",
                    value: "1000")))
        image.replay(
            .config(
                ConfigRecord(
                    resourceType: ConfigResourceType.broker.rawValue, resourceName: "2",
                    name: "follower.replication.throttled.rate", value: "500")))
        image.replay(
            .partitionChange(
                PartitionChangeRecord(
                    partitionID: 0, topicID: image.topic(named: "t")!.topicID, replicas: [1, 2, 3],
                    removingReplicas: [3], addingReplicas: [2])))
        image.replay(
            .accessControlEntry(
                AccessControlEntryRecord(
                    id: KafkaUUID(high: 7, low: 7), resourceType: 2, resourceName: "t", patternType: 3,
                    principal: "User:alice", host: "*", operation: 3, permissionType: 3)))
        var rebuilt = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        for (offset, record) in image.snapshotRecords().enumerated() { rebuilt.replay(record, offset: Int64(offset)) }
        #expect(rebuilt.acls == image.acls && rebuilt.acls.count == 1)
        #expect(rebuilt.brokerRegistrations.keys.sorted() == [1, 2])
        #expect(rebuilt.brokerRegistrations[2]?.isFenced == true)
        #expect(rebuilt.brokerRegistrations[1]?.endpoints == image.brokerRegistrations[1]?.endpoints)
        #expect(rebuilt.topic(named: "t")?.partitions.map(\.leader) == [1, 2, -1])
        #expect(rebuilt.brokerConfigs == ["log.retention.ms": "1000"])
        #expect(rebuilt.nodeConfigs == [2: ["follower.replication.throttled.rate": "500"]])
        #expect(rebuilt.brokerConfig("follower.replication.throttled.rate", for: 2) == "500")
        #expect(rebuilt.brokerConfig("follower.replication.throttled.rate", for: 1) == nil)
        #expect(rebuilt.brokerConfig("log.retention.ms", for: 1) == "1000")
        let moving = rebuilt.topic(named: "t")?.partitions[0]
        #expect(moving?.addingReplicas == [2] && moving?.removingReplicas == [3])
    }
}
