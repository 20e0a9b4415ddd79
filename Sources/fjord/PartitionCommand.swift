import ArgumentParser
import FjordClient
import Foundation
import KafkaProtocol

/// `fjord partition`: operations on partitions' replicas and leaders.
struct PartitionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partition",
        abstract:
            "Elect partition leaders (as kafka-leader-election.sh) and move replicas (as kafka-reassign-partitions.sh).",
        subcommands: [PartitionElectLeaders.self, PartitionReassign.self]
    )
}

/// `fjord partition elect-leaders`: preferred or unclean elections, as `kafka-leader-election.sh`.
struct PartitionElectLeaders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elect-leaders",
        abstract: "Move leaderships to preferred replicas, or give leaderless partitions any live replica.",
        discussion: """
            PREFERRED moves each partition's leadership to its first replica when that replica is alive and in the
            ISR; UNCLEAN gives a partition without a leader any live replica, even one that is not in sync (records
            only the old ISR had are lost). Name the partitions with --topic and --partition, with
            --path-to-json-file (kafka-leader-election.sh's file: {"partitions": [{"topic": "t", "partition": 0}]}),
            or take every partition with --all-topic-partitions. Prints what was elected, what needed no election,
            and each failure; the exit status is 1 when some partition could not be elected.
            """
    )

    enum Election: String, ExpressibleByArgument, CaseIterable {
        case preferred, unclean

        init?(argument: String) { self.init(rawValue: argument.lowercased()) }

        var type: Admin.ElectionType { self == .preferred ? .preferred : .unclean }
    }

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customLong("election-type"), help: "preferred or unclean.")
    var electionType: Election

    @Option(name: .long, help: "The topic of the partition to elect a leader for (with --partition).")
    var topic: String?

    @Option(name: .long, help: "The partition to elect a leader for (with --topic).")
    var partition: Int32?

    @Flag(name: .customLong("all-topic-partitions"), help: "Every partition of every topic.")
    var allTopicPartitions = false

    @Option(
        name: .customLong("path-to-json-file"),
        help: ArgumentHelp("A JSON file listing the partitions.", valueName: "file"))
    var pathToJSONFile: String?

    func validate() throws {
        let chosen = [topic != nil, allTopicPartitions, pathToJSONFile != nil].filter { $0 }.count
        guard chosen == 1 else {
            throw ValidationError(
                "one and only one of --topic, --all-topic-partitions and --path-to-json-file is required")
        }
        if topic != nil && partition == nil { throw ValidationError("--topic needs --partition") }
        if topic == nil && partition != nil { throw ValidationError("--partition is only allowed with --topic") }
    }

    /// kafka-leader-election.sh's JSON file.
    private struct PartitionsFile: Decodable {
        struct Entry: Decodable {
            var topic: String
            var partition: Int32
        }
        var partitions: [Entry]
    }

    func run() async throws {
        let named: [TopicPartition]?
        if let topic, let partition {
            named = [TopicPartition(topic, partition)]
        } else if let pathToJSONFile {
            named = try Self.readPartitions(pathToJSONFile)
        } else {
            named = nil
        }
        let type = electionType.type
        let results = try await connection.withAdmin { try await $0.electLeaders(type, partitions: named) }
        let label = electionType.rawValue.uppercased()
        var elected = [TopicPartition]()
        var notNeeded = [TopicPartition]()
        var failed = [(TopicPartition, ClientError)]()
        for (partition, result) in results.sorted(by: { $0.key < $1.key }) {
            switch result {
            case .success: elected.append(partition)
            case .failure(let error) where error.kafkaError == .electionNotNeeded: notNeeded.append(partition)
            case .failure(let error): failed.append((partition, error))
            }
        }
        if !elected.isEmpty {
            print("Successfully completed leader election (\(label)) for partitions \(Self.list(elected))")
        }
        if !notNeeded.isEmpty { print("Valid replica already elected for partitions \(Self.list(notNeeded))") }
        for (partition, error) in failed {
            let name = error.kafkaError.map(\.kafkaName) ?? "\(error.code)"
            print("Error completing leader election (\(label)) for partition: \(partition): \(name): \(error.message)")
        }
        if !failed.isEmpty { throw CLIError("\(failed.count) replica(s) could not be elected") }
    }

    private static func list(_ partitions: [TopicPartition]) -> String {
        partitions.map(\.description).joined(separator: ", ")
    }

    static func readPartitions(_ path: String) throws -> [TopicPartition] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("--path-to-json-file: cannot read \(path)")
        }
        let file: PartitionsFile
        do {
            file = try JSONDecoder().decode(PartitionsFile.self, from: data)
        } catch {
            throw ValidationError(
                "--path-to-json-file: \(path) is not {\"partitions\": [{\"topic\": ..., \"partition\": ...}]}")
        }
        let partitions = file.partitions.map { TopicPartition($0.topic, $0.partition) }
        guard Set(partitions).count == partitions.count else {
            throw ValidationError("--path-to-json-file: \(path) names a partition twice")
        }
        guard !partitions.isEmpty else { throw ValidationError("--path-to-json-file: \(path) lists no partitions") }
        return partitions
    }
}
