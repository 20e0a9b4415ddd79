import FjordController
import FjordTestSupport
import KafkaProtocol
import Testing

@Suite struct ReplicaPlacementTests {
    /// A random cluster: 1–12 brokers with ids from 1–40, on 0–4 racks (0: no rack at all; some brokers may
    /// still lack one), some fenced, some in controlled shutdown.
    private static func randomCluster(_ random: inout SeededGenerator) -> ControllerHarness {
        var harness = ControllerHarness()
        let brokers = 1 + random.next(below: 12)
        let racks = random.next(below: 5)
        var ids = Set<Int32>()
        while ids.count < brokers { ids.insert(Int32(1 + random.next(below: 40))) }
        for id in ids.sorted() {
            let rack: String? = racks == 0 || random.next(below: 10) == 0 ? nil : "rack-\(random.next(below: racks))"
            harness.startBroker(id, rack: rack)
            switch random.next(below: 6) {
            case 0: harness.heartbeat(id, wantFence: true)
            case 1:
                // A broker must lead something to stay in controlled shutdown.
                harness.createTopic("led-by-\(id)", assignments: [[id]])
                harness.heartbeat(id, wantShutDown: true)
            default: break
            }
        }
        return harness
    }

    @Test func everyPartitionGetsDistinctActiveBrokersRacksSpreadAndBalancedLeaders() {
        // Flow:
        // 1. For 300 random clusters (seeded; PLACEMENT_SEED=n replays) create a topic of 1–40 partitions with
        //    replication factor 1–4 and a random placement seed.
        // 2. With fewer active brokers than the factor: INVALID_REPLICATION_FACTOR with Kafka's message, and no
        //    record.
        // 3. Otherwise, after replay, every partition has `factor` distinct active brokers, leader first and all in
        //    the ISR; it spans min(factor, racks of the active brokers) racks; and leader counts over the active
        //    brokers differ by at most one.
        var random = SeededGenerator(seed: SeededGenerator.seed(from: "PLACEMENT_SEED", test: "placement"))
        for round in 0..<300 {
            var harness = Self.randomCluster(&random)
            let partitions = Int32(1 + random.next(below: 40))
            let factor = Int16(1 + random.next(below: 4))
            let active = harness.image.brokerRegistrations.values.filter(\.isActive)
            let records = harness.log.count
            let created = harness.createTopic(
                "t", partitions: partitions, replicationFactor: factor, seed: random.next())
            guard active.count >= Int(factor) else {
                let why =
                    active.isEmpty
                    ? "All brokers are currently fenced."
                    : "The target replication factor of \(factor) cannot be reached because only \(active.count) "
                        + "broker(s) are registered."
                #expect(
                    created.result
                        == ItemResult(
                            .invalidReplicationFactor, "Unable to replicate the partition \(factor) time(s): \(why)"),
                    "round \(round)")
                #expect(harness.log.count == records)
                continue
            }
            #expect(created.result == .ok, "round \(round)")
            let rackOf = Dictionary(uniqueKeysWithValues: active.map { ($0.id, $0.rack) })
            let rackCount = Set(active.map(\.rack)).count
            var leaders = Dictionary(uniqueKeysWithValues: active.map { ($0.id, 0) })
            for partition in harness.image.topic(named: "t")!.partitions {
                #expect(partition.replicas.count == Int(factor), "round \(round)")
                #expect(Set(partition.replicas).count == Int(factor), "round \(round): \(partition.replicas)")
                #expect(partition.replicas.allSatisfy { rackOf[$0] != nil }, "round \(round): inactive replica")
                #expect(partition.leader == partition.replicas[0] && partition.inSyncReplicas == partition.replicas)
                let racks = Set(partition.replicas.map { rackOf[$0] ?? nil }).count
                #expect(racks == min(Int(factor), rackCount), "round \(round): \(partition.replicas) racks \(racks)")
                leaders[partition.leader, default: 0] += 1
            }
            #expect(leaders.values.max()! - leaders.values.min()! <= 1, "round \(round): leaders \(leaders)")
        }
    }

    @Test func theSeedChoosesWhereLeadershipStartsAndTheSameSeedPlacesTheSame() {
        // Flow:
        // 1. Six brokers on three racks.
        // 2. The same seed places a topic identically twice (pure).
        // 3. Single-partition topics over many seeds start on every broker (the start is random, not broker 1).
        let candidates = (1...6).map { ReplicaPlacer.Candidate(id: Int32($0), rack: "r\($0 % 3)") }
        let once = ReplicaPlacer(candidates: candidates, seed: 42).place(count: 12, replicationFactor: 3)
        #expect(once == ReplicaPlacer(candidates: candidates, seed: 42).place(count: 12, replicationFactor: 3))
        var random = SeededGenerator(seed: 7)
        let firstLeaders = Set(
            (0..<200).map { _ in
                ReplicaPlacer(candidates: candidates, seed: random.next()).place(count: 1, replicationFactor: 1)[0][0]
            })
        #expect(firstLeaders == Set(1...6))
    }

    @Test func addedPartitionsArePlacedOnActiveBrokersWithTheTopicsFactor() {
        // Flow:
        // 1. Brokers 1–4 on two racks; a topic of 2 partitions with replication factor 2.
        // 2. Broker 4 is fenced; the topic grows to 10 partitions.
        // 3. The 8 new partitions have 2 replicas on 2 racks, none on broker 4, leaders within one of each other.
        var harness = ControllerHarness()
        for id: Int32 in 1...4 { harness.startBroker(id, rack: id % 2 == 0 ? "even" : "odd") }
        harness.createTopic("t", partitions: 2, replicationFactor: 2, seed: 3)
        harness.heartbeat(4, wantFence: true)
        let grown = TopicCommands(
            image: harness.image, defaults: .init(partitionCount: 1, replicationFactor: 1), placementSeed: 11
        )
        .createPartitions([("t", 10, nil)])
        #expect(grown.response.map(\.result) == [.ok])
        harness.commit(grown.records)
        let added = harness.image.topic(named: "t")!.partitions.dropFirst(2)
        #expect(added.count == 8)
        var leaders = [Int32: Int]()
        for partition in added {
            #expect(partition.replicas.count == 2 && !partition.replicas.contains(4))
            #expect(Set(partition.replicas.map { $0 % 2 }).count == 2, "\(partition.replicas) share a rack")
            leaders[partition.leader, default: 0] += 1
        }
        #expect(Set(leaders.keys) == [1, 2, 3])
        #expect(leaders.values.max()! - leaders.values.min()! <= 1)
    }

    @Test func manualAssignmentsAreCheckedAgainstRegisteredAndActiveBrokers() {
        // Flow:
        // 1. Brokers 1, 2 active, 3 fenced.
        // 2. An unknown broker, a broker named twice, inconsistent replica counts, or only fenced brokers are
        //    INVALID_REPLICA_ASSIGNMENT with Kafka's messages.
        // 3. [3, 1] is accepted: the fenced replica stays assigned but out of the ISR, and 1 leads.
        var harness = ControllerHarness()
        for id: Int32 in 1...3 { harness.startBroker(id) }
        harness.heartbeat(3, wantFence: true)
        let commands = TopicCommands(image: harness.image, defaults: .init(partitionCount: 1, replicationFactor: 1))
        let cases: [([Int32: [Int32]], String)] = [
            ([0: [7]], "The manual partition assignment includes broker 7, but no such broker is registered."),
            ([0: [2, 1, 2]], "The manual partition assignment includes the broker 2 more than once."),
            (
                [0: [1], 1: [1, 2]],
                "The manual partition assignment includes a partition with 2 replica(s), but this is not consistent "
                    + "with previous partitions, which have 1 replica(s)."
            ),
            (
                [0: [3]],
                "All brokers specified in the manual partition assignment for partition 0 are fenced or in "
                    + "controlled shutdown."
            ),
            ([1: [1]], "partitions should be a consecutive 0-based integer sequence"),
        ]
        for (assignments, message) in cases {
            let result = commands.createTopics([.init(name: "m", assignments: assignments)]) { .zero }
            #expect(result.response[0].result == ItemResult(.invalidReplicaAssignment, message))
            #expect(result.records.isEmpty)
        }
        harness.createTopic("m", assignments: [[3, 1]])
        #expect(harness.partition("m", 0).replicas == [3, 1])
        #expect(harness.partition("m", 0).inSyncReplicas == [1])
        #expect(harness.partition("m", 0).leader == 1)
    }

    @Test func aSingleNodeFromConfigurationPlacesEverythingOnItself() {
        // Flow:
        // 1. The single node's image: one broker from configuration, no registration record.
        // 2. It is listed to clients and placement uses it: 3 partitions, all on broker 1.
        // 3. Replication factor 2 is refused with Kafka's message naming 1 broker.
        // 4. A replayed RegisterBrokerRecord for the same id replaces the configured registration.
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [.init(nodeID: 1, host: "h", port: 9092)])
        #expect(image.brokers == [.init(nodeID: 1, host: "h", port: 9092)])
        let commands = TopicCommands(image: image, defaults: .init(partitionCount: 3, replicationFactor: 1))
        let created = commands.createTopics([.init(name: "t")]) { KafkaUUID(high: 1, low: 1) }
        for record in created.records { image.replay(record) }
        #expect(image.topic(named: "t")!.partitions.map(\.replicas) == [[1], [1], [1]])
        let refused = commands.createTopics([.init(name: "u", replicationFactor: 2)]) { .zero }
        #expect(
            refused.response[0].result.message
                == "Unable to replicate the partition 2 time(s): The target replication factor of 2 cannot be reached "
                + "because only 1 broker(s) are registered.")
        image.brokers[0].port = 19092
        #expect(image.brokers.map(\.port) == [19092])
        image.replay(
            .registerBroker(
                RegisterBrokerRecord(
                    brokerID: 1, incarnationID: KafkaUUID(high: 3, low: 3), brokerEpoch: 40,
                    endPoints: [.init(name: "PLAINTEXT", host: "n", port: 9092, securityProtocol: 0)], fenced: true)),
            offset: 40)
        #expect(image.brokers.isEmpty)
        #expect(image.brokerRegistrations[1]?.epoch == 40)
    }
}
