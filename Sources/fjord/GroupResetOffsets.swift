import ArgumentParser
import FjordClient

/// `fjord group reset-offsets`: moves a group's committed offsets, as a dry run unless `--execute`.
struct GroupResetOffsets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-offsets",
        abstract: "Move a group's committed offsets (dry run unless --execute).",
        discussion: """
            Exactly one target: --to-earliest, --to-latest, --to-offset N, --to-datetime TIME (ISO-8601, @epoch-ms
            or epoch ms), --shift-by N (negative moves back), --by-duration D (that long before now: 1h, 30m, 2d,
            PT15M, P1DT2H). Exactly one scope: --topic T or T:p,p (repeatable) or --all-topics (every topic the
            group has offsets for). New offsets are clamped to each partition's log start and end.
            As in Kafka, the group must have no active members (state Empty or Dead).
            JSON: {"group":"billing","executed":false,"partitions":[{"topic","partition","current_offset",
            "new_offset"}]}

            Example:
              fjord group reset-offsets billing --topic orders --to-earliest            (prints the plan)
              fjord group reset-offsets billing --all-topics --by-duration 1h --execute
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: "The group.") var group: String

    @Flag(name: .long, help: "To each partition's log start offset.") var toEarliest = false
    @Flag(name: .long, help: "To each partition's log end offset.") var toLatest = false
    @Option(name: .long, help: "To this offset.") var toOffset: Int64?
    @Option(name: .long, help: "To the first offset at or after this time.") var toDatetime: String?
    @Option(name: .long, parsing: .unconditional, help: "Move by this many offsets (negative: back).")
    var shiftBy: Int64?
    @Option(name: .long, help: "To the first offset at or after now minus this duration.") var byDuration: String?

    @Option(name: [.short, .long], help: ArgumentHelp("A topic, or topic:p,p (repeatable).", valueName: "topic[:p,p]"))
    var topic: [TopicSelection] = []
    @Flag(name: .long, help: "Every topic the group has committed offsets for.") var allTopics = false

    @Flag(name: .long, help: "Only print the plan (the default).") var dryRun = false
    @Flag(name: .long, help: "Apply the plan.") var execute = false

    /// The target in effect.
    enum Target {
        case earliest, latest
        case offset(Int64)
        case time(Int64)
        case shift(Int64)
    }

    func target() throws -> Target {
        var targets: [Target] = []
        if toEarliest { targets.append(.earliest) }
        if toLatest { targets.append(.latest) }
        if let toOffset { targets.append(.offset(toOffset)) }
        if let toDatetime {
            guard let ms = TimeParsing.epochMilliseconds(toDatetime, allowBareNumber: true) else {
                throw ValidationError(
                    "--to-datetime: '\(toDatetime)' is not ISO-8601 (2026-11-26T10:00:00Z) or epoch ms")
            }
            targets.append(.time(ms))
        }
        if let shiftBy { targets.append(.shift(shiftBy)) }
        if let byDuration {
            guard let ms = TimeParsing.durationMilliseconds(byDuration) else {
                throw ValidationError(
                    "--by-duration: '\(byDuration)' is not a duration such as 1h, 30m, PT15M or P1DT2H")
            }
            targets.append(.time(TimeParsing.nowMilliseconds - ms))
        }
        guard targets.count == 1 else {
            throw ValidationError(
                "give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by, --by-duration"
            )
        }
        return targets[0]
    }

    func validate() throws {
        _ = try target()
        guard topic.isEmpty != !allTopics else { throw ValidationError("give --topic T (repeatable) or --all-topics") }
        guard !(dryRun && execute) else { throw ValidationError("--dry-run and --execute exclude each other") }
        if let toOffset, toOffset < 0 { throw ValidationError("--to-offset must be 0 or more") }
    }

    struct Move {
        var partition: TopicPartition
        var current: Int64?
        var new: Int64
    }

    func run() async throws {
        let target = try target()
        let (group, selections, allTopics, execute) = (self.group, self.topic, self.allTopics, self.execute)
        let moves = try await connection.withAdmin { admin -> [Move] in
            let described = await admin.describeGroups([group])
            if case .success(let description)? = described[group], description.state != "Empty",
                description.state != "Dead"
            {
                throw CLIError(
                    "group '\(group)' has \(description.members.count) active member(s) (state \(description.state)); "
                        + "offsets can only be reset while the group is inactive",
                    hint: "stop its consumers, then run this again"
                )
            }
            let committed = try await admin.listGroupOffsets(group)
            var current: [TopicPartition: Int64] = [:]
            for (partition, result) in committed {
                if case .success(let entry) = result, entry.offset >= 0 { current[partition] = entry.offset }
            }
            var partitions: [TopicPartition] = []
            if allTopics {
                partitions = current.keys.sorted()
                guard !partitions.isEmpty else {
                    throw CLIError("group '\(group)' has no committed offsets", hint: "name topics with --topic")
                }
            } else {
                for selection in selections { partitions += try await selection.resolve(admin: admin) }
            }
            let moves = try await Self.plan(target, partitions: partitions, current: current, admin: admin)
            if execute {
                let results = try await admin.alterGroupOffsets(
                    group, offsets: Dictionary(uniqueKeysWithValues: moves.map { ($0.partition, $0.new) })
                )
                try requireSuccess(results) { partition, error in
                    if error.kafkaError == .unknownMemberID || error.kafkaError == .rebalanceInProgress {
                        return "\(partition): group '\(group)' became active; stop its consumers and retry"
                    }
                    return "\(partition): \(CLIError.describe(error, subject: "group '\(group)'"))"
                }
            }
            return moves
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    ("group", .string(group)),
                    ("executed", .bool(execute)),
                    (
                        "partitions",
                        .array(
                            moves.map { move in
                                .object([
                                    ("topic", .string(move.partition.topic)),
                                    ("partition", .int(move.partition.partition)),
                                    ("current_offset", .optional(move.current)), ("new_offset", .int(move.new)),
                                ])
                            })
                    ),
                ]))
        case .text:
            Output.table(
                ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"],
                moves.map {
                    [
                        group, $0.partition.topic, "\($0.partition.partition)", $0.current.map(String.init) ?? "-",
                        "\($0.new)",
                    ]
                }
            )
            if execute {
                print("reset \(moves.count) partition(s) of group '\(group)'")
            } else {
                Output.error("dry run: nothing changed; add --execute to apply")
            }
        }
    }

    /// The new offset of each partition, clamped to [log start, log end].
    static func plan(
        _ target: Target, partitions: [TopicPartition], current: [TopicPartition: Int64], admin: Admin
    ) async throws -> [Move] {
        func lookup(_ spec: KafkaClient.OffsetSpec) async throws -> [TopicPartition: Int64] {
            let found = await admin.listOffsets(Dictionary(uniqueKeysWithValues: partitions.map { ($0, spec) }))
            var result: [TopicPartition: Int64] = [:]
            for (partition, answer) in found {
                switch answer {
                case .success(let listed): result[partition] = listed.offset
                case .failure(let error): throw CLIError(CLIError.describe(error, subject: "\(partition)"))
                }
            }
            return result
        }
        let starts = try await lookup(.earliest)
        let ends = try await lookup(.latest)
        var byTime: [TopicPartition: Int64] = [:]
        if case .time(let ms) = target { byTime = try await lookup(.timestamp(ms)) }
        return partitions.sorted().map { partition in
            let start = starts[partition] ?? 0
            let end = ends[partition] ?? start
            let wanted: Int64
            switch target {
            case .earliest: wanted = start
            case .latest: wanted = end
            case .offset(let offset): wanted = offset
            case .time: wanted = (byTime[partition] ?? -1) < 0 ? end : byTime[partition]!
            case .shift(let delta): wanted = (current[partition] ?? start) + delta
            }
            return Move(partition: partition, current: current[partition], new: min(max(wanted, start), end))
        }
    }
}
