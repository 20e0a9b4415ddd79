import ArgumentParser
import FjordClient
import Foundation
import KafkaProtocol

/// `fjord topic`: create, list, describe, alter, delete topics and add partitions.
struct TopicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topic",
        abstract: "Create, list, describe, alter and delete topics.",
        subcommands: [
            TopicCreate.self, TopicList.self, TopicDescribe.self, TopicAlter.self, TopicDelete.self,
            TopicAddPartitions.self,
        ]
    )
}

/// Parses repeated `--config key=value` options.
func parseKeyValues(_ pairs: [String], option: String) throws -> [String: String] {
    var result: [String: String] = [:]
    for pair in pairs {
        guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
            throw ValidationError("\(option) needs key=value, got '\(pair)'")
        }
        result[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
    }
    return result
}

/// Fails with one line per failed item when any result is a failure.
func requireSuccess<Key: Hashable, Value>(
    _ results: [Key: Result<Value, ClientError>], describe: (Key, ClientError) -> String
) throws {
    let failures = results.compactMap { key, result -> String? in
        if case .failure(let error) = result { return describe(key, error) }
        return nil
    }.sorted()
    guard failures.isEmpty else { throw CLIError(failures.joined(separator: "\n")) }
}

struct TopicCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create topics.",
        discussion: """
            Example:
              fjord topic create orders --partitions 6 --replication-factor 1 --config retention.ms=86400000
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Names of the topics to create.") var names: [String]
    @Option(name: [.short, .long], help: "Partitions per topic (default: the broker's num.partitions).")
    var partitions: Int32?
    @Option(name: [.short, .long], help: "Replicas per partition (default: the broker's default.replication.factor).")
    var replicationFactor: Int16?
    @Option(name: [.short, .long], help: ArgumentHelp("A topic config (repeatable).", valueName: "key=value"))
    var config: [String] = []
    @Flag(name: .long, help: "Succeed when a topic already exists.") var ifNotExists = false

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("name at least one topic") }
        if let partitions, partitions < 1 { throw ValidationError("--partitions must be at least 1") }
        if let replicationFactor, replicationFactor < 1 {
            throw ValidationError("--replication-factor must be at least 1")
        }
        _ = try parseKeyValues(config, option: "--config")
    }

    func run() async throws {
        let configs = try parseKeyValues(config, option: "--config")
        let topics = names.map {
            NewTopic(
                name: $0, partitions: partitions ?? -1, replicationFactor: replicationFactor ?? -1, configs: configs)
        }
        let results = try await connection.withAdmin { try await $0.createTopics(topics) }
        var failures: [String] = []
        for name in names {
            switch results[name] {
            case .success?: print("created topic '\(name)'")
            case .failure(let error)? where ifNotExists && error.kafkaError == .topicAlreadyExists:
                print("topic '\(name)' already exists")
            case .failure(let error)?: failures.append(CLIError.describe(error, subject: "topic '\(name)'"))
            case nil: failures.append("topic '\(name)': no answer from the broker")
            }
        }
        guard failures.isEmpty else { throw CLIError(failures.joined(separator: "\n")) }
    }
}

struct TopicList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List topics with their partition counts.",
        discussion: """
            JSON: {"topics":[{"name":"orders","partitions":3,"replication_factor":1,"internal":false}]}

            Example:
              fjord topic list --format json
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Flag(name: .customLong("internal"), help: "Include internal topics (__consumer_offsets).")
    var includeInternal = false

    func run() async throws {
        let metadata = try await connection.withAdmin { try await $0.client.refreshMetadata(allTopics: true) }
        let topics = metadata.topics.values.filter { includeInternal || !$0.isInternal }.sorted { $0.name < $1.name }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "topics",
                        .array(
                            topics.map { topic in
                                .object([
                                    ("name", .string(topic.name)),
                                    ("partitions", .int(topic.partitions.count)),
                                    ("replication_factor", .int(topic.partitions.first?.replicas.count ?? 0)),
                                    ("internal", .bool(topic.isInternal)),
                                ])
                            })
                    )
                ]))
        case .text:
            Output.table(
                ["NAME", "PARTITIONS", "REPLICAS"],
                topics.map { ["\($0.name)", "\($0.partitions.count)", "\($0.partitions.first?.replicas.count ?? 0)"] }
            )
        }
    }
}

struct TopicDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Describe topics: partitions with leader, replicas, ISR, log start/end offsets and size.",
        discussion: """
            JSON: {"topics":[{"name":..,"topic_id":..,"internal":..,"partitions":[{"partition":0,"leader":1,
            "leader_epoch":0,"replicas":[1],"isr":[1],"log_start_offset":0,"log_end_offset":42,"size_bytes":4096}],
            "configs":{"retention.ms":"86400000"}}]}  (configs: only those set on the topic)

            Example:
              fjord topic describe orders
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: "Topics to describe.") var names: [String]

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("name at least one topic") }
    }

    func run() async throws {
        let names = self.names
        let described = try await connection.withAdmin { admin in
            try await TopicReport.collect(names, admin: admin)
        }
        switch output.format {
        case .json: Output.json(.object([("topics", .array(described.map(\.json)))]))
        case .text:
            for (index, topic) in described.enumerated() {
                if index > 0 { print("") }
                topic.printText()
            }
        }
    }
}

/// A described topic: placement, offsets, sizes and the configs set on it.
struct TopicReport {
    struct PartitionRow {
        var partition: ClusterMetadata.Partition
        var logStart: Int64?
        var logEnd: Int64?
        var size: Int64?
    }

    var description: TopicDescription
    var partitions: [PartitionRow]
    var configs: [(String, String)]

    static func collect(_ names: [String], admin: Admin) async throws -> [TopicReport] {
        let results = try await admin.describeTopics(names)
        try requireSuccess(results) { name, error in CLIError.describe(error, subject: "topic '\(name)'") }
        var reports: [TopicReport] = []
        let descriptions = names.compactMap { try? results[$0]?.get() }
        let all = descriptions.flatMap { topic in topic.partitions.map { TopicPartition(topic.name, $0.partition) } }
        let starts = await admin.listOffsets(Dictionary(uniqueKeysWithValues: all.map { ($0, .earliest) }))
        let ends = await admin.listOffsets(Dictionary(uniqueKeysWithValues: all.map { ($0, .latest) }))
        let sizes = try await LogDirSizes.fetch(for: descriptions, client: admin.client)
        let configResults = try await admin.describeConfigs(descriptions.map { .topic($0.name) })
        for topic in descriptions {
            let rows = topic.partitions.map { partition in
                let key = TopicPartition(topic.name, partition.partition)
                return PartitionRow(
                    partition: partition, logStart: try? starts[key]?.get().offset,
                    logEnd: try? ends[key]?.get().offset,
                    size: sizes[key]
                )
            }
            let entries = (try? configResults[.topic(topic.name)]?.get()) ?? []
            let set = entries.filter { !$0.isDefault && $0.source == 1 }.map { ($0.name, $0.value ?? "") }
                .sorted { $0.0 < $1.0 }
            reports.append(TopicReport(description: topic, partitions: rows, configs: set))
        }
        return reports
    }

    var json: JSONValue {
        .object([
            ("name", .string(description.name)),
            ("topic_id", .string(description.topicID.description)),
            ("internal", .bool(description.isInternal)),
            (
                "partitions",
                .array(
                    partitions.map { row in
                        .object([
                            ("partition", .int(row.partition.partition)),
                            ("leader", .int(row.partition.leader)),
                            ("leader_epoch", .int(row.partition.leaderEpoch)),
                            ("replicas", .array(row.partition.replicas.map { .int($0) })),
                            ("isr", .array(row.partition.isr.map { .int($0) })),
                            ("log_start_offset", .optional(row.logStart)),
                            ("log_end_offset", .optional(row.logEnd)),
                            ("size_bytes", .optional(row.size)),
                        ])
                    })
            ),
            ("configs", .object(configs.map { ($0.0, .string($0.1)) })),
        ])
    }

    func printText() {
        let replication = partitions.first?.partition.replicas.count ?? 0
        print(
            "Topic: \(description.name)  ID: \(description.topicID)  Partitions: \(partitions.count)  "
                + "ReplicationFactor: \(replication)\(description.isInternal ? "  (internal)" : "")")
        if !configs.isEmpty {
            print("Configs: " + configs.map { "\($0.0)=\($0.1)" }.joined(separator: ","))
        }
        func list(_ ids: [Int32]) -> String { ids.map(String.init).joined(separator: ",") }
        func text(_ value: Int64?) -> String { value.map(String.init) ?? "?" }
        Output.table(
            ["PARTITION", "LEADER", "REPLICAS", "ISR", "LOG-START", "LOG-END", "SIZE"],
            partitions.map { row in
                [
                    "\(row.partition.partition)", "\(row.partition.leader)", list(row.partition.replicas),
                    list(row.partition.isr), text(row.logStart), text(row.logEnd), row.size.map(formatBytes) ?? "?",
                ]
            }
        )
    }
}

/// Partition sizes on disk from DescribeLogDirs (Admin has no call for it), asked of each partition's leader.
enum LogDirSizes {
    static func fetch(for topics: [TopicDescription], client: KafkaClient) async throws -> [TopicPartition: Int64] {
        var byLeader: [Int32: [String: [Int32]]] = [:]
        for topic in topics {
            for partition in topic.partitions where partition.leader >= 0 {
                byLeader[partition.leader, default: [:]][topic.name, default: []].append(partition.partition)
            }
        }
        var sizes: [TopicPartition: Int64] = [:]
        for (leader, wanted) in byLeader {
            var request = DescribeLogDirsRequest()
            request.topics = wanted.sorted { $0.key < $1.key }.map {
                DescribeLogDirsRequest.DescribableLogDirTopic(topic: $0.key, partitions: $0.value.sorted())
            }
            guard let response = try? await client.send(request, to: leader) else { continue }
            for dir in response.results where dir.errorCode == 0 {
                for topic in dir.topics {
                    for partition in topic.partitions where !partition.isFutureKey {
                        sizes[TopicPartition(topic.name, partition.partitionIndex), default: 0] +=
                            partition.partitionSize
                    }
                }
            }
        }
        return sizes
    }
}

/// `12.3 KiB` style sizes for text output.
func formatBytes(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

struct TopicAlter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alter",
        abstract: "Set or remove configs of a topic.",
        discussion: """
            Same as `fjord config set/delete --topic`. Example:
              fjord topic alter orders --config retention.ms=3600000 --delete-config cleanup.policy
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The topic.") var name: String
    @Option(name: [.short, .long], help: ArgumentHelp("Set a config (repeatable).", valueName: "key=value"))
    var config: [String] = []
    @Option(name: .long, help: ArgumentHelp("Remove a config, back to the default (repeatable).", valueName: "key"))
    var deleteConfig: [String] = []

    func validate() throws {
        guard !config.isEmpty || !deleteConfig.isEmpty else {
            throw ValidationError("give --config key=value or --delete-config key")
        }
        _ = try parseKeyValues(config, option: "--config")
    }

    func run() async throws {
        let sets = try parseKeyValues(config, option: "--config")
        try await ConfigChanges.apply(
            resource: .topic(name), sets: sets, deletes: deleteConfig, connection: connection
        )
    }
}

struct TopicDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete topics and all their records.",
        discussion: """
            Example:
              fjord topic delete orders
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Topics to delete.") var names: [String]
    @Flag(name: .long, help: "Succeed when a topic does not exist.") var ifExists = false

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("name at least one topic") }
    }

    func run() async throws {
        let names = self.names
        let results = try await connection.withAdmin { try await $0.deleteTopics(names) }
        var failures: [String] = []
        for name in names {
            switch results[name] {
            case .success?: print("deleted topic '\(name)'")
            case .failure(let error)? where ifExists && error.kafkaError == .unknownTopicOrPartition:
                print("topic '\(name)' does not exist")
            case .failure(let error)?: failures.append(CLIError.describe(error, subject: "topic '\(name)'"))
            case nil: failures.append("topic '\(name)': no answer from the broker")
            }
        }
        guard failures.isEmpty else { throw CLIError(failures.joined(separator: "\n")) }
    }
}

struct TopicAddPartitions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add-partitions",
        abstract: "Grow a topic to a larger partition count (partitions can never be removed).",
        discussion: """
            Keys hash to new partitions afterwards: per-key order holds only for records produced after the change.

            Example:
              fjord topic add-partitions orders --partitions 12
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The topic.") var name: String
    @Option(name: [.short, .long], help: "The new total number of partitions.") var partitions: Int32

    func validate() throws {
        guard partitions >= 1 else { throw ValidationError("--partitions must be at least 1") }
    }

    func run() async throws {
        let (name, partitions) = (self.name, self.partitions)
        let results = try await connection.withAdmin { try await $0.createPartitions([name: partitions]) }
        try requireSuccess(results) { name, error in CLIError.describe(error, subject: "topic '\(name)'") }
        print("topic '\(name)' now has \(partitions) partitions")
    }
}
