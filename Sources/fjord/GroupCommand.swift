import ArgumentParser
import FjordClient
import KafkaProtocol

/// `fjord group`: list, describe, delete consumer groups; reset and delete their offsets.
struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group",
        abstract: "List, describe and delete consumer groups; reset or delete their committed offsets.",
        subcommands: [
            GroupList.self, GroupDescribe.self, GroupDelete.self, GroupResetOffsets.self, GroupDeleteOffsets.self,
        ]
    )
}

/// `--topic T` or `--topic T:0,2`: a topic with all or some of its partitions.
struct TopicSelection: ExpressibleByArgument, Hashable {
    var topic: String
    var partitions: [Int32]?

    init?(argument: String) {
        guard let colon = argument.lastIndex(of: ":") else {
            guard !argument.isEmpty else { return nil }
            self.topic = argument
            self.partitions = nil
            return
        }
        let list = argument[argument.index(after: colon)...].split(separator: ",").map { Int32($0) }
        guard colon != argument.startIndex, !list.isEmpty, list.allSatisfy({ $0 != nil && $0! >= 0 }) else {
            return nil
        }
        self.topic = String(argument[..<colon])
        self.partitions = list.map { $0! }
    }

    /// The selected partitions, checked against the topic's partition count.
    func resolve(admin: Admin) async throws -> [TopicPartition] {
        let described = try await admin.describeTopics([topic])
        guard case .success(let description)? = described[topic] else {
            if case .failure(let error)? = described[topic] {
                throw CLIError(CLIError.describe(error, subject: "topic '\(topic)'"))
            }
            throw CLIError("topic '\(topic)' does not exist", hint: "list topics with `fjord topic list`")
        }
        let all = description.partitions.map(\.partition)
        guard let partitions else { return all.map { TopicPartition(topic, $0) } }
        for partition in partitions where !all.contains(partition) {
            throw CLIError(
                "topic '\(topic)' has no partition \(partition) (it has \(all.count))",
                hint: "see `fjord topic describe \(topic)`"
            )
        }
        return partitions.map { TopicPartition(topic, $0) }
    }
}

struct GroupList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List consumer groups with their state.",
        discussion: """
            JSON: {"groups":[{"group":"billing","state":"Empty","protocol_type":"consumer","coordinator":1}]}

            Example:
              fjord group list
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions

    func run() async throws {
        let groups = try await connection.withAdmin { try await $0.listGroups() }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "groups",
                        .array(
                            groups.map { group in
                                .object([
                                    ("group", .string(group.groupID)), ("state", .string(group.state)),
                                    ("protocol_type", .string(group.protocolType)),
                                    ("coordinator", .int(group.coordinator)),
                                ])
                            })
                    )
                ]))
        case .text:
            Output.table(
                ["GROUP", "STATE", "PROTOCOL-TYPE", "COORDINATOR"],
                groups.map {
                    [$0.groupID, $0.state, $0.protocolType.isEmpty ? "-" : $0.protocolType, "\($0.coordinator)"]
                }
            )
        }
    }
}

/// A group's members, committed offsets, log end offsets and lag.
struct GroupReport {
    struct Row {
        var partition: TopicPartition
        var committed: Int64?
        var logEnd: Int64?
        var member: GroupDescription.Member?

        var lag: Int64? {
            guard let logEnd else { return nil }
            guard let committed else { return nil }
            return max(0, logEnd - committed)
        }
    }

    var description: GroupDescription
    var rows: [Row]

    var totalLag: Int64 { rows.compactMap(\.lag).reduce(0, +) }

    static func collect(_ group: String, admin: Admin) async throws -> GroupReport {
        let described = await admin.describeGroups([group])
        let description: GroupDescription
        switch described[group] {
        case .success(let found)?: description = found
        case .failure(let error)?: throw CLIError(CLIError.describe(error, subject: "group '\(group)'"))
        case nil: throw CLIError("group '\(group)': no answer from the coordinator")
        }
        let offsets = try await admin.listGroupOffsets(group)
        var committed: [TopicPartition: Int64] = [:]
        for (partition, result) in offsets {
            if case .success(let entry) = result, entry.offset >= 0 { committed[partition] = entry.offset }
        }
        if description.state == "Dead" && committed.isEmpty {
            throw CLIError("group '\(group)' does not exist", hint: "list groups with `fjord group list`")
        }
        var owners: [TopicPartition: GroupDescription.Member] = [:]
        for member in description.members {
            for partition in member.assignment { owners[partition] = member }
        }
        let partitions = Set(committed.keys).union(owners.keys).sorted()
        let ends = await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, .latest) }))
        let rows = partitions.map {
            Row(partition: $0, committed: committed[$0], logEnd: try? ends[$0]?.get().offset, member: owners[$0])
        }
        return GroupReport(description: description, rows: rows)
    }

    var json: JSONValue {
        .object([
            ("group", .string(description.groupID)),
            ("state", .string(description.state)),
            ("protocol_type", .string(description.protocolType)),
            ("assignor", .string(description.protocolName)),
            ("coordinator", .int(description.coordinator)),
            (
                "members",
                .array(
                    description.members.map { member in
                        .object([
                            ("member_id", .string(member.memberID)),
                            ("instance_id", .optional(member.groupInstanceID)),
                            ("client_id", .string(member.clientID)),
                            ("host", .string(member.clientHost)),
                            (
                                "assignment",
                                .array(
                                    member.assignment.sorted().map {
                                        .object([("topic", .string($0.topic)), ("partition", .int($0.partition))])
                                    })
                            ),
                        ])
                    })
            ),
            (
                "offsets",
                .array(
                    rows.map { row in
                        .object([
                            ("topic", .string(row.partition.topic)),
                            ("partition", .int(row.partition.partition)),
                            ("committed_offset", .optional(row.committed)),
                            ("log_end_offset", .optional(row.logEnd)),
                            ("lag", .optional(row.lag)),
                            ("member_id", .optional(row.member?.memberID)),
                        ])
                    })
            ),
            ("total_lag", .int(totalLag)),
        ])
    }

    func printText() {
        let d = description
        print(
            "Group: \(d.groupID)  State: \(d.state)  Assignor: \(d.protocolName.isEmpty ? "-" : d.protocolName)  "
                + "Coordinator: \(d.coordinator)  Members: \(d.members.count)")
        if !d.members.isEmpty {
            print("")
            Output.table(
                ["MEMBER-ID", "CLIENT-ID", "HOST", "PARTITIONS"],
                d.members.map { member in
                    [
                        member.memberID, member.clientID, member.clientHost,
                        member.assignment.sorted().map(\.description).joined(separator: ","),
                    ]
                }
            )
        }
        print("")
        if rows.isEmpty {
            print("no committed offsets and no assigned partitions")
        } else {
            func text(_ value: Int64?) -> String { value.map(String.init) ?? "-" }
            Output.table(
                ["TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "MEMBER-ID"],
                rows.map { row in
                    [
                        row.partition.topic, "\(row.partition.partition)", text(row.committed), text(row.logEnd),
                        text(row.lag), row.member?.memberID ?? "-",
                    ]
                }
            )
        }
        print("Total lag: \(totalLag)")
    }
}

struct GroupDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract: "Show a group's members, assignments, committed offsets, log end offsets and lag.",
        discussion: """
            Lag is log end offset minus committed offset per partition, and their sum as total lag.
            JSON: {"groups":[{"group","state","protocol_type","assignor","coordinator",
            "members":[{"member_id","instance_id","client_id","host","assignment":[{"topic","partition"}]}],
            "offsets":[{"topic","partition","committed_offset","log_end_offset","lag","member_id"}],"total_lag"}]}

            Example:
              fjord group describe billing
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: "Groups to describe.") var groups: [String]

    func validate() throws {
        guard !groups.isEmpty else { throw ValidationError("name at least one group") }
    }

    func run() async throws {
        let groups = self.groups
        let reports = try await connection.withAdmin { admin in
            var reports: [GroupReport] = []
            for group in groups { reports.append(try await GroupReport.collect(group, admin: admin)) }
            return reports
        }
        switch output.format {
        case .json: Output.json(.object([("groups", .array(reports.map(\.json)))]))
        case .text:
            for (index, report) in reports.enumerated() {
                if index > 0 { print("") }
                report.printText()
            }
        }
    }
}

struct GroupDelete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete consumer groups and their committed offsets (the groups must have no active members).",
        discussion: """
            Example:
              fjord group delete billing
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Groups to delete.") var groups: [String]

    func validate() throws {
        guard !groups.isEmpty else { throw ValidationError("name at least one group") }
    }

    func run() async throws {
        let groups = self.groups
        let results = try await connection.withAdmin { await $0.deleteGroups(groups) }
        var failures: [String] = []
        for group in groups {
            switch results[group] {
            case .success?: print("deleted group '\(group)'")
            case .failure(let error)?: failures.append(CLIError.describe(error, subject: "group '\(group)'"))
            case nil: failures.append("group '\(group)': no answer from the coordinator")
            }
        }
        guard failures.isEmpty else { throw CLIError(failures.joined(separator: "\n")) }
    }
}

struct GroupDeleteOffsets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-offsets",
        abstract: "Delete a group's committed offsets of some topics (OffsetDelete).",
        discussion: """
            Kafka refuses (GROUP_SUBSCRIBED_TO_TOPIC) for topics the group's active members subscribe to.

            Example:
              fjord group delete-offsets billing --topic orders --topic payments:0,1
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The group.") var group: String
    @Option(
        name: [.short, .long],
        help: ArgumentHelp("A topic, or topic:p,p for some partitions (repeatable).", valueName: "topic[:p,p]"))
    var topic: [TopicSelection] = []

    func validate() throws {
        guard !topic.isEmpty else { throw ValidationError("give at least one --topic") }
    }

    func run() async throws {
        let (group, selections) = (self.group, self.topic)
        try await connection.withAdmin { admin in
            var partitions: [TopicPartition] = []
            for selection in selections { partitions += try await selection.resolve(admin: admin) }
            let coordinator = try await admin.client.findCoordinator(key: group)
            var request = OffsetDeleteRequest()
            request.groupID = group
            request.topics = Dictionary(grouping: partitions, by: \.topic).sorted { $0.key < $1.key }.map {
                topic, parts in
                OffsetDeleteRequest.OffsetDeleteRequestTopic(
                    name: topic, partitions: parts.sorted().map { .init(partitionIndex: $0.partition) }
                )
            }
            let response = try await admin.client.send(request, to: coordinator)
            if let error = ClientError.kafka(response.errorCode, "OffsetDelete failed") {
                throw CLIError(CLIError.describe(error, subject: "group '\(group)'"))
            }
            var failures: [String] = []
            for topic in response.topics {
                for answer in topic.partitions {
                    let partition = TopicPartition(topic.name, answer.partitionIndex)
                    if let error = ClientError.kafka(answer.errorCode, "OffsetDelete failed") {
                        let code = error.kafkaError ?? .unknownServerError
                        failures.append(
                            code == .groupSubscribedToTopic
                                ? "\(partition): the group's active members read topic '\(topic.name)'; stop them first"
                                : "\(partition): \(code.kafkaName)"
                        )
                    } else {
                        print("deleted offset of \(partition) for group '\(group)'")
                    }
                }
            }
            guard failures.isEmpty else { throw CLIError(failures.sorted().joined(separator: "\n")) }
        }
    }
}
