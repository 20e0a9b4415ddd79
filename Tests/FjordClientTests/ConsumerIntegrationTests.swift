import FjordClient
import FjordTestSupport
import Foundation
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Consumer behaviour against Fjord and Tansu: positions, seeks, pause/resume, commit modes, consumer groups.
@Suite(.serialized)
struct ConsumerIntegrationTests {
    static func produce(_ broker: TestBroker, topic: String, count: Int, partitions: Int32? = nil) async throws {
        var configuration = ProducerConfiguration(client: broker.clientConfiguration())
        configuration.linger = .milliseconds(2)
        try await ClientIntegrationTests.withProducer(Producer(configuration: configuration)) { producer in
            for i in 0..<count {
                try await producer.sendAndForget(
                    topic: topic, key: ByteBuffer(string: "k\(i)"), value: ByteBuffer(string: "v\(i)"),
                    partition: partitions.map { Int32(i) % $0 }, timestamp: 10_000 + Int64(i)
                )
            }
            await producer.flush()
        }
    }

    static func consumerConfiguration(_ broker: TestBroker, group: String? = nil) -> ConsumerConfiguration {
        var configuration = ConsumerConfiguration(client: broker.clientConfiguration(), groupID: group)
        configuration.autoOffsetReset = .earliest
        configuration.fetchMaxWait = .milliseconds(100)
        configuration.heartbeatInterval = .milliseconds(300)
        configuration.sessionTimeout = .seconds(10)
        configuration.rebalanceTimeout = .seconds(10)
        return configuration
    }

    @Test(arguments: BrokerKind.allCases)
    func positionsSeeksAndPause(kind: BrokerKind) async throws {
        // Flow: 1. 20 records in one partition; 2. read 5 from the beginning: position 5; 3. seek to 15, read 15...19;
        // 4. seekToEnd: position 20; 5. pause, produce 5 more: nothing arrives; resume: they arrive; 6. offsetsForTimes.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "positions", partitions: 1)
            try await Self.produce(broker, topic: "positions", count: 20)
            let tp = TopicPartition("positions", 0)
            var configuration = Self.consumerConfiguration(broker)
            configuration.maxBufferedRecords = 8
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.assign([tp])
                try await consumer.seekToBeginning()
                let first = try await ClientIntegrationTests.read(consumer, count: 5)
                #expect(first.map(\.offset) == [0, 1, 2, 3, 4])
                #expect(try await consumer.position(of: tp) == 5)
                try await consumer.seek(tp, to: 15)
                let tail = try await ClientIntegrationTests.read(consumer, count: 5)
                #expect(tail.map(\.offset) == [15, 16, 17, 18, 19])
                #expect(tail.first.map { String(buffer: $0.value!) } == "v15")
                if kind == .fjord {
                    try await consumer.seekToEnd()
                    #expect(try await consumer.position(of: tp) == 20)
                } else {
                    // Tansu's ListOffsets "latest" is the last batch's base offset, not the log end.
                    try await consumer.seek(tp, to: 20)
                }

                await consumer.pause([tp])
                try await Self.produce(broker, topic: "positions", count: 5)
                let none = try? await ClientIntegrationTests.read(consumer, count: 1, timeout: .milliseconds(800))
                #expect(none == nil)
                await consumer.resume([tp])
                let resumed = try await ClientIntegrationTests.read(consumer, count: 5)
                #expect(resumed.map(\.offset) == [20, 21, 22, 23, 24])

                // Tansu's ListOffsets by timestamp answers another offset (see AdminIntegrationTests).
                if kind == .fjord {
                    let found = try await consumer.offsetsForTimes([tp: 10_012])
                    #expect(found[tp]??.offset == 12)
                }
            }
        }
    }

    @Test(arguments: BrokerKind.allCases)
    func externalOffsetsAndManualCommit(kind: BrokerKind) async throws {
        // Flow: 1. 10 records; 2. commit mode none with a group id: read 4 from an externally stored offset 3 (seek),
        // nothing is committed; 3. manual mode: read 6, commit(): committed offset 6; commit(offsets:) sets 9.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "manual", partitions: 1)
            try await Self.produce(broker, topic: "manual", count: 10)
            let tp = TopicPartition("manual", 0)
            var external = Self.consumerConfiguration(broker, group: "manual-group")
            external.commitMode = .none
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: external)) { consumer in
                try await consumer.assign([tp])
                try await consumer.seek(tp, to: 3)
                let records = try await ClientIntegrationTests.read(consumer, count: 4)
                #expect(records.map(\.offset) == [3, 4, 5, 6])
            }
            #expect(try await Consumer(configuration: external).committed([tp])[tp]! == nil)

            var manual = Self.consumerConfiguration(broker, group: "manual-group")
            manual.commitMode = .manual
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: manual)) { consumer in
                try await consumer.assign([tp])
                _ = try await ClientIntegrationTests.read(consumer, count: 6)
                try await consumer.commit()
                #expect(try await consumer.committed([tp])[tp]! == 6)
                try await consumer.commit(offsets: [tp: 9])
                #expect(try await consumer.committed([tp])[tp]! == 9)
            }
            // A new consumer of the group starts at the committed offset.
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: manual)) { consumer in
                try await consumer.assign([tp])
                #expect(try await ClientIntegrationTests.read(consumer, count: 1).first?.offset == 9)
            }
        }
    }

    static let assignors: [any PartitionAssignor] = [
        RangeAssignor(), RoundRobinAssignor(), CooperativeStickyAssignor(),
    ]

    @Test(arguments: BrokerKind.allCases)
    func groupMembersSplitPartitions(kind: BrokerKind) async throws {
        // Flow, for each assignor: 1. 4 partitions, 40 records; 2. two members subscribe (auto-commit every
        // 200 ms); 3. together they read all 40, each partition by one member only, and the listeners saw
        // assignments; 4. one member closes: the other is assigned all 4; 5. auto-commit stored offset 10 per
        // partition.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "grouped", partitions: 4)
            try await Self.produce(broker, topic: "grouped", count: 40, partitions: 4)
            // Tansu takes seconds per rebalance: there, one assignor (FJORD_CLIENT_TANSU_ASSIGNOR picks which).
            let assignors =
                kind == .fjord
                ? Self.assignors
                : Self.assignors.filter {
                    $0.name
                        == (ProcessInfo.processInfo.environment["FJORD_CLIENT_TANSU_ASSIGNOR"] ?? "cooperative-sticky")
                }
            for assignor in assignors {
                let group = "group-\(assignor.name)"
                var configuration = Self.consumerConfiguration(broker, group: group)
                configuration.assignors = [assignor]
                configuration.commitMode = .auto(interval: .milliseconds(200))
                let assigned = NIOLockedValueBox<[Int: Set<TopicPartition>]>([:])
                func listener(_ index: Int) -> RebalanceListener {
                    RebalanceListener(
                        onAssigned: { partitions in
                            assigned.withLockedValue { $0[index, default: []].formUnion(partitions) }
                        },
                        onRevoked: { partitions in
                            assigned.withLockedValue { $0[index, default: []].subtract(partitions) }
                        },
                        onLost: { partitions in assigned.withLockedValue { $0[index, default: []].subtract(partitions) }
                        }
                    )
                }
                let first = Consumer(configuration: configuration)
                let second = Consumer(configuration: configuration)
                try await ClientIntegrationTests.withConsumer(first) { first in
                    try await first.subscribe(topics: ["grouped"], listener: listener(0))
                    let records = try await ClientIntegrationTests.withConsumer(second) { second in
                        try await second.subscribe(topics: ["grouped"], listener: listener(1))
                        // Wait until the group settled with both members owning partitions.
                        try await waitFor {
                            let a = await first.assignedPartitions()
                            let b = await second.assignedPartitions()
                            return !a.isEmpty && !b.isEmpty && a.union(b).count == 4 && a.isDisjoint(with: b)
                        }
                        async let fromFirst = Self.drain(first, until: { $0 >= 40 }, shared: Self.counter)
                        async let fromSecond = Self.drain(second, until: { $0 >= 40 }, shared: Self.counter)
                        return try await fromFirst + fromSecond
                    }
                    Self.counter.withLockedValue { $0 = 0 }
                    #expect(records.count == 40, "\(assignor.name)")
                    #expect(Set(records.map { "\($0.topicPartition)@\($0.offset)" }).count == 40)
                    try await waitFor { await first.assignedPartitions().count == 4 }
                    // The consumer sets its assignment, then calls the listener (off its actor): the listener may
                    // not have run yet when assignedPartitions() shows all four. Wait for it rather than sample it.
                    try? await waitFor(timeout: .seconds(30)) { assigned.withLockedValue { $0[0]?.count == 4 } }
                    let owned = assigned.withLockedValue { $0[0] ?? [] }
                    #expect(owned.count == 4, "\(assignor.name): listener saw \(owned)")
                    try await waitFor {
                        let committed = try await first.committed((0..<4).map { TopicPartition("grouped", $0) })
                        return committed.values.allSatisfy { $0 == 10 }
                    }
                }
            }
        }
    }

    @Test(arguments: BrokerKind.allCases)
    func patternSubscriptionFollowsNewTopics(kind: BrokerKind) async throws {
        // Flow: 1. topic "metrics-a" exists and has records; 2. a member subscribes to "metrics-.*" (metadata max age
        // 1 s) and reads them; 3. "metrics-b" is created with records; 4. the member picks it up on its next
        // pattern check and reads its records too; "other" never matches.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "metrics-a", partitions: 1)
            try await ClientIntegrationTests.createTopic(admin, "other", partitions: 1)
            try await Self.produce(broker, topic: "metrics-a", count: 3)
            try await Self.produce(broker, topic: "other", count: 3)
            var configuration = Self.consumerConfiguration(broker, group: "pattern-group")
            configuration.client.metadataMaxAge = .seconds(1)
            configuration.commitMode = .manual
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(pattern: "metrics-.*")
                let first = try await ClientIntegrationTests.read(consumer, count: 3)
                #expect(Set(first.map(\.topic)) == ["metrics-a"])
                try await consumer.commit()  // the eager rejoin revokes metrics-a; it resumes from here
                try await ClientIntegrationTests.createTopic(admin, "metrics-b", partitions: 1)
                try await Self.produce(broker, topic: "metrics-b", count: 2)
                let second = try await ClientIntegrationTests.read(consumer, count: 2, timeout: .seconds(40))
                #expect(Set(second.map(\.topic)) == ["metrics-b"])
                #expect(
                    await consumer.assignedPartitions() == [
                        TopicPartition("metrics-a", 0), TopicPartition("metrics-b", 0),
                    ])
            }
        }
    }

    @Test func staticMemberRestartsWithoutWaitingForTheSession() async throws {
        // Flow (Fjord; static membership is not part of the Tansu suite): 1. a member with group.instance.id
        // "static-1" and a 90 s session owns both partitions; 2. it closes without LeaveGroup (static members keep
        // their place); 3. a new consumer with the same instance id gets both partitions back well within the
        // session timeout, and resumes at the committed offsets. The session is long so that "well within" leaves a
        // loaded machine plenty of room: without static membership the records would come only after 90 s.
        try await withBroker(.fjord) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "static", partitions: 2)
            try await Self.produce(broker, topic: "static", count: 4, partitions: 2)
            var configuration = Self.consumerConfiguration(broker, group: "static-group")
            configuration.groupInstanceID = "static-1"
            configuration.sessionTimeout = .seconds(90)
            configuration.commitMode = .manual
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["static"])
                _ = try await ClientIntegrationTests.read(consumer, count: 4)
                try await consumer.commit()
            }
            try await Self.produce(broker, topic: "static", count: 2, partitions: 2)
            let restarted = ContinuousClock.now
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["static"])
                let records = try await ClientIntegrationTests.read(consumer, count: 2, timeout: .seconds(60))
                #expect(ContinuousClock.now - restarted < .seconds(45), "not well within the 90 s session")
                #expect(Set(records.map(\.offset)) == [2])
                #expect(await consumer.assignedPartitions().count == 2)
            }
        }
    }

    @Test(arguments: BrokerKind.allCases)
    func fencedMemberLosesItsPartitionsAndRejoins(kind: BrokerKind) async throws {
        // Flow: 1. a member owns the topic's partition; 2. another client removes it from the group (LeaveGroup with
        // its member id, through the typed escape hatch); 3. the member's next heartbeat gets UNKNOWN_MEMBER_ID: the
        // listener hears `lost` (not `revoked`); 4. the member rejoins and is assigned the partition again.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "fenced", partitions: 1)
            let events = NIOLockedValueBox<[String]>([])
            let listener = RebalanceListener(
                onAssigned: { p in events.withLockedValue { $0.append("assigned \(p)") } },
                onRevoked: { p in events.withLockedValue { $0.append("revoked \(p)") } },
                onLost: { p in events.withLockedValue { $0.append("lost \(p)") } }
            )
            let configuration = Self.consumerConfiguration(broker, group: "fenced-group")
            try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
                try await consumer.subscribe(topics: ["fenced"], listener: listener)
                try await waitFor { await consumer.assignedPartitions().count == 1 }
                let description = try await admin.describeGroups(["fenced-group"])["fenced-group"]!.get()
                let member = try #require(description.members.first)
                var leave = LeaveGroupRequest()
                leave.groupID = "fenced-group"
                leave.memberID = member.memberID
                leave.members = [.init(memberID: member.memberID, groupInstanceID: nil, reason: "test")]
                let response = try await admin.client.send(leave, to: description.coordinator)
                #expect(response.errorCode == 0)
                try await waitFor { events.withLockedValue { $0.contains("lost [fenced-0]") } }
                try await waitFor { await consumer.assignedPartitions() == [TopicPartition("fenced", 0)] }
            }
            let seen = events.withLockedValue { $0 }
            #expect(seen.first == "assigned [fenced-0]")
            #expect(seen.dropFirst().first == "lost [fenced-0]")
            #expect(seen.dropFirst(2).first == "assigned [fenced-0]")
        }
    }

    static let counter = NIOLockedValueBox(0)

    /// Reads from `consumer` until the shared count across members reaches the goal (bounded by 30 s).
    static func drain(
        _ consumer: Consumer, until done: @escaping @Sendable (Int) -> Bool, shared: NIOLockedValueBox<Int>
    ) async throws -> [ConsumerRecord] {
        let deadline = ContinuousClock.now + .seconds(30)
        var records: [ConsumerRecord] = []
        while !done(shared.withLockedValue { $0 }) && ContinuousClock.now < deadline {
            if let batch = try? await ClientIntegrationTests.read(consumer, count: 1, timeout: .milliseconds(300)) {
                records += batch
                shared.withLockedValue { $0 += batch.count }
            }
        }
        return records
    }
}
