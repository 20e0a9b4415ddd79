import FjordController
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// The coordinators follow the leadership of their internal partitions: when the image moves a partition's
/// leadership to another broker its groups or transactional ids are unloaded (NOT_COORDINATOR, waiting requests
/// answered), and when it comes back with a newer leader epoch they are loaded again from the log.
@Suite struct CoordinatorLeadershipTests {
    private typealias H = BrokerHarness

    /// Registers broker 2, as its replayed registration would.
    static func registerBrokerTwo(_ broker: BrokerHarness) {
        broker.services.metadata.updateImage { image in
            image.replay(
                .registerBroker(
                    RegisterBrokerRecord(
                        brokerID: 2, incarnationID: KafkaUUID(high: 2, low: 2), brokerEpoch: 100,
                        endPoints: [.init(name: "PLAINTEXT", host: "127.0.0.1", port: 9002)], fenced: false)),
                offset: image.lastAppliedOffset + 1)
        }
    }

    /// Moves the leadership of `topic`-`partition` to `leader` (its leader epoch bumped), as a replayed
    /// PartitionChangeRecord does, and applies the image to the replicas as the metadata path does.
    static func moveLeader(_ broker: BrokerHarness, _ topic: String, _ partition: Int32, to leader: Int32) throws {
        let image = broker.services.metadata.updateImage { image in
            guard let topicID = image.topic(named: topic)?.topicID else { return }
            image.replay(
                .partitionChange(PartitionChangeRecord(partitionID: partition, topicID: topicID, leader: leader)),
                offset: image.lastAppliedOffset + 1)
        }
        try broker.services.replicas.apply(image)
    }

    private func findCoordinator(_ broker: BrokerHarness, _ key: String, keyType: Int8 = 0) async throws
        -> FindCoordinatorResponse
    {
        try await broker.call(
            FindCoordinatorHandler(services: broker.services), FindCoordinatorRequest(key: key, keyType: keyType),
            version: 3)
    }

    private func join(_ broker: BrokerHarness, group: String, member: String) throws -> EventLoopFuture<ResponseBody?> {
        try broker.start(
            JoinGroupHandler(services: broker.services),
            JoinGroupRequest(
                groupID: group, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 60_000, memberID: member,
                protocolType: "consumer", protocols: [.init(name: "range", metadata: ByteBuffer(string: "s"))]),
            version: 9)
    }

    private func joinAnswer(_ broker: BrokerHarness, _ future: EventLoopFuture<ResponseBody?>) async throws
        -> JoinGroupResponse
    {
        let body = try await broker.wait(future, within: .seconds(30), "JoinGroup")
        return try H.decode(try #require(body), as: JoinGroupResponse.self, version: 9)
    }

    /// OffsetFetch v7 of one partition: (group error, partition error, offset).
    private func fetchOffset(_ broker: BrokerHarness, group: String) async throws -> (Int16, Int16?, Int64?) {
        let response = try await broker.call(
            OffsetFetchHandler(services: broker.services),
            OffsetFetchRequest(groupID: group, topics: [.init(name: "orders", partitionIndexes: [0])]), version: 7)
        let partition = response.topics.first?.partitions.first
        return (response.errorCode, partition?.errorCode, partition?.committedOffset)
    }

    @Test func groupsAreUnloadedWhenTheirPartitionMovesAwayAndLoadedWhenItComesBack() async throws {
        // Flow: 1. member A forms group "g" and commits orders-0 at 42; 2. member B's JoinGroup waits for A to
        // rejoin; 3. the image moves "g"'s __consumer_offsets partition to broker 2: B's waiting join is answered
        // NOT_COORDINATOR, A's heartbeat gets NOT_COORDINATOR, FindCoordinator names broker 2 and the group is gone
        // from this node; 4. the partition comes back (a newer leader epoch): the log is replayed, the offset is 42
        // again and the group is Stable with A, as it was written.
        try await H.withBroker { broker in
            #expect(try await findCoordinator(broker, "g").nodeID == 1)
            _ = try await broker.createTopic("orders")
            // Registered once the topics are placed (placement would use it too).
            Self.registerBrokerTwo(broker)
            let groups = broker.services.groups
            let partition = try #require(groups.partition(for: "g"))

            let first = try await joinAnswer(broker, try join(broker, group: "g", member: ""))
            #expect(first.errorCode == ErrorCode.memberIDRequired.rawValue)
            let memberA = first.memberID
            let joinedA = try await joinAnswer(broker, try join(broker, group: "g", member: memberA))
            #expect(joinedA.errorCode == 0)
            let synced = try await broker.call(
                SyncGroupHandler(services: broker.services),
                SyncGroupRequest(
                    groupID: "g", generationID: joinedA.generationID, memberID: memberA, protocolType: "consumer",
                    protocolName: "range", assignments: [.init(memberID: memberA, assignment: ByteBuffer(string: "A"))]),
                version: 5)
            #expect(synced.errorCode == 0)
            let commit = try await broker.call(
                OffsetCommitHandler(services: broker.services),
                OffsetCommitRequest(
                    groupID: "g", generationIDOrMemberEpoch: joinedA.generationID, memberID: memberA,
                    topics: [.init(name: "orders", partitions: [.init(partitionIndex: 0, committedOffset: 42)])]),
                version: 8)
            #expect(commit.topics.first?.partitions.first?.errorCode == 0)

            let secondB = try await joinAnswer(broker, try join(broker, group: "g", member: ""))
            let waitingB = try join(broker, group: "g", member: secondB.memberID)

            try Self.moveLeader(broker, GroupCoordinator.topicName, partition, to: 2)
            let answerB = try await joinAnswer(broker, waitingB)
            #expect(answerB.errorCode == ErrorCode.notCoordinator.rawValue)
            let heartbeat = try await broker.call(
                HeartbeatHandler(services: broker.services),
                HeartbeatRequest(groupID: "g", generationID: joinedA.generationID, memberID: memberA), version: 4)
            #expect(heartbeat.errorCode == ErrorCode.notCoordinator.rawValue)
            #expect(try await findCoordinator(broker, "g").nodeID == 2)
            try await broker.waitUntil("the group unloaded") {
                !groups.listGroups(statesFilter: [], typesFilter: []).contains { $0.groupID == "g" }
            }
            #expect(try await fetchOffset(broker, group: "g").0 == ErrorCode.notCoordinator.rawValue)

            try Self.moveLeader(broker, GroupCoordinator.topicName, partition, to: 1)
            #expect(try await findCoordinator(broker, "g").nodeID == 1)
            try await broker.waitUntil("the group loaded again") {
                try await fetchOffset(broker, group: "g").0 == 0
            }
            #expect(try await fetchOffset(broker, group: "g").2 == 42)
            let described = try await broker.call(
                DescribeGroupsHandler(services: broker.services), DescribeGroupsRequest(groups: ["g"]), version: 5)
            let group = try #require(described.groups.first)
            #expect(group.groupState == "Stable")
            #expect(group.members.map(\.memberID) == [memberA])
        }
    }

    @Test func transactionalIDsAreUnloadedAndLoadedWithTheirPartition() async throws {
        // Flow: 1. "tx" gets a producer id at epoch 0; 2. its __transaction_state partition moves to broker 2:
        // InitProducerId and FindCoordinator say NOT_COORDINATOR / broker 2; 3. it comes back: InitProducerId finds
        // the id loaded from the log — the same producer id, epoch 1.
        try await H.withBroker { broker in
            let producer = try await broker.initTransactions("tx")
            #expect(producer.epoch == 0)
            Self.registerBrokerTwo(broker)
            let partition = try #require(broker.services.transactions.internalTopic.partition(for: "tx"))

            try Self.moveLeader(broker, TransactionCoordinator.topicName, partition, to: 2)
            let refused = try await broker.call(
                InitProducerIDHandler(services: broker.services),
                InitProducerIDRequest(transactionalID: "tx", transactionTimeoutMs: 60_000), version: 4)
            #expect(refused.errorCode == ErrorCode.notCoordinator.rawValue)
            #expect(try await findCoordinator(broker, "tx", keyType: 1).nodeID == 2)

            try Self.moveLeader(broker, TransactionCoordinator.topicName, partition, to: 1)
            var again = InitProducerIDResponse()
            try await broker.waitUntil("the transactional id loaded again") {
                again = try await broker.call(
                    InitProducerIDHandler(services: broker.services),
                    InitProducerIDRequest(transactionalID: "tx", transactionTimeoutMs: 60_000), version: 4)
                return again.errorCode != ErrorCode.coordinatorLoadInProgress.rawValue
            }
            #expect(again.errorCode == 0)
            #expect(again.producerID == producer.producerID)
            #expect(again.producerEpoch == 1)
        }
    }
}
