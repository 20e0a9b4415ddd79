import FjordController
import KafkaProtocol
import Testing

/// Flow (each test): start from an image with one broker, run a command, check the answer, then replay the
/// records it returned and check the new image — nothing changes before replay.
@Suite struct TopicCommandsTests {
    private var image: MetadataImage {
        MetadataImage(clusterID: "c", controllerID: 1, brokers: [.init(nodeID: 1, host: "h", port: 9092)])
    }

    private func replayed(_ image: MetadataImage, _ records: [MetadataRecord]) -> MetadataImage {
        var next = image
        for record in records { next.replay(record) }
        return next
    }

    private var defaults: TopicCommands.Defaults { .init(partitionCount: 3, replicationFactor: 1) }

    @Test func createsTopicsWithDefaultsConfigsAndRecords() {
        var counter: UInt64 = 0
        let result = TopicCommands(image: image, defaults: defaults).createTopics([
            .init(name: "orders", configs: [("retention.ms", "1000")]),
            .init(name: "explicit", assignments: [0: [1], 1: [1]]),
        ]) {
            counter += 1
            return KafkaUUID(high: 0, low: counter)
        }
        #expect(result.response.map(\.result) == [.ok, .ok])
        #expect(result.response.map(\.partitionCount) == [3, 2])
        let next = replayed(image, result.records)
        #expect(next.topic(named: "orders")?.partitions.count == 3)
        #expect(next.topic(named: "orders")?.configs == ["retention.ms": "1000"])
        #expect(next.topic(id: KafkaUUID(high: 0, low: 2))?.name == "explicit")
        #expect(
            next.topic(named: "orders")?.partitions.allSatisfy { $0.leader == 1 && $0.inSyncReplicas == [1] } == true)
    }

    @Test(arguments: [
        (TopicCommands.NewTopic(name: "bad name"), ErrorCode.invalidTopicException),
        (TopicCommands.NewTopic(name: String(repeating: "x", count: 250)), .invalidTopicException),
        (TopicCommands.NewTopic(name: ".."), .invalidTopicException),
        (TopicCommands.NewTopic(name: "a", partitionCount: 0), .invalidPartitions),
        (TopicCommands.NewTopic(name: "a", replicationFactor: 0), .invalidReplicationFactor),
        (TopicCommands.NewTopic(name: "a", replicationFactor: 2), .invalidReplicationFactor),
        (TopicCommands.NewTopic(name: "a", configs: [("no.such.config", "1")]), .invalidConfig),
        (TopicCommands.NewTopic(name: "a", configs: [("retention.ms", "soon")]), .invalidConfig),
        (TopicCommands.NewTopic(name: "a", configs: [("cleanup.policy", "shred")]), .invalidConfig),
        (TopicCommands.NewTopic(name: "a", assignments: [0: [7]]), .invalidReplicaAssignment),
        (TopicCommands.NewTopic(name: "a", assignments: [1: [1]]), .invalidReplicaAssignment),
        (TopicCommands.NewTopic(name: "a", partitionCount: 2, assignments: [0: [1]]), .invalidRequest),
    ])
    func invalidTopicsAreRefusedWithKafkasError(topic: TopicCommands.NewTopic, error: ErrorCode) {
        let result = TopicCommands(image: image, defaults: defaults).createTopics([topic]) { .zero }
        #expect(result.records.isEmpty)
        #expect(result.response.first?.result.error == error)
        #expect(result.response.first?.result.message?.isEmpty == false)
    }

    @Test func existingNamesAndDotUnderscoreCollisionsAreRefused() {
        let first = TopicCommands(image: image, defaults: defaults).createTopics([.init(name: "a.b")]) {
            KafkaUUID(high: 1, low: 1)
        }
        let next = replayed(image, first.records)
        let second = TopicCommands(image: next, defaults: defaults).createTopics([
            .init(name: "a.b"), .init(name: "a_b"),
        ]) { .zero }
        #expect(second.response.map(\.result.error) == [.topicAlreadyExists, .invalidTopicException])
        #expect(second.response[1].result.message?.contains("collides") == true)
    }

    @Test func deleteAndCreatePartitions() {
        let created = TopicCommands(image: image, defaults: defaults).createTopics([.init(name: "t")]) {
            KafkaUUID(high: 5, low: 5)
        }
        let withTopic = replayed(image, created.records)
        let grow = TopicCommands(image: withTopic, defaults: defaults).createPartitions([
            ("t", 5, nil), ("t", 2, nil), ("nope", 9, nil),
        ])
        #expect(grow.response.map(\.result.error) == [.none, .invalidPartitions, .unknownTopicOrPartition])
        #expect(replayed(withTopic, grow.records).topic(named: "t")?.partitions.map(\.index) == [0, 1, 2, 3, 4])

        let deleted = TopicCommands(image: withTopic, defaults: defaults).deleteTopics(
            names: ["t", "missing"], ids: [KafkaUUID(high: 9, low: 9)])
        #expect(deleted.response.map(\.result.error) == [.none, .unknownTopicOrPartition, .unknownTopicID])
        let after = replayed(withTopic, deleted.records)
        #expect(after.topic(named: "t") == nil)
        #expect(after.topic(id: KafkaUUID(high: 5, low: 5)) == nil)
    }

    @Test func incrementalAlterConfigsValidatesAndAppliesEveryOperation() {
        let created = TopicCommands(image: image, defaults: defaults).createTopics([
            .init(name: "t", configs: [("retention.ms", "5")])
        ]) { KafkaUUID(high: 2, low: 2) }
        let base = replayed(image, created.records)
        let commands = ConfigCommands(image: base, nodeID: 1)
        let changed = commands.incrementalAlter(
            type: ConfigResourceType.topic.rawValue, name: "t",
            changes: [
                .init(name: "retention.ms", operation: .delete, value: nil),
                .init(name: "cleanup.policy", operation: .append, value: "compact"),
                .init(name: "max.message.bytes", operation: .set, value: "2048"),
            ])
        #expect(changed.response == .ok)
        let after = replayed(base, changed.records)
        #expect(after.topic(named: "t")?.configs == ["cleanup.policy": "delete,compact", "max.message.bytes": "2048"])

        #expect(
            commands.incrementalAlter(type: 2, name: "t", changes: [.init(name: "bogus", operation: .set, value: "1")])
                .response.error == .invalidConfig)
        #expect(
            commands.incrementalAlter(
                type: 2, name: "t", changes: [.init(name: "segment.bytes", operation: .set, value: "-4")]
            ).response.error == .invalidConfig)
        #expect(
            commands.incrementalAlter(type: 2, name: "missing", changes: []).response.error == .unknownTopicOrPartition)
        #expect(
            commands.incrementalAlter(
                type: 4, name: "1", changes: [.init(name: "log.retention.ms", operation: .set, value: "100")]
            ).records.count == 1)
        #expect(
            commands.incrementalAlter(
                type: 4, name: "1", changes: [.init(name: "retention.ms", operation: .set, value: "100")]
            ).response.error == .invalidConfig)
    }

    @Test func metadataRecordsRoundTripThroughTheirLogFraming() throws {
        let records: [MetadataRecord] = [
            .topic(TopicRecord(name: "t", topicID: KafkaUUID(high: 1, low: 2))),
            .partition(
                PartitionRecord(partitionID: 0, topicID: KafkaUUID(high: 1, low: 2), replicas: [1], isr: [1], leader: 1)
            ),
            .config(ConfigRecord(resourceType: 2, resourceName: "t", name: "retention.ms", value: nil)),
            .removeTopic(RemoveTopicRecord(topicID: KafkaUUID(high: 1, low: 2))),
            .producerIDs(ProducerIDsRecord(brokerID: 1, brokerEpoch: 0, nextProducerID: 1000)),
        ]
        for record in records {
            #expect(try MetadataRecord(decoding: record.encoded()) == record)
        }
    }

    @Test func producerIDBlocksNeverOverlap() {
        let first = ProducerIDCommands.allocateBlock(image: image, brokerID: 1)
        let next = replayed(image, first.records)
        let second = ProducerIDCommands.allocateBlock(image: next, brokerID: 1)
        #expect(first.response.upperBound < second.response.lowerBound)
    }
}
