import FjordController
import KafkaProtocol
import Testing

@Suite struct MetadataReplayTests {
    /// A history touching every record kind this controller writes.
    private static func history() -> ControllerHarness {
        var harness = ControllerHarness(metadataVersion: 21)
        for id: Int32 in 1...4 { harness.startBroker(id, rack: "r\(id % 2)") }
        harness.createTopic("orders", partitions: 6, replicationFactor: 2, seed: 5)
        harness.createTopic("solo", assignments: [[4]])
        let upgrade = FeatureControl(image: harness.image, nodeID: 3000).updateFeatures(
            UpdateFeaturesRequest(featureUpdates: [.init(feature: "metadata.version", maxVersionLevel: 25)]),
            version: 1)
        harness.commit(upgrade.records)
        harness.heartbeat(1, wantShutDown: true)
        harness.heartbeat(2)
        harness.heartbeat(3)
        harness.heartbeat(4)
        harness.heartbeat(1, wantShutDown: true)
        harness.now += 9_500
        harness.heartbeat(2)
        harness.heartbeat(3)
        let expired = ClusterControl(image: harness.image).fenceExpiredBrokers(
            tracker: &harness.tracker, now: harness.now)
        harness.commit(expired.records)
        harness.register(ControllerHarness.registration(4, incarnation: 44, rack: "r0"))
        harness.heartbeat(4)
        let controller = ClusterControl(image: harness.image).registerController(
            ControllerRegistrationRequest(controllerID: 3000, incarnationID: KafkaUUID(high: 1, low: 2)))
        harness.commit(controller.records)
        let gone = ClusterControl(image: harness.image).unregisterBroker(1, tracker: &harness.tracker)
        harness.commit(gone.records)
        return harness
    }

    @Test func replayingTheRecordsOfACommandSequenceRebuildsTheSameImage() {
        // Flow:
        // 1. Run a history: bootstrap at 3.9, four brokers on two racks registered and unfenced, topics placed and
        //    assigned, metadata.version upgraded, a controlled shutdown to its end, a session expiry, a new
        //    incarnation, a controller registration, an unregistration.
        // 2. Check the history did what it should (so the comparison below is not between two empty images).
        // 3. Replay the log from an empty image: the same image as the controller's, broker epochs included.
        let harness = Self.history()
        let image = harness.image
        #expect(image.metadataVersion.level == 25)
        #expect(image.brokerRegistrations[1] == nil)
        #expect(image.brokerRegistrations[4]?.incarnationID == KafkaUUID(high: 7, low: 44))
        #expect(image.brokerRegistrations[4]?.isFenced == false)
        #expect(image.controllerRegistrations[3000] != nil)
        #expect(image.topic(named: "orders")?.partitions.count == 6)
        #expect(image.topic(named: "solo")?.partitions.first?.leader == 4)
        #expect(harness.replayedFromScratch() == image)
    }

    @Test func recordsSurviveTheirLogFraming() throws {
        // Flow:
        // 1. Encode every record of the history as __cluster_metadata values and decode them back: equal.
        // 2. Replaying the decoded records from an empty image gives the same image.
        let harness = Self.history()
        var image = MetadataImage(clusterID: ControllerHarness.clusterID, controllerID: 3000, brokers: [])
        for (offset, record) in harness.log.enumerated() {
            let decoded = try #require(try MetadataRecord(decoding: record.encoded()))
            #expect(decoded == record)
            image.replay(decoded, offset: Int64(offset))
        }
        #expect(image == harness.image)
        let kinds = Set(harness.log.map { String(describing: $0).prefix(while: { $0 != "(" }) })
        #expect(
            kinds.isSuperset(of: [
                "featureLevel", "registerBroker", "brokerRegistrationChange", "topic", "partition", "partitionChange",
                "registerController", "unregisterBroker",
            ]))
    }

    @Test func membershipSnapshotRecordsRebuildRegistrationsAndFeatures() {
        // Flow:
        // 1. Run the history, fence broker 2; take the membership part of a snapshot of the image.
        // 2. Replay it into an empty image at the snapshot's offset: the same feature levels, controllers and
        //    brokers (epochs, fencing, controlled shutdown, listeners, features, log dirs); only the registration
        //    offset becomes the snapshot's, as in Kafka.
        // 3. A broker known only from configuration is not written.
        var harness = Self.history()
        harness.heartbeat(2, wantFence: true)
        var image = MetadataImage(clusterID: ControllerHarness.clusterID, controllerID: 3000, brokers: [])
        let records = harness.image.membershipSnapshotRecords()
        #expect(records.first == .featureLevel(FeatureLevelRecord(name: "metadata.version", featureLevel: 25)))
        for record in records { image.replay(record, offset: 500) }
        #expect(image.finalizedFeatures == harness.image.finalizedFeatures)
        #expect(image.controllerRegistrations == harness.image.controllerRegistrations)
        var expected = harness.image.brokerRegistrations
        for id in expected.keys { expected[id]!.registrationOffset = 500 }
        #expect(image.brokerRegistrations == expected)
        #expect(expected.values.contains { $0.isFenced } && expected.values.contains { !$0.isFenced })
        let configured = MetadataImage(clusterID: "c", controllerID: 1, brokers: [.init(nodeID: 1, host: "h", port: 1)])
        #expect(configured.membershipSnapshotRecords().isEmpty)
    }

    @Test func olderFenceRecordsAndRecordsForOtherIncarnationsReplay() {
        // Flow:
        // 1. Broker 1 registered at epoch 10 (replayed at offset 10).
        // 2. FenceBrokerRecord / UnfenceBrokerRecord (pre-3.3 logs) with its epoch fence and unfence it.
        // 3. A fence for epoch 9 (an older incarnation) and an unregistration for epoch 9 change nothing.
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        image.replay(
            .registerBroker(
                RegisterBrokerRecord(
                    brokerID: 1, brokerEpoch: 10,
                    endPoints: [.init(name: "P", host: "h", port: 1, securityProtocol: 0)],
                    fenced: false)),
            offset: 10)
        image.replay(.fenceBroker(FenceBrokerRecord(id: 1, epoch: 10)), offset: 11)
        #expect(image.brokerRegistrations[1]?.isFenced == true)
        image.replay(.unfenceBroker(UnfenceBrokerRecord(id: 1, epoch: 10)), offset: 12)
        #expect(image.brokerRegistrations[1]?.isFenced == false)
        let before = image.brokerRegistrations
        image.replay(.fenceBroker(FenceBrokerRecord(id: 1, epoch: 9)), offset: 13)
        image.replay(.unregisterBroker(UnregisterBrokerRecord(brokerID: 1, brokerEpoch: 9)), offset: 14)
        #expect(image.brokerRegistrations == before)
        #expect(image.lastAppliedOffset == 14)
    }
}

@Suite struct PartitionReplayOrderTests {
    @Test func partitionRecordsInAnyOrderLeaveThePartitionsOrderedByIndex() throws {
        // Flow:
        // 1. Replay a topic, then partition records 0, 1, 4, 2 (a log with a gap) and partition 1 again.
        // 2. The image lists 0, 1, 2, 4 in order, partition 1 as last written; position(ofPartition:) finds each
        //    one and none for 3.
        // 3. A PartitionChangeRecord for partition 4 (past the gap) changes that partition only.
        let id = KafkaUUID(high: 9, low: 9)
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        image.replay(.topic(TopicRecord(name: "t", topicID: id)))
        for (index, leader) in [(0, 1), (1, 1), (4, 1), (2, 1), (1, 2)] as [(Int32, Int32)] {
            image.replay(
                .partition(
                    PartitionRecord(
                        partitionID: index, topicID: id, replicas: [1, 2], isr: [1, 2], leader: leader, leaderEpoch: 0))
            )
        }
        let topic = try #require(image.topic(named: "t"))
        #expect(topic.partitions.map(\.index) == [0, 1, 2, 4])
        #expect(topic.partitions[1].leader == 2)
        #expect([0, 1, 2, 3, 4].map { topic.position(ofPartition: $0) } == [0, 1, 2, nil, 3])
        image.replay(.partitionChange(PartitionChangeRecord(partitionID: 4, topicID: id, isr: [2], leader: 2)))
        let changed = try #require(image.topic(named: "t"))
        #expect(changed.partitions[3].leader == 2 && changed.partitions[3].inSyncReplicas == [2])
        #expect(changed.partitions[3].leaderEpoch == 1)
        #expect(changed.partitions[2].leader == 1 && changed.partitions[2].leaderEpoch == 0)
    }
}
