import FjordClient
import FjordTestSupport
import Foundation
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The KIP-848 consumer group protocol (`groupProtocol = .consumer`) against Fjord only: Tansu does not serve
/// ConsumerGroupHeartbeat. The broker hands out a 200 ms heartbeat interval so that rebalances take a few hundred
/// milliseconds.
@Suite(.serialized)
struct ConsumerProtocolTests {
    static let overrides = ["group.consumer.heartbeat.interval.ms": "200"]

    static func configuration(_ broker: TestBroker, group: String) -> ConsumerConfiguration {
        var configuration = ConsumerIntegrationTests.consumerConfiguration(broker, group: group)
        configuration.groupProtocol = .consumer
        configuration.remoteAssignor = "uniform"
        return configuration
    }

    /// Who owns what according to the listeners, and every moment two members held the same partition.
    final class Ownership: Sendable {
        let state = NIOLockedValueBox<(owners: [TopicPartition: Int], events: [Int: [String]], violations: [String])>(
            ([:], [:], [])
        )

        func listener(_ member: Int) -> RebalanceListener {
            RebalanceListener(
                onAssigned: { partitions in
                    self.state.withLockedValue { state in
                        state.events[member, default: []].append("assigned \(partitions)")
                        for partition in partitions {
                            if let owner = state.owners[partition] {
                                state.violations.append("\(partition) assigned to \(member) while \(owner) owns it")
                            }
                            state.owners[partition] = member
                        }
                    }
                },
                onRevoked: { partitions in
                    self.state.withLockedValue { state in
                        state.events[member, default: []].append("revoked \(partitions)")
                        for partition in partitions {
                            if state.owners[partition] != member {
                                state.violations.append("\(partition) revoked from \(member), which did not own it")
                            }
                            state.owners[partition] = nil
                        }
                    }
                },
                onLost: { partitions in
                    self.state.withLockedValue { state in
                        state.events[member, default: []].append("lost \(partitions)")
                        for partition in partitions { state.owners[partition] = nil }
                    }
                }
            )
        }

        func owned(by member: Int) -> Set<TopicPartition> {
            state.withLockedValue { Set($0.owners.filter { $0.value == member }.keys) }
        }
    }

    @Test func twoMembersSplitThenOneTakesOver() async throws {
        // Flow: 1. 4 partitions, 40 records; 2. member 0 subscribes and owns all 4; 3. member 1 joins: member 0
        // revokes 2 (and reports them released), member 1 is assigned them — 2/2, never a partition owned twice
        // (checked by the listeners and by sampling both assignments); 4. together they read all 40; 5. member 1
        // closes (leave, epoch -1): member 0 is assigned exactly the 2 it gave away; auto-commit stored 10 each.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "kip848", partitions: 4)
            try await ConsumerIntegrationTests.produce(broker, topic: "kip848", count: 40, partitions: 4)
            var configuration = Self.configuration(broker, group: "kip848-group")
            configuration.commitMode = .auto(interval: .milliseconds(200))
            let all = Set((0..<4).map { TopicPartition("kip848", $0) })
            let ownership = Ownership()
            let first = Consumer(configuration: configuration)
            let second = Consumer(configuration: configuration)
            let overlaps = NIOLockedValueBox<[String]>([])
            try await ClientIntegrationTests.withConsumer(first) { first in
                try await first.subscribe(topics: ["kip848"], listener: ownership.listener(0))
                try await waitFor { await first.assignedPartitions() == all }
                let counter = NIOLockedValueBox(0)
                // What the first member gave away is recorded at the split, while member 1 still owns it: after
                // member 1 closes, the first takes those partitions back and its own set is all four again.
                let (records, givenAway) = try await ClientIntegrationTests.withConsumer(second) { second in
                    try await second.subscribe(topics: ["kip848"], listener: ownership.listener(1))
                    // Sampling: a partition in the first's assignment before and after reading the second's
                    // was owned by both at once.
                    let sampler = Task {
                        while !Task.isCancelled {
                            let before = await first.assignedPartitions()
                            let other = await second.assignedPartitions()
                            let after = await first.assignedPartitions()
                            let both = before.intersection(after).intersection(other)
                            if !both.isEmpty { overlaps.withLockedValue { $0.append("\(both.sorted())") } }
                            try? await Task.sleep(for: .milliseconds(5))
                        }
                    }
                    defer { sampler.cancel() }
                    // The consumers set their assignment before they call the listener: wait for both views.
                    try await waitFor {
                        let a = await first.assignedPartitions()
                        let b = await second.assignedPartitions()
                        return a.count == 2 && b.count == 2 && a.union(b) == all
                            && ownership.owned(by: 0).count == 2 && ownership.owned(by: 1).count == 2
                    }
                    let givenAway = all.subtracting(ownership.owned(by: 0))
                    async let fromFirst = ConsumerIntegrationTests.drain(first, until: { $0 >= 40 }, shared: counter)
                    async let fromSecond = ConsumerIntegrationTests.drain(second, until: { $0 >= 40 }, shared: counter)
                    return (try await fromFirst + fromSecond, givenAway)
                }
                #expect(givenAway.count == 2)
                #expect(records.count == 40)
                #expect(Set(records.map { "\($0.topicPartition)@\($0.offset)" }).count == 40)
                try await waitFor { await first.assignedPartitions() == all && ownership.owned(by: 0) == all }
                let events = ownership.state.withLockedValue { $0.events[0] ?? [] }
                #expect(
                    events == [
                        "assigned \(all.sorted())", "revoked \(givenAway.sorted())", "assigned \(givenAway.sorted())",
                    ])
                try await waitFor {
                    try await first.committed(all.sorted()).values.allSatisfy { $0 == 10 }
                }
            }
            #expect(ownership.state.withLockedValue { $0.violations } == [])
            #expect(overlaps.withLockedValue { $0 } == [])
            #expect(ownership.state.withLockedValue { $0.events[1]?.last }?.hasPrefix("revoked") == true)
        }
    }

    static func describe(_ admin: Admin, _ group: String) async throws -> ConsumerGroupDescribeResponse.DescribedGroup?
    {
        let coordinator = try await admin.client.findCoordinator(key: group)
        let response = try await admin.client.send(ConsumerGroupDescribeRequest(groupIDs: [group]), to: coordinator)
        return response.groups.first
    }

    @Test func fencedMemberLosesItsPartitionsAndRejoins() async throws {
        // Flow: 1. a member owns the topic's partition; 2. another client removes it (a leave heartbeat, epoch -1,
        // with its member id); 3. the member's next heartbeat draws UNKNOWN_MEMBER_ID: the listener hears `lost`
        // (not `revoked`); 4. the member rejoins with epoch 0 and is assigned the partition again.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "kip848-fenced", partitions: 1)
            let events = NIOLockedValueBox<[String]>([])
            let listener = RebalanceListener(
                onAssigned: { p in events.withLockedValue { $0.append("assigned \(p)") } },
                onRevoked: { p in events.withLockedValue { $0.append("revoked \(p)") } },
                onLost: { p in events.withLockedValue { $0.append("lost \(p)") } }
            )
            let configuration = Self.configuration(broker, group: "kip848-fenced-group")
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["kip848-fenced"], listener: listener)
                try await waitFor { await consumer.assignedPartitions().count == 1 }
                let member = try #require(try await Self.describe(admin, "kip848-fenced-group")?.members.first)
                let coordinator = try await admin.client.findCoordinator(key: "kip848-fenced-group")
                let leave = ConsumerGroupHeartbeatRequest(
                    groupID: "kip848-fenced-group", memberID: member.memberID, memberEpoch: -1)
                #expect(try await admin.client.send(leave, to: coordinator).errorCode == 0)
                try await waitFor { events.withLockedValue { $0.contains("lost [kip848-fenced-0]") } }
                try await waitFor { await consumer.assignedPartitions() == [TopicPartition("kip848-fenced", 0)] }
            }
            let seen = events.withLockedValue { $0 }
            #expect(
                Array(seen.prefix(3)) == [
                    "assigned [kip848-fenced-0]", "lost [kip848-fenced-0]", "assigned [kip848-fenced-0]",
                ])
        }
    }

    @Test func staticMemberLeavesWithEpochMinusTwoAndComesBack() async throws {
        // Flow: 1. a static member (instance id "static-1") owns both partitions and commits; 2. it closes: the
        // leave heartbeat carries epoch -2, so the coordinator keeps its place and assignment; 3. a new consumer
        // with the same instance id is given both partitions at once and resumes at the committed offsets.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "kip848-static", partitions: 2)
            try await ConsumerIntegrationTests.produce(broker, topic: "kip848-static", count: 4, partitions: 2)
            var configuration = Self.configuration(broker, group: "kip848-static-group")
            configuration.groupInstanceID = "static-1"
            configuration.commitMode = .manual
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["kip848-static"])
                _ = try await ClientIntegrationTests.read(consumer, count: 4)
                try await consumer.commit()
            }
            let kept = try #require(try await Self.describe(admin, "kip848-static-group")?.members.first)
            #expect(kept.instanceID == "static-1")
            #expect(kept.memberEpoch == -2)
            try await ConsumerIntegrationTests.produce(broker, topic: "kip848-static", count: 2, partitions: 2)
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["kip848-static"])
                let records = try await ClientIntegrationTests.read(consumer, count: 2, timeout: .seconds(10))
                #expect(Set(records.map(\.offset)) == [2])
                #expect(await consumer.assignedPartitions().count == 2)
            }
        }
    }

    @Test func coordinatorRejectionsEndRecordsWithAnError() async throws {
        // Flow: a member asking for an assignor the coordinator lacks draws UNSUPPORTED_ASSIGNOR: `records` throws
        // a non-retriable ClientError carrying that code.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "kip848-rejected", partitions: 1)
            var configuration = Self.configuration(broker, group: "kip848-rejected-group")
            configuration.remoteAssignor = "no-such-assignor"
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["kip848-rejected"])
                do {
                    _ = try await ClientIntegrationTests.read(consumer, count: 1, timeout: .seconds(10))
                    Issue.record("records delivered despite the rejected assignor")
                } catch let error as ClientError {
                    #expect(error.kafkaError == .unsupportedAssignor)
                    #expect(!error.isRetriable)
                }
            }
        }
    }

    @Test func unsubscribeLeavesAndSubscribeJoinsAgain() async throws {
        // Flow: 1. a member owns both partitions; 2. unsubscribe: `onRevoked` for both, the leave heartbeat removes
        // it from the group (ConsumerGroupDescribe shows no member); 3. subscribe again: it rejoins with epoch 0 and
        // is assigned both partitions again.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "kip848-leave", partitions: 2)
            let ownership = Ownership()
            let all: Set = [TopicPartition("kip848-leave", 0), TopicPartition("kip848-leave", 1)]
            let configuration = Self.configuration(broker, group: "kip848-leave-group")
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["kip848-leave"], listener: ownership.listener(0))
                try await waitFor { await consumer.assignedPartitions() == all }
                await consumer.unsubscribe()
                #expect(await consumer.assignedPartitions().isEmpty)
                #expect(ownership.owned(by: 0).isEmpty)
                try await waitFor { try await Self.describe(admin, "kip848-leave-group")?.members.isEmpty == true }
                try await consumer.subscribe(topics: ["kip848-leave"], listener: ownership.listener(0))
                try await waitFor { await consumer.assignedPartitions() == all }
                // The consumer sets its assignment, then calls the listener (off its actor): wait for the listener
                // rather than sample it the moment assignedPartitions() shows both.
                try? await waitFor(timeout: .seconds(30)) { ownership.owned(by: 0) == all }
                #expect(ownership.owned(by: 0) == all)
            }
            let events = ownership.state.withLockedValue { $0.events[0] ?? [] }
            #expect(
                Array(events.prefix(3)) == [
                    "assigned \(all.sorted())", "revoked \(all.sorted())", "assigned \(all.sorted())",
                ])
            #expect(ownership.state.withLockedValue { $0.violations } == [])
        }
    }

    @Test func manualCommitIsWhereTheNextMemberResumes() async throws {
        // Flow: 1. 10 records in one partition; 2. a manual-commit member reads 4 and commits (OffsetCommit with its
        // member epoch): committed 4; 3. it closes; a new member of the group resumes at offset 4.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "kip848-manual", partitions: 1)
            try await ConsumerIntegrationTests.produce(broker, topic: "kip848-manual", count: 10)
            let tp = TopicPartition("kip848-manual", 0)
            var configuration = Self.configuration(broker, group: "kip848-manual-group")
            configuration.commitMode = .manual
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["kip848-manual"])
                let records = try await ClientIntegrationTests.read(consumer, count: 4)
                #expect(records.map(\.offset) == [0, 1, 2, 3])
                try await consumer.commit()
                #expect(try await consumer.committed([tp])[tp]! == 4)
            }
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["kip848-manual"])
                #expect(try await ClientIntegrationTests.read(consumer, count: 1).first?.offset == 4)
            }
        }
    }

    @Test func patternSubscriptionPicksUpNewTopics() async throws {
        // Flow: 1. "events-a" and "other" have records; 2. a member subscribes to "events-.*" (the coordinator
        // matches it) and reads events-a; 3. "events-b" is created: the coordinator assigns it (by a topic id the
        // client resolves through metadata) and the member reads it; "other" never matches.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "events-a", partitions: 1)
            try await ClientIntegrationTests.createTopic(admin, "other", partitions: 1)
            try await ConsumerIntegrationTests.produce(broker, topic: "events-a", count: 3)
            try await ConsumerIntegrationTests.produce(broker, topic: "other", count: 3)
            var configuration = Self.configuration(broker, group: "kip848-pattern-group")
            configuration.commitMode = .manual
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(pattern: "events-.*")
                let first = try await ClientIntegrationTests.read(consumer, count: 3)
                #expect(Set(first.map(\.topic)) == ["events-a"])
                try await ClientIntegrationTests.createTopic(admin, "events-b", partitions: 1)
                try await ConsumerIntegrationTests.produce(broker, topic: "events-b", count: 2)
                let second = try await ClientIntegrationTests.read(consumer, count: 2, timeout: .seconds(20))
                #expect(Set(second.map(\.topic)) == ["events-b"])
                #expect(
                    await consumer.assignedPartitions() == [
                        TopicPartition("events-a", 0), TopicPartition("events-b", 0),
                    ])
            }
        }
    }

    @Test func classicAndConsumerGroupsReadTheSameTopic() async throws {
        // Flow: 1. 2 partitions, 20 records; 2. a classic-protocol group and a consumer-protocol group subscribe to
        // the topic at the same time; 3. each reads all 20.
        try await withBroker(.fjord, overrides: Self.overrides) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "both", partitions: 2)
            try await ConsumerIntegrationTests.produce(broker, topic: "both", count: 20, partitions: 2)
            let classic = ConsumerIntegrationTests.consumerConfiguration(broker, group: "both-classic")
            let modern = Self.configuration(broker, group: "both-consumer")
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: classic)) { classic in
                try await ClientIntegrationTests.withConsumer(Consumer(configuration: modern)) { modern in
                    try await classic.subscribe(topics: ["both"])
                    try await modern.subscribe(topics: ["both"])
                    async let fromClassic = ClientIntegrationTests.read(classic, count: 20)
                    async let fromModern = ClientIntegrationTests.read(modern, count: 20)
                    let (a, b) = try await (fromClassic, fromModern)
                    #expect(Set(a.map { "\($0.topicPartition)@\($0.offset)" }).count == 20)
                    #expect(Set(b.map { "\($0.topicPartition)@\($0.offset)" }).count == 20)
                    // The second group really is a consumer-protocol group: ConsumerGroupDescribe knows its member.
                    let described = try #require(try await Self.describe(admin, "both-consumer"))
                    #expect(described.errorCode == 0)
                    #expect(described.assignorName == "uniform")
                    #expect(described.members.count == 1)
                    #expect(described.members.first?.subscribedTopicNames == ["both"])
                    #expect(
                        described.members.first?.assignment.topicPartitions.flatMap(\.partitions).sorted() == [0, 1])
                }
            }
        }
    }
}
