import FjordController
import KafkaProtocol
import Testing

/// The controller's side of AlterPartition (KIP-497): what it accepts, what it writes, and Kafka's error for each
/// refusal.
@Suite struct AlterPartitionTests {
    /// Brokers 1–3 unfenced; "t" partition 0 on [1, 2, 3] led by 1 with ISR [1, 2, 3].
    static func cluster(metadataVersion: Int16 = MetadataVersion.latestProduction.level) -> ControllerHarness {
        var harness = ControllerHarness(metadataVersion: metadataVersion)
        for id: Int32 in 1...3 { harness.startBroker(id) }
        harness.createTopic("t", assignments: [[1, 2, 3]])
        return harness
    }

    /// A request from `broker` (epoch as registered unless given) for "t"-0 with `isr` (each at its registered
    /// epoch unless `epochs` says otherwise), at the partition's current epochs unless given. Both ISR fields are
    /// filled: v0–2 read `newIsr`, v3 `newIsrWithEpochs`.
    static func request(
        _ harness: ControllerHarness, isr: [Int32], from broker: Int32 = 1, brokerEpoch: Int64? = nil,
        leaderEpoch: Int32? = nil, partitionEpoch: Int32? = nil, epochs: [Int32: Int64] = [:],
        recovery: Int8 = 0, topicID: KafkaUUID? = nil
    ) -> AlterPartitionRequest {
        let partition = harness.partition("t", 0)
        let members = isr.map {
            AlterPartitionRequest.BrokerState(
                brokerID: $0, brokerEpoch: epochs[$0] ?? harness.image.brokerRegistrations[$0]?.epoch ?? -1)
        }
        let data = AlterPartitionRequest.PartitionData(
            partitionIndex: 0, leaderEpoch: leaderEpoch ?? partition.leaderEpoch, newIsr: isr,
            newIsrWithEpochs: members,
            leaderRecoveryState: recovery, partitionEpoch: partitionEpoch ?? partition.partitionEpoch)
        return AlterPartitionRequest(
            brokerID: broker, brokerEpoch: brokerEpoch ?? harness.image.brokerRegistrations[broker]!.epoch,
            topics: [
                AlterPartitionRequest.TopicData(
                    topicID: topicID ?? harness.image.topic(named: "t")!.topicID, partitions: [data])
            ])
    }

    static func answer(_ result: ControllerResult<AlterPartitionResponse>) -> AlterPartitionResponse.PartitionData {
        result.response.topics[0].partitions[0]
    }

    @Test func aShrinkAndAnExpansionAreWrittenWithTheNewPartitionEpochAndTheSameLeaderEpoch() {
        // Flow:
        // 1. The leader shrinks the ISR to [1, 2]: one PartitionChangeRecord with the ISR only (4.0: no leader
        //    epoch bump), the answer carries ISR [1, 2], leader 1, the same leader epoch, partition epoch + 1.
        // 2. After commit it expands back to [1, 2, 3] at the new partition epoch: accepted the same way.
        // 3. A request with the ISR it already has writes nothing and answers the current state.
        var harness = Self.cluster()
        let before = harness.partition("t", 0)
        let shrink = ClusterControl(image: harness.image).alterPartition(
            Self.request(harness, isr: [1, 2]), version: 3)
        #expect(shrink.response.errorCode == 0)
        let topicID = harness.image.topic(named: "t")!.topicID
        var expected = PartitionChangeRecord(partitionID: 0, topicID: topicID)
        expected.isr = [1, 2]
        #expect(shrink.records == [.partitionChange(expected)])
        let shrunk = Self.answer(shrink)
        #expect(shrunk.errorCode == 0 && shrunk.leaderID == 1 && shrunk.isr == [1, 2])
        #expect(shrunk.leaderEpoch == before.leaderEpoch && shrunk.partitionEpoch == before.partitionEpoch + 1)
        harness.commit(shrink.records)
        #expect(harness.partition("t", 0).inSyncReplicas == [1, 2])
        #expect(harness.partition("t", 0).partitionEpoch == shrunk.partitionEpoch)

        let expand = ClusterControl(image: harness.image).alterPartition(
            Self.request(harness, isr: [1, 2, 3]), version: 3)
        #expect(Self.answer(expand).errorCode == 0 && Self.answer(expand).isr == [1, 2, 3])
        harness.commit(expand.records)
        #expect(harness.partition("t", 0).inSyncReplicas == [1, 2, 3])
        #expect(harness.partition("t", 0).partitionEpoch == before.partitionEpoch + 2)

        let same = ClusterControl(image: harness.image).alterPartition(
            Self.request(harness, isr: [1, 2, 3]), version: 3)
        #expect(same.records.isEmpty)
        #expect(Self.answer(same).partitionEpoch == before.partitionEpoch + 2 && Self.answer(same).errorCode == 0)
    }

    @Test func beforeMetadataVersion36AShrinkBumpsTheLeaderEpochButAnExpansionDoesNot() {
        var harness = Self.cluster(metadataVersion: 11)  // 3.5-IV2
        #expect(harness.image.metadataVersion.level == 11)
        let before = harness.partition("t", 0)
        let shrink = ClusterControl(image: harness.image).alterPartition(
            Self.request(harness, isr: [1, 3]), version: 2)
        #expect(Self.answer(shrink).leaderEpoch == before.leaderEpoch + 1)
        harness.commit(shrink.records)
        #expect(harness.partition("t", 0).leaderEpoch == before.leaderEpoch + 1)
        #expect(harness.partition("t", 0).leader == 1)
        let expand = ClusterControl(image: harness.image).alterPartition(
            Self.request(harness, isr: [1, 2, 3]), version: 2)
        #expect(Self.answer(expand).leaderEpoch == before.leaderEpoch + 1)
        harness.commit(expand.records)
        #expect(harness.partition("t", 0).leaderEpoch == before.leaderEpoch + 1)
    }

    @Test func staleEpochsAndWrongSendersGetKafkasErrorsAndWriteNothing() {
        // Each refusal in Kafka's order of checks; none writes a record.
        let harness = Self.cluster()
        let partition = harness.partition("t", 0)
        let control = ClusterControl(image: harness.image)
        func code(_ request: AlterPartitionRequest, version: Int16 = 3) -> (Int16, Int16, Bool) {
            let result = control.alterPartition(request, version: version)
            return (
                result.response.errorCode, result.response.topics.first?.partitions.first?.errorCode ?? 0,
                result.records.isEmpty
            )
        }
        let stale = ErrorCode.staleBrokerEpoch.rawValue
        #expect(code(Self.request(harness, isr: [1, 2], brokerEpoch: 999)) == (stale, 0, true))
        // A newer epoch than the image: this controller is behind.
        #expect(
            code(Self.request(harness, isr: [1, 2], leaderEpoch: partition.leaderEpoch + 1)).1
                == ErrorCode.notController.rawValue)
        #expect(
            code(Self.request(harness, isr: [1, 2], partitionEpoch: partition.partitionEpoch + 1)).1
                == ErrorCode.notController.rawValue)
        #expect(
            code(Self.request(harness, isr: [1, 2], leaderEpoch: partition.leaderEpoch - 1)).1
                == ErrorCode.fencedLeaderEpoch.rawValue)
        // Broker 2 is a follower, not the leader.
        #expect(code(Self.request(harness, isr: [1, 2], from: 2)).1 == ErrorCode.invalidRequest.rawValue)
        #expect(
            code(Self.request(harness, isr: [1, 2], partitionEpoch: partition.partitionEpoch - 1)).1
                == ErrorCode.invalidUpdateVersion.rawValue)
        // ISRs that cannot be: without the leader, with a non-replica, with a duplicate; recovering with two.
        for isr: [Int32] in [[2, 3], [1, 4], [1, 2, 2]] {
            #expect(code(Self.request(harness, isr: isr)).1 == ErrorCode.invalidRequest.rawValue, "\(isr)")
        }
        #expect(code(Self.request(harness, isr: [1, 2], recovery: 1)).1 == ErrorCode.invalidRequest.rawValue)
        let unknownTopic = Self.request(harness, isr: [1, 2], topicID: KafkaUUID(high: 7, low: 7))
        #expect(code(unknownTopic).1 == ErrorCode.unknownTopicID.rawValue)
        #expect(code(unknownTopic, version: 1).1 == ErrorCode.unknownTopicOrPartition.rawValue)
    }

    @Test func anIneligibleMemberIsRefusedWithTheCodeOfTheRequestVersion() {
        // Flow:
        // 1. A member named with another broker epoch than its registration's: INELIGIBLE_REPLICA (v2+),
        //    OPERATION_NOT_ATTEMPTED (v0–1); epoch -1 is not checked.
        // 2. Broker 3 is fenced (its partitions move, it leaves the ISR); adding it back is refused while fenced.
        // 3. Unfenced again, the same expansion is accepted.
        var harness = Self.cluster()
        let control = ClusterControl(image: harness.image)
        let otherEpoch = Self.request(harness, isr: [1, 2, 3], epochs: [3: 12345])
        #expect(
            Self.answer(control.alterPartition(otherEpoch, version: 3)).errorCode
                == ErrorCode.ineligibleReplica.rawValue)
        #expect(control.alterPartition(otherEpoch, version: 3).records.isEmpty)
        let unchecked = Self.request(harness, isr: [1, 2, 3], epochs: [3: -1])
        #expect(Self.answer(control.alterPartition(unchecked, version: 3)).errorCode == 0)

        harness.heartbeat(3, wantFence: true)
        #expect(harness.partition("t", 0).inSyncReplicas == [1, 2])
        let whileFenced = Self.request(harness, isr: [1, 2, 3])
        let refused = ClusterControl(image: harness.image).alterPartition(whileFenced, version: 2)
        #expect(Self.answer(refused).errorCode == ErrorCode.ineligibleReplica.rawValue)
        #expect(refused.records.isEmpty)
        var byName = whileFenced
        byName.topics[0].topicName = "t"
        let v1 = ClusterControl(image: harness.image).alterPartition(byName, version: 1)
        #expect(Self.answer(v1).errorCode == ErrorCode.operationNotAttempted.rawValue)

        harness.heartbeat(3)
        let accepted = ClusterControl(image: harness.image).alterPartition(
            Self.request(harness, isr: [1, 2, 3]), version: 3)
        #expect(Self.answer(accepted).errorCode == 0)
        harness.commit(accepted.records)
        #expect(harness.partition("t", 0).inSyncReplicas == [1, 2, 3])
    }

    @Test func versionsBeforeTwoNameTopicsAndTheIsrWithoutEpochs() {
        var harness = Self.cluster()
        let partition = harness.partition("t", 0)
        let request = AlterPartitionRequest(
            brokerID: 1, brokerEpoch: harness.image.brokerRegistrations[1]!.epoch,
            topics: [
                AlterPartitionRequest.TopicData(
                    topicName: "t",
                    partitions: [
                        AlterPartitionRequest.PartitionData(
                            partitionIndex: 0, leaderEpoch: partition.leaderEpoch, newIsr: [1, 3],
                            partitionEpoch: partition.partitionEpoch)
                    ])
            ])
        let result = ClusterControl(image: harness.image).alterPartition(request, version: 1)
        #expect(result.response.topics[0].topicName == "t")
        #expect(Self.answer(result).errorCode == 0 && Self.answer(result).isr == [1, 3])
        harness.commit(result.records)
        #expect(harness.partition("t", 0).inSyncReplicas == [1, 3])
    }
}
