import FjordController
import KafkaProtocol
import NIOCore
import Testing

@testable import FjordBroker

/// The classic consumer group APIs through their handlers on a real broker (`__consumer_offsets` created by
/// FindCoordinator, commits appended to it): FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
/// OffsetCommit and OffsetFetch — the flows a consumer runs and the errors that steer it.
@Suite struct GroupHandlerTests {
    private typealias H = BrokerHarness
    static let sessionTimeoutMs: Int32 = 30_000

    // MARK: Calls

    private func findCoordinator(_ broker: BrokerHarness, _ key: String = "g", keyType: Int8 = 0, version: Int16 = 3)
        async throws -> FindCoordinatorResponse
    {
        try await broker.call(
            FindCoordinatorHandler(services: broker.services), FindCoordinatorRequest(key: key, keyType: keyType),
            version: version)
    }

    private func joinRequest(
        _ group: String, member: String = "", protocolType: String = "consumer", metadata: String = "subscription"
    ) -> JoinGroupRequest {
        JoinGroupRequest(
            groupID: group, sessionTimeoutMs: Self.sessionTimeoutMs, rebalanceTimeoutMs: 60_000, memberID: member,
            protocolType: protocolType, protocols: [.init(name: "range", metadata: ByteBuffer(string: metadata))]
        )
    }

    private func startJoin(_ broker: BrokerHarness, _ request: JoinGroupRequest, version: Int16 = 9) throws
        -> EventLoopFuture<ResponseBody?>
    {
        try broker.start(JoinGroupHandler(services: broker.services), request, version: version)
    }

    private func answer<Response: KafkaVersionedMessage>(
        _ broker: BrokerHarness, _ future: EventLoopFuture<ResponseBody?>, as type: Response.Type, version: Int16
    ) async throws -> Response {
        let body = try await broker.wait(future, within: .seconds(30), "\(Response.self)")
        return try H.decode(try #require(body), as: type, version: version)
    }

    /// JoinGroup as a new member: the MEMBER_ID_REQUIRED round (v4+), then the join that waits for the rebalance.
    private func startNewMember(_ broker: BrokerHarness, group: String, metadata: String = "subscription") async throws
        -> (memberID: String, join: EventLoopFuture<ResponseBody?>)
    {
        let first = try await broker.call(
            JoinGroupHandler(services: broker.services), joinRequest(group, metadata: metadata), version: 9)
        #expect(first.errorCode == ErrorCode.memberIDRequired.rawValue)
        #expect(first.memberID.hasPrefix("harness-"))
        return (first.memberID, try startJoin(broker, joinRequest(group, member: first.memberID, metadata: metadata)))
    }

    private func sync(
        _ broker: BrokerHarness, group: String, generation: Int32, member: String, assignments: [String: String] = [:]
    ) throws -> EventLoopFuture<ResponseBody?> {
        try broker.start(
            SyncGroupHandler(services: broker.services),
            SyncGroupRequest(
                groupID: group, generationID: generation, memberID: member, protocolType: "consumer",
                protocolName: "range",
                assignments: assignments.sorted { $0.key < $1.key }.map {
                    .init(memberID: $0.key, assignment: ByteBuffer(string: $0.value))
                }
            ), version: 5)
    }

    private func heartbeat(_ broker: BrokerHarness, group: String, generation: Int32, member: String) async throws
        -> Int16
    {
        try await broker.call(
            HeartbeatHandler(services: broker.services),
            HeartbeatRequest(groupID: group, generationID: generation, memberID: member), version: 4
        ).errorCode
    }

    private func commit(
        _ broker: BrokerHarness, group: String, generation: Int32 = -1, member: String = "", topic: String = "orders",
        _ offsets: [Int32: Int64], metadata: String? = "m", version: Int16 = 8
    ) async throws -> [Int16] {
        let request = OffsetCommitRequest(
            groupID: group, generationIDOrMemberEpoch: generation, memberID: member,
            topics: [
                .init(
                    name: topic,
                    partitions: offsets.sorted { $0.key < $1.key }.map {
                        .init(
                            partitionIndex: $0.key, committedOffset: $0.value, committedLeaderEpoch: 0,
                            committedMetadata: metadata)
                    })
            ]
        )
        let response = try await broker.call(OffsetCommitHandler(services: broker.services), request, version: version)
        return response.topics.flatMap(\.partitions).map(\.errorCode)
    }

    /// OffsetFetch v7 (one group): (error, [partition: (offset, metadata)]).
    private func fetchOffsets(_ broker: BrokerHarness, group: String, topic: String = "orders", _ partitions: [Int32]?)
        async throws -> (Int16, [Int32: (Int64, String?)])
    {
        let request = OffsetFetchRequest(
            groupID: group, topics: partitions.map { [.init(name: topic, partitionIndexes: $0)] })
        let response = try await broker.call(OffsetFetchHandler(services: broker.services), request, version: 7)
        var offsets = [Int32: (Int64, String?)]()
        for partition in response.topics.flatMap(\.partitions) {
            #expect(partition.errorCode == 0)
            offsets[partition.partitionIndex] = (partition.committedOffset, partition.metadata)
        }
        return (response.errorCode, offsets)
    }

    private func leave(_ broker: BrokerHarness, group: String, members: [String]) async throws -> [Int16] {
        let response = try await broker.call(
            LeaveGroupHandler(services: broker.services),
            LeaveGroupRequest(
                groupID: group, members: members.map { .init(memberID: $0) }
            ), version: 5)
        #expect(response.errorCode == 0)
        return response.members.map(\.errorCode)
    }

    // MARK: Tests

    /// Flow: the first group lookup creates `__consumer_offsets` (offsets.topic.num.partitions partitions) and names
    /// this broker, as one key (v0-v3) or batched keys (v4+); an empty group id is INVALID_REQUEST; a transactional id
    /// (key type 1) creates `__transaction_state`; an unknown key type is INVALID_REQUEST.
    @Test(arguments: [Int16(0), 2, 3, 4, 6])
    func findCoordinator(version: Int16) async throws {
        try await H.withBroker { broker in
            if version >= 4 {
                let request = FindCoordinatorRequest(keyType: 0, coordinatorKeys: ["g1", "", "g2"])
                let response = try await broker.call(
                    FindCoordinatorHandler(services: broker.services), request, version: version)
                #expect(response.coordinators.map(\.key) == ["g1", "", "g2"])
                #expect(response.coordinators.map(\.errorCode) == [0, ErrorCode.invalidRequest.rawValue, 0])
                #expect(response.coordinators.map(\.nodeID) == [1, -1, 1])
                #expect(response.coordinators[0].host == "127.0.0.1")
                #expect(response.coordinators[0].port == 9092)
            } else {
                let response = try await findCoordinator(broker, "g1", version: version)
                #expect(response.errorCode == 0)
                #expect([response.nodeID, response.port] == [1, 9092])
                #expect(response.host == "127.0.0.1")
            }
            let offsets = try #require(broker.image.topic(named: "__consumer_offsets"))
            #expect(offsets.partitions.count == 3)
            #expect(offsets.isInternal)
            #expect(offsets.configs["cleanup.policy"] == "compact")

            if version >= 1 {
                let transactional = FindCoordinatorRequest(key: "tx", keyType: 1, coordinatorKeys: ["tx"])
                let response = try await broker.call(
                    FindCoordinatorHandler(services: broker.services), transactional, version: version)
                #expect((version >= 4 ? response.coordinators.first?.errorCode : response.errorCode) == 0)
                #expect(broker.image.topic(named: "__transaction_state")?.partitions.count == 3)
                let unknownType = FindCoordinatorRequest(key: "x", keyType: 5, coordinatorKeys: ["x"])
                let refused = try await broker.call(
                    FindCoordinatorHandler(services: broker.services), unknownType, version: version)
                #expect(
                    (version >= 4 ? refused.coordinators.first?.errorCode : refused.errorCode)
                        == ErrorCode.invalidRequest.rawValue)
            }
        }
    }

    /// Flow, one consumer: 1. before `__consumer_offsets` exists JoinGroup is COORDINATOR_NOT_AVAILABLE; 2. after
    /// FindCoordinator: MEMBER_ID_REQUIRED with a member id, then the join completes generation 1 with this member
    /// as leader and its metadata; 3. SyncGroup hands back the leader's assignment; 4. Heartbeat is NONE,
    /// ILLEGAL_GENERATION with a wrong generation, UNKNOWN_MEMBER_ID for a stranger; 5. OffsetCommit with the
    /// generation stores offsets and metadata (ILLEGAL_GENERATION with a wrong one, UNKNOWN_TOPIC_OR_PARTITION for a
    /// partition that does not exist); OffsetFetch returns them, -1 where nothing was committed, for the listed
    /// partitions or all of them (null topics), at v7 and batched at v8; 6. LeaveGroup removes the member (its
    /// heartbeat is then UNKNOWN_MEMBER_ID) and the committed offsets stay.
    @Test func oneConsumerJoinsSyncsCommitsAndLeaves() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("orders", partitions: 2)
            let early = try await broker.call(JoinGroupHandler(services: broker.services), joinRequest("g"), version: 9)
            #expect(early.errorCode == ErrorCode.coordinatorNotAvailable.rawValue)

            #expect(try await findCoordinator(broker, "g").errorCode == 0)
            let (member, pending) = try await startNewMember(broker, group: "g", metadata: "sub-A")
            let joined = try await answer(broker, pending, as: JoinGroupResponse.self, version: 9)
            #expect(joined.errorCode == 0)
            #expect(joined.generationID == 1)
            #expect(joined.memberID == member)
            #expect(joined.leader == member)
            #expect(joined.protocolType == "consumer")
            #expect(joined.protocolName == "range")
            #expect(joined.members.map(\.memberID) == [member])
            #expect(joined.members.first.map { String(buffer: $0.metadata) } == "sub-A")

            let synced = try await answer(
                broker,
                try sync(broker, group: "g", generation: 1, member: member, assignments: [member: "orders-0,1"]),
                as: SyncGroupResponse.self, version: 5)
            #expect(synced.errorCode == 0)
            #expect(String(buffer: synced.assignment) == "orders-0,1")

            #expect(try await heartbeat(broker, group: "g", generation: 1, member: member) == 0)
            #expect(
                try await heartbeat(broker, group: "g", generation: 2, member: member)
                    == ErrorCode.illegalGeneration.rawValue)
            #expect(
                try await heartbeat(broker, group: "g", generation: 1, member: "stranger")
                    == ErrorCode.unknownMemberID.rawValue)

            #expect(try await commit(broker, group: "g", generation: 1, member: member, [0: 5]) == [0])
            #expect(
                try await commit(broker, group: "g", generation: 0, member: member, [1: 9]) == [
                    ErrorCode.illegalGeneration.rawValue
                ])
            #expect(
                try await commit(broker, group: "g", generation: 1, member: member, topic: "nope", [0: 1]) == [
                    ErrorCode.unknownTopicOrPartition.rawValue
                ])
            #expect(
                try await commit(broker, group: "g", generation: 1, member: member, [7: 1]) == [
                    ErrorCode.unknownTopicOrPartition.rawValue
                ])

            let (error, listed) = try await fetchOffsets(broker, group: "g", [0, 1])
            #expect(error == 0)
            #expect(listed[0]?.0 == 5)
            #expect(listed[0]?.1 == "m")
            #expect(listed[1]?.0 == -1)
            let (_, all) = try await fetchOffsets(broker, group: "g", nil)
            #expect(all.keys.sorted() == [0])
            #expect(all[0]?.0 == 5)

            let batched = try await broker.call(
                OffsetFetchHandler(services: broker.services),
                OffsetFetchRequest(groups: [
                    .init(groupID: "g", topics: [.init(name: "orders", partitionIndexes: [0])]),
                    .init(groupID: "unknown-group", topics: nil),
                ]), version: 8)
            #expect(batched.groups.map(\.groupID) == ["g", "unknown-group"])
            #expect(batched.groups.map(\.errorCode) == [0, 0])
            #expect(batched.groups[0].topics.first?.partitions.first?.committedOffset == 5)
            #expect(batched.groups[0].topics.first?.partitions.first?.committedLeaderEpoch == 0)
            #expect(batched.groups[1].topics.isEmpty)

            #expect(
                try await leave(broker, group: "g", members: [member, "stranger"]) == [
                    0, ErrorCode.unknownMemberID.rawValue,
                ])
            #expect(
                try await heartbeat(broker, group: "g", generation: 1, member: member)
                    == ErrorCode.unknownMemberID.rawValue)
            #expect(try await fetchOffsets(broker, group: "g", [0]).1[0]?.0 == 5)
        }
    }

    /// Flow, two consumers: A is alone and stable in generation 1. B joins and waits; A's heartbeat says
    /// REBALANCE_IN_PROGRESS and A rejoins; both joins complete generation 2 with A still leader, A seeing both
    /// members and B none. B's SyncGroup waits for the leader's; A's assignments answer both. A commit with the old
    /// generation is ILLEGAL_GENERATION. B leaves: A is told to rejoin and forms generation 3 alone.
    @Test func aSecondConsumerTriggersARebalance() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("orders", partitions: 2)
            #expect(try await findCoordinator(broker, "g").errorCode == 0)
            let (a, joinA) = try await startNewMember(broker, group: "g", metadata: "sub-A")
            #expect(try await answer(broker, joinA, as: JoinGroupResponse.self, version: 9).generationID == 1)
            #expect(
                try await answer(
                    broker, try sync(broker, group: "g", generation: 1, member: a, assignments: [a: "0,1"]),
                    as: SyncGroupResponse.self, version: 5
                ).errorCode == 0)

            let (b, joinB) = try await startNewMember(broker, group: "g", metadata: "sub-B")
            try await broker.waitUntil("A is asked to rejoin") {
                let code = try await heartbeat(broker, group: "g", generation: 1, member: a)
                return code == ErrorCode.rebalanceInProgress.rawValue
            }
            let rejoinA = try startJoin(broker, joinRequest("g", member: a, metadata: "sub-A"))
            let joinedA = try await answer(broker, rejoinA, as: JoinGroupResponse.self, version: 9)
            let joinedB = try await answer(broker, joinB, as: JoinGroupResponse.self, version: 9)
            #expect([joinedA.errorCode, joinedB.errorCode] == [0, 0])
            #expect([joinedA.generationID, joinedB.generationID] == [2, 2])
            #expect([joinedA.leader, joinedB.leader] == [a, a])
            #expect(Set(joinedA.members.map(\.memberID)) == [a, b])
            #expect(joinedB.members.isEmpty)

            let syncB = try sync(broker, group: "g", generation: 2, member: b)
            let syncA = try sync(broker, group: "g", generation: 2, member: a, assignments: [a: "0", b: "1"])
            #expect(
                String(buffer: try await answer(broker, syncA, as: SyncGroupResponse.self, version: 5).assignment)
                    == "0")
            #expect(
                String(buffer: try await answer(broker, syncB, as: SyncGroupResponse.self, version: 5).assignment)
                    == "1")
            #expect(
                try await commit(broker, group: "g", generation: 1, member: a, [0: 1]) == [
                    ErrorCode.illegalGeneration.rawValue
                ])
            #expect(try await commit(broker, group: "g", generation: 2, member: b, [1: 4]) == [0])

            #expect(try await leave(broker, group: "g", members: [b]) == [0])
            #expect(
                try await heartbeat(broker, group: "g", generation: 2, member: a)
                    == ErrorCode.rebalanceInProgress.rawValue)
            let alone = try await answer(
                broker, try startJoin(broker, joinRequest("g", member: a, metadata: "sub-A")),
                as: JoinGroupResponse.self, version: 9)
            #expect(alone.generationID == 3)
            #expect(alone.members.map(\.memberID) == [a])
            #expect(
                try await answer(
                    broker, try sync(broker, group: "g", generation: 3, member: a, assignments: [a: "0,1"]),
                    as: SyncGroupResponse.self, version: 5
                ).errorCode == 0)
            #expect(try await leave(broker, group: "g", members: [a]) == [0])
        }
    }

    /// Flow: what refuses a join or a commit — an empty group id (INVALID_GROUP_ID), a session timeout outside the
    /// broker's bounds (INVALID_SESSION_TIMEOUT), a member id the group does not know (UNKNOWN_MEMBER_ID), another
    /// protocol type than the group's (INCONSISTENT_GROUP_PROTOCOL), SyncGroup from a stranger (UNKNOWN_MEMBER_ID), a
    /// member's commit between its join and its sync (REBALANCE_IN_PROGRESS);
    /// "simple" commits (no generation, no member) are accepted while the group has no members and refused with
    /// UNKNOWN_MEMBER_ID once it has; an empty group id is INVALID_GROUP_ID for commits too.
    @Test func joinAndCommitErrors() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("orders", partitions: 1)
            #expect(try await findCoordinator(broker, "g").errorCode == 0)
            let join = JoinGroupHandler(services: broker.services)
            #expect(
                try await broker.call(join, joinRequest(""), version: 9).errorCode == ErrorCode.invalidGroupID.rawValue)
            var short = joinRequest("g")
            short.sessionTimeoutMs = 1_000
            #expect(
                try await broker.call(join, short, version: 9).errorCode == ErrorCode.invalidSessionTimeout.rawValue)
            #expect(
                try await broker.call(join, joinRequest("g", member: "made-up"), version: 9).errorCode
                    == ErrorCode.unknownMemberID.rawValue)

            #expect(try await commit(broker, group: "g", [0: 3]) == [0])
            #expect(try await fetchOffsets(broker, group: "g", [0]).1[0]?.0 == 3)
            #expect(try await commit(broker, group: "", [0: 3]) == [ErrorCode.invalidGroupID.rawValue])

            let (member, pending) = try await startNewMember(broker, group: "g")
            #expect(try await answer(broker, pending, as: JoinGroupResponse.self, version: 9).errorCode == 0)
            let other = try await broker.call(join, joinRequest("g", protocolType: "connect"), version: 9)
            #expect(other.errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)
            // Joined, not yet synced: the member's own commit is REBALANCE_IN_PROGRESS (Kafka's answer while completing).
            #expect(
                try await commit(broker, group: "g", generation: 1, member: member, [0: 4]) == [
                    ErrorCode.rebalanceInProgress.rawValue
                ])
            let stranger = try await answer(
                broker, try sync(broker, group: "g", generation: 1, member: "stranger"), as: SyncGroupResponse.self,
                version: 5)
            #expect(stranger.errorCode == ErrorCode.unknownMemberID.rawValue)
            #expect(try await commit(broker, group: "g", [0: 4]) == [ErrorCode.unknownMemberID.rawValue])
            #expect(try await fetchOffsets(broker, group: "g", [0]).1[0]?.0 == 3)

            #expect(
                try await answer(
                    broker, try sync(broker, group: "g", generation: 1, member: member, assignments: [member: "0"]),
                    as: SyncGroupResponse.self, version: 5
                ).errorCode == 0)
            #expect(try await leave(broker, group: "g", members: [member]) == [0])
        }
    }
}
