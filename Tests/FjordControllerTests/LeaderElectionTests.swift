import FjordController
import KafkaProtocol
import Testing

/// Elections asked for (ElectLeaders, preferred and unclean), the controller's own balancing and unclean runs, and
/// `unclean.leader.election.enable` when a broker is fenced: who leads afterwards, the ISR, the leader recovery
/// state, and Kafka's error for each partition that cannot or need not be elected.
@Suite struct LeaderElectionTests {
    static let uncleanKey = "unclean.leader.election.enable"

    /// Brokers 1–3 unfenced; "t" partition 0 on [1, 2, 3] and partition 1 on [2, 3, 1].
    static func cluster() -> ControllerHarness {
        var harness = ControllerHarness()
        for id: Int32 in 1...3 { harness.startBroker(id) }
        harness.createTopic("t", assignments: [[1, 2, 3], [2, 3, 1]])
        return harness
    }

    static func request(_ type: ClusterControl.ElectionType, _ partitions: [String: [Int32]]?) -> ElectLeadersRequest {
        ElectLeadersRequest(
            electionType: type.rawValue,
            topicPartitions: partitions.map { named in
                named.sorted { $0.key < $1.key }.map {
                    ElectLeadersRequest.TopicPartitions(topic: $0.key, partitions: $0.value)
                }
            })
    }

    /// partition → error code, from an answer.
    static func codes(_ response: ElectLeadersResponse) -> [String: Int16] {
        var codes = [String: Int16]()
        for topic in response.replicaElectionResults {
            for partition in topic.partitionResult {
                codes["\(topic.topic)-\(partition.partitionID)"] = partition.errorCode
            }
        }
        return codes
    }

    /// The AlterPartition its leader would send to set `topic`-`index`'s ISR to `isr` (members at their registered
    /// epochs), at the partition's current epochs.
    static func alterISRRequest(
        _ harness: ControllerHarness, _ topic: String, _ isr: [Int32], partition index: Int32 = 0, recovery: Int8 = 0
    ) -> AlterPartitionRequest {
        let partition = harness.partition(topic, index)
        return AlterPartitionRequest(
            brokerID: partition.leader, brokerEpoch: harness.image.brokerRegistrations[partition.leader]!.epoch,
            topics: [
                AlterPartitionRequest.TopicData(
                    topicID: harness.image.topic(named: topic)!.topicID,
                    partitions: [
                        AlterPartitionRequest.PartitionData(
                            partitionIndex: index, leaderEpoch: partition.leaderEpoch, newIsr: isr,
                            newIsrWithEpochs: isr.map {
                                .init(brokerID: $0, brokerEpoch: harness.image.brokerRegistrations[$0]!.epoch)
                            },
                            leaderRecoveryState: recovery, partitionEpoch: partition.partitionEpoch)
                    ])
            ])
    }

    /// Sends and commits `alterISRRequest` (it must be accepted).
    static func alterISR(
        _ harness: inout ControllerHarness, _ topic: String, _ isr: [Int32], partition index: Int32 = 0
    ) {
        let result = ClusterControl(image: harness.image).alterPartition(
            alterISRRequest(harness, topic, isr, partition: index), version: 3)
        #expect(result.response.topics[0].partitions[0].errorCode == 0)
        harness.commit(result.records)
    }

    static func setTopicConfig(_ harness: inout ControllerHarness, _ topic: String, _ key: String, _ value: String) {
        harness.commit([
            .config(
                ConfigRecord(
                    resourceType: ConfigResourceType.topic.rawValue, resourceName: topic, name: key, value: value))
        ])
    }

    @Test func aPreferredElectionMovesLeadershipBackOnceThePreferredReplicaIsInTheISRAgain() {
        // Flow:
        // 1. Broker 1 is fenced: "t"-0 moves to 2 (ISR [2, 3]). A preferred election for it is refused
        //    PREFERRED_LEADER_NOT_AVAILABLE: broker 1 is fenced; unfenced it is still out of the ISR: refused again.
        // 2. The leader adds broker 1 back to the ISR (AlterPartition): now the election writes leader 1 and the
        //    partition is led by it (a new leader epoch); asked again: ELECTION_NOT_NEEDED, nothing written.
        // 3. "t"-1 was led by its preferred replica all along: ELECTION_NOT_NEEDED.
        var harness = Self.cluster()
        harness.heartbeat(1, wantFence: true)
        #expect(harness.partition("t", 0).leader == 2 && harness.partition("t", 0).inSyncReplicas == [2, 3])
        let refused = ClusterControl(image: harness.image).electLeaders(
            Self.request(.preferred, ["t": [0]]), version: 2)
        #expect(refused.records.isEmpty)
        #expect(Self.codes(refused.response) == ["t-0": ErrorCode.preferredLeaderNotAvailable.rawValue])
        harness.heartbeat(1)
        #expect(harness.image.isActive(1))
        let stillOut = ClusterControl(image: harness.image).electLeaders(
            Self.request(.preferred, ["t": [0]]), version: 2)
        #expect(Self.codes(stillOut.response) == ["t-0": ErrorCode.preferredLeaderNotAvailable.rawValue])

        Self.alterISR(&harness, "t", [2, 3, 1])
        let epochBefore = harness.partition("t", 0).leaderEpoch
        let elected = ClusterControl(image: harness.image).electLeaders(
            Self.request(.preferred, ["t": [0, 1]]), version: 2)
        #expect(
            Self.codes(elected.response) == ["t-0": 0, "t-1": ErrorCode.electionNotNeeded.rawValue])
        #expect(elected.records.count == 1)
        harness.commit(elected.records)
        #expect(harness.partition("t", 0).leader == 1)
        #expect(harness.partition("t", 0).leaderEpoch == epochBefore + 1)
        #expect(harness.partition("t", 0).inSyncReplicas == [2, 3, 1])
        let again = ClusterControl(image: harness.image).electLeaders(
            Self.request(.preferred, ["t": [0]]), version: 2)
        #expect(again.records.isEmpty)
        #expect(Self.codes(again.response) == ["t-0": ErrorCode.electionNotNeeded.rawValue])
    }

    @Test func everyPartitionAnswersOnlyThoseThatNeededAnElectionAndUnknownOnesAreNamed() {
        // Flow:
        // 1. "t"-0 led by 2 after broker 1 came back into its ISR; "t"-1 led by its preferred replica.
        // 2. A preferred election for every partition (null): the answer lists "t"-0 only (elected), no "t"-1.
        // 3. Named: an unknown topic and an unknown partition each get UNKNOWN_TOPIC_OR_PARTITION.
        // 4. An election type the protocol does not know: INVALID_REQUEST for the request, nothing written.
        var harness = Self.cluster()
        harness.heartbeat(1, wantFence: true)
        harness.heartbeat(1)
        Self.alterISR(&harness, "t", [2, 3, 1])
        let all = ClusterControl(image: harness.image).electLeaders(Self.request(.preferred, nil), version: 2)
        #expect(Self.codes(all.response) == ["t-0": 0])
        #expect(all.records.count == 1)

        let unknown = ClusterControl(image: harness.image).electLeaders(
            Self.request(.preferred, ["nope": [0], "t": [7]]), version: 2)
        #expect(
            Self.codes(unknown.response) == [
                "nope-0": ErrorCode.unknownTopicOrPartition.rawValue,
                "t-7": ErrorCode.unknownTopicOrPartition.rawValue,
            ])
        var strange = Self.request(.preferred, ["t": [0]])
        strange.electionType = 5
        let invalid = ClusterControl(image: harness.image).electLeaders(strange, version: 2)
        #expect(invalid.response.errorCode == ErrorCode.invalidRequest.rawValue && invalid.records.isEmpty)
    }

    @Test func balancingElectsPreferredLeadersWhereTheyCanLeadAndStopsAtItsLimit() {
        // Flow:
        // 1. Broker 2 fenced and back (ISR restored by the leaders): "t"-1 (preferred 2) is led by 3.
        //    Broker 1 fenced: "t"-0 (preferred 1; ISR [3] since broker 2 left it) is led by 3, and broker 1 stays
        //    fenced.
        // 2. A balancing run: "t"-1 goes back to 2; "t"-0 stays (its preferred replica is fenced).
        // 3. With a limit of 0 elections nothing is written even while something is imbalanced.
        var harness = Self.cluster()
        harness.heartbeat(2, wantFence: true)
        harness.heartbeat(2)
        #expect(harness.partition("t", 1).leader == 3)
        Self.alterISR(&harness, "t", [3, 1, 2], partition: 1)
        harness.heartbeat(1, wantFence: true)
        #expect(ClusterControl(image: harness.image).hasImbalancedLeaders)
        #expect(ClusterControl(image: harness.image).balanceLeaders(maxElections: 0).records.isEmpty)

        let run = ClusterControl(image: harness.image).balanceLeaders()
        #expect(run.response == 1)
        harness.commit(run.records)
        #expect(harness.partition("t", 1).leader == 2)
        #expect(harness.partition("t", 0).leader == 3)
        #expect(ClusterControl(image: harness.image).balanceLeaders().records.isEmpty)
    }

    /// "u" on [1, 2] led by 1 with ISR [1] (broker 2 fell out of it), then broker 1 fenced.
    static func uncleanScenario(topicConfig: String? = nil, uncleanDefault: Bool = false) -> ControllerHarness {
        var harness = ControllerHarness()
        for id: Int32 in 1...2 { harness.startBroker(id) }
        harness.createTopic("u", assignments: [[1, 2]])
        if let topicConfig { Self.setTopicConfig(&harness, "u", Self.uncleanKey, topicConfig) }
        Self.alterISR(&harness, "u", [1])
        let fence = BrokerHeartbeatRequest(
            brokerID: 1, brokerEpoch: harness.image.brokerRegistrations[1]!.epoch,
            currentMetadataOffset: harness.nextOffset - 1, wantFence: true)
        let result = ClusterControl(image: harness.image, uncleanLeaderElectionDefault: uncleanDefault).heartbeat(
            fence, nextOffset: harness.nextOffset, tracker: &harness.tracker, now: harness.now)
        harness.commit(result.records)
        return harness
    }

    @Test func withoutUncleanElectionsALeaderlessPartitionWaitsForItsISR() {
        // Broker 1, the whole ISR, is fenced: "u" has no leader and keeps ISR [1]; broker 2 is alive but out of
        // sync. A preferred election cannot help (PREFERRED_LEADER_NOT_AVAILABLE); the controller's unclean run
        // leaves the topic alone (its config is off).
        let harness = Self.uncleanScenario()
        #expect(harness.partition("u", 0).leader == -1 && harness.partition("u", 0).inSyncReplicas == [1])
        let preferred = ClusterControl(image: harness.image).electLeaders(
            Self.request(.preferred, ["u": [0]]), version: 2)
        #expect(Self.codes(preferred.response) == ["u-0": ErrorCode.preferredLeaderNotAvailable.rawValue])
        #expect(ClusterControl(image: harness.image).electUncleanLeaders().records.isEmpty)
        // A topic config of false wins over a static default of true.
        let overridden = Self.uncleanScenario(topicConfig: "false", uncleanDefault: true)
        #expect(overridden.partition("u", 0).leader == -1)
    }

    @Test func anExplicitUncleanElectionGivesTheLiveReplicaTheLeadershipAsRecovering() {
        // Flow:
        // 1. "u" leaderless (ISR [1], broker 1 fenced). An unclean election (whatever the topic config): leader 2,
        //    ISR [2], leader recovery state RECOVERING, a new leader epoch.
        // 2. Asked again: ELECTION_NOT_NEEDED (it has a leader).
        // 3. The new leader's AlterPartition saying RECOVERED with the same ISR ends RECOVERING (one record);
        //    a request going back to RECOVERING is refused INVALID_REQUEST.
        // 4. The recovery state survives a replay from scratch (a restarted controller, a broker).
        var harness = Self.uncleanScenario()
        let epochBefore = harness.partition("u", 0).leaderEpoch
        let result = ClusterControl(image: harness.image).electLeaders(Self.request(.unclean, ["u": [0]]), version: 2)
        #expect(Self.codes(result.response) == ["u-0": 0])
        harness.commit(result.records)
        var partition = harness.partition("u", 0)
        #expect(partition.leader == 2 && partition.inSyncReplicas == [2])
        #expect(partition.leaderRecoveryState == 1 && partition.leaderEpoch == epochBefore + 1)
        #expect(harness.replayedFromScratch().topic(named: "u")!.partitions[0].leaderRecoveryState == 1)
        let again = ClusterControl(image: harness.image).electLeaders(Self.request(.unclean, ["u": [0]]), version: 2)
        #expect(Self.codes(again.response) == ["u-0": ErrorCode.electionNotNeeded.rawValue])

        Self.alterISR(&harness, "u", [2])
        partition = harness.partition("u", 0)
        #expect(partition.leaderRecoveryState == 0 && partition.inSyncReplicas == [2])
        let back = Self.alterISRRequest(harness, "u", [2], recovery: 1)
        let refused = ClusterControl(image: harness.image).alterPartition(back, version: 3)
        #expect(refused.response.topics[0].partitions[0].errorCode == ErrorCode.invalidRequest.rawValue)
    }

    @Test func anUncleanTopicGetsAnOutOfSyncLeaderWhenItsLastISRMemberIsFenced() {
        // With unclean.leader.election.enable on the topic, or as this controller's static default, fencing the
        // last ISR member elects broker 2 at once (ISR [2], RECOVERING); no ElectLeaders needed.
        for (config, byDefault) in [("true", false), (nil, true)] as [(String?, Bool)] {
            let harness = Self.uncleanScenario(topicConfig: config, uncleanDefault: byDefault)
            let partition = harness.partition("u", 0)
            #expect(partition.leader == 2 && partition.inSyncReplicas == [2], "\(String(describing: config))")
            #expect(partition.leaderRecoveryState == 1)
        }
    }

    @Test func theUncleanRunElectsForTopicsThatTurnedUncleanElectionOnAfterLosingTheirLeader() {
        // "u" lost its leader while unclean elections were off; the topic then turns them on (a dynamic config):
        // the controller's next unclean run elects broker 2; a second topic without the config stays leaderless.
        var harness = Self.uncleanScenario()
        harness.createTopic("v", assignments: [[1, 2]])
        #expect(harness.partition("v", 0).leader == 2)  // created while 1 is fenced: 2 leads, ISR [2]
        Self.setTopicConfig(&harness, "u", Self.uncleanKey, "true")
        let run = ClusterControl(image: harness.image).electUncleanLeaders()
        #expect(run.response == 1)
        harness.commit(run.records)
        #expect(harness.partition("u", 0).leader == 2 && harness.partition("u", 0).leaderRecoveryState == 1)
        #expect(ClusterControl(image: harness.image).electUncleanLeaders().records.isEmpty)
    }
}
