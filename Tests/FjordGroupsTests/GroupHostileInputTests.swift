import FjordGroups
import KafkaProtocol
import NIOCore
import Testing

/// Hostile and odd input (issue 5 item 9): every case gets Kafka's error code, nothing crashes, and what a member
/// keeps is bounded by `memberMetadataMaxBytes`, not by the request that carried it.
@Suite struct GroupHostileInputTests {
    @Test func oversizedProtocolMetadataIsRefused() {
        // Flow: 1. the limit is 1 KiB; 2. a JoinGroup whose metadata is 2 KB gets INVALID_REQUEST and leaves no
        // group behind; 3. one just under the limit is accepted (MEMBER_ID_REQUIRED).
        var h = Harness()
        h.manager.configuration.memberMetadataMaxBytes = 1024
        let big = h.join(protocols: [("range", String(repeating: "x", count: 2000))])
        #expect(h.joins[big]?.errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.manager.groups["g"] == nil)
        let fits = h.join(protocols: [("range", String(repeating: "x", count: 1000))])
        #expect(h.joins[fits]?.errorCode == ErrorCode.memberIDRequired.rawValue)
    }

    @Test func oversizedMetadataOfAKnownMemberIsRefusedAndItKeepsItsOld() {
        // Flow: 1. a member forms a stable group; 2. it rejoins with metadata over the limit: INVALID_REQUEST;
        // 3. the group is still stable and the member still has its old metadata.
        var h = Harness()
        h.manager.configuration.memberMetadataMaxBytes = 100
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1, assignments: [a: "A"])
        let rejoin = h.join(member: a, protocols: [("range", String(repeating: "y", count: 200))])
        #expect(h.joins[rejoin]?.errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.state() == .stable)
        #expect(h.manager.groups["g"]?.members[a]?.metadata(for: "range") == ByteBuffer(string: "m"))
    }

    @Test func thousandsOfProtocolsWithinTheLimitWorkAndBeyondItAreRefused() {
        // Flow: 1. 5000 small protocols (well under 1 MiB) form a group and the first is chosen; 2. 5000 protocols
        // of 300 bytes each (1.5 MB) are refused with INVALID_REQUEST.
        var h = Harness()
        let many = (0..<5000).map { ("p\($0)", "m") }
        let (join, _) = h.joinNew(protocols: many)
        #expect(h.joins[join]?.errorCode == 0)
        #expect(h.joins[join]?.protocolName == "p0")
        let heavy = (0..<5000).map { ("q\($0)", String(repeating: "z", count: 300)) }
        let refused = h.join("other", protocols: heavy)
        #expect(h.joins[refused]?.errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.manager.groups["other"] == nil)
    }

    @Test func emptyProtocolListIsInconsistent() {
        // Flow: 1. a JoinGroup with no protocols gets INCONSISTENT_GROUP_PROTOCOL (Kafka's answer) and no group.
        var h = Harness()
        let join = h.join(protocols: [])
        #expect(h.joins[join]?.errorCode == ErrorCode.inconsistentGroupProtocol.rawValue)
        #expect(h.manager.groups["g"] == nil)
    }

    @Test func syncAssignmentsForUnknownMembersAreIgnored() {
        // Flow: 1. A forms generation 1; 2. its SyncGroup carries 3000 assignments for members that do not exist
        // besides its own; 3. the group is stable, A gets its own assignment and no ghost is kept.
        var h = Harness()
        let (_, a) = h.joinNew()
        var assignments = [a: "mine"]
        for i in 0..<3000 { assignments["ghost-\(i)"] = "x" }
        let sync = h.sync(member: a, generation: 1, assignments: assignments)
        #expect(h.syncs[sync]?.errorCode == 0)
        #expect(h.syncs[sync]?.assignment == ByteBuffer(string: "mine"))
        #expect(h.state() == .stable)
        #expect(h.manager.groups["g"]?.members.count == 1)
    }

    @Test func oversizedAssignmentIsRefusedAndALaterSyncWorks() {
        // Flow: 1. A and B form generation 2; 2. the leader's SyncGroup gives B an assignment over the limit:
        // INVALID_REQUEST, the group is still completing; 3. a SyncGroup within the limit completes it.
        var h = Harness()
        h.manager.configuration.memberMetadataMaxBytes = 64
        let (_, a) = h.joinNew()
        _ = h.sync(member: a, generation: 1)
        let (_, b) = h.joinNew()
        _ = h.join(member: a)
        let bad = h.sync(member: a, generation: 2, assignments: [a: "p0", b: String(repeating: "w", count: 65)])
        #expect(h.syncs[bad]?.errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(h.state() == .completingRebalance)
        let syncB = h.sync(member: b, generation: 2)
        let good = h.sync(member: a, generation: 2, assignments: [a: "p0", b: "p1"])
        #expect(h.syncs[good]?.assignment == ByteBuffer(string: "p0"))
        #expect(h.syncs[syncB]?.assignment == ByteBuffer(string: "p1"))
        #expect(h.state() == .stable)
    }

    @Test func storedMetadataDoesNotKeepTheRequestFrameAlive() {
        // Flow: 1. the metadata of a JoinGroup is a 3-byte slice of a 1 MiB frame, as the decoder produces it;
        // 2. the member's stored metadata lives in its own storage, outside the frame's bytes.
        var h = Harness()
        var frame = ByteBuffer(repeating: 0, count: 1 << 20)
        frame.moveWriterIndex(to: 1 << 20)
        let slice = frame.getSlice(at: 500_000, length: 3)!
        let request = JoinGroupRequest(
            groupID: "g", sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 30_000, memberID: "", groupInstanceID: "static",
            protocolType: "consumer", protocols: [.init(name: "range", metadata: slice)]
        )
        let context = JoinContext(
            requestID: 1, version: 9, clientID: "c", clientHost: "/127.0.0.1", newMemberID: "m1", now: h.now)
        h.absorb(h.manager.join(request, context: context))
        let stored = h.manager.groups["g"]!.members["m1"]!.protocols[0].metadata
        #expect(stored.readableBytes == 3)
        let frameRange = frame.withUnsafeReadableBytes {
            UInt(bitPattern: $0.baseAddress!)..<UInt(bitPattern: $0.baseAddress!) + UInt($0.count)
        }
        let storedAddress = stored.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress!) }
        #expect(!frameRange.contains(storedAddress))
    }

    @Test(arguments: [0, 32_767, 32_768])
    func groupIDsOfExtremeLength(length: Int) throws {
        // Flow: 1. a group id of `length` characters joins and commits; 2. empty and over-long ids get
        // INVALID_GROUP_ID for both, the longest a wire string can carry works.
        var h = Harness()
        let groupID = String(repeating: "g", count: length)
        let valid = length > 0 && length <= 32_767
        let first = h.join(groupID)
        #expect(h.joins[first]?.errorCode == (valid ? ErrorCode.memberIDRequired : .invalidGroupID).rawValue)
        let entry = GroupManager.OffsetCommitEntry(
            partition: TopicPartition("t", 0), offset: 5, leaderEpoch: -1, metadata: nil)
        let result = h.manager.commitOffsets(
            groupID: groupID, generationID: -1, memberID: "", instanceID: nil, entries: [entry], now: h.now
        ) { _ in true }
        #expect(result.answer == [valid ? .none : .invalidGroupID])
        for record in result.records { try h.manager.replay(key: record.key, value: record.value, now: h.now) }
        #expect(h.manager.fetchOffsets(groupID: groupID, partitions: nil).first?.1?.offset == (valid ? 5 : nil))
    }

    @Test func commitsForUnknownTopicsAreRefusedPerPartition() {
        // Flow: 1. a simple commit names a known partition, an unknown partition of a known topic and an unknown
        // topic; 2. only the known one is written, the others get UNKNOWN_TOPIC_OR_PARTITION.
        var h = Harness()
        let entries = [TopicPartition("t", 0), TopicPartition("t", 9), TopicPartition("nope", 0)].map {
            GroupManager.OffsetCommitEntry(partition: $0, offset: 1, leaderEpoch: -1, metadata: nil)
        }
        let result = h.manager.commitOffsets(
            groupID: "s", generationID: -1, memberID: "", instanceID: nil, entries: entries, now: h.now
        ) {
            $0 == TopicPartition("t", 0)
        }
        #expect(result.answer == [.none, .unknownTopicOrPartition, .unknownTopicOrPartition])
        #expect(result.records.count == 1)
    }

    @Test func hostileConsumerHeartbeatsAreRefusedAndBounded() {
        // Flow: a consumer-protocol heartbeat with too many topic names, an over-long or invalid regular expression,
        // an over-long group id, or one member too many gets Kafka's error and leaves no group behind.
        var configuration = GroupConfiguration()
        configuration.consumer.maxSize = 2
        var manager = GroupManager(configuration: configuration)
        let topic = AssignableTopic(topicID: KafkaUUID(high: 1, low: 1), partitionCount: 1)
        var nextID = 0
        func heartbeat(group: String = "g", names: [String]? = ["t"], regex: String? = nil)
            -> ConsumerGroupHeartbeatResponse
        {
            nextID += 1
            let request = ConsumerGroupHeartbeatRequest(
                groupID: group, memberEpoch: 0, rebalanceTimeoutMs: 1000, subscribedTopicNames: names,
                subscribedTopicRegex: regex, topicPartitions: []
            )
            let change = manager.planConsumerHeartbeat(
                request, context: .init(newMemberID: "m\(nextID)", topics: ["t": topic], now: 0))
            manager.applyConsumerChange(change)
            return change.response
        }
        let manyNames = (0..<20_000).map { "topic-\($0)" }
        #expect(heartbeat(group: "a", names: manyNames).errorCode == ErrorCode.invalidRequest.rawValue)
        #expect(
            heartbeat(group: "b", names: nil, regex: String(repeating: "a", count: 5000)).errorCode
                == ErrorCode.invalidRegularExpression.rawValue)
        #expect(
            heartbeat(group: "c", names: nil, regex: "[z-a]").errorCode == ErrorCode.invalidRegularExpression.rawValue)
        #expect(heartbeat(group: String(repeating: "g", count: 40_000)).errorCode == ErrorCode.invalidGroupID.rawValue)
        #expect(manager.consumerGroups.groups.isEmpty)
        #expect(heartbeat().errorCode == 0)
        #expect(heartbeat().errorCode == 0)
        #expect(heartbeat().errorCode == ErrorCode.groupMaxSizeReached.rawValue)
        #expect(manager.consumerGroups.groups["g"]?.members.count == 2)
    }
}
