import ArgumentParser
import FjordClient
import KafkaProtocol

/// `fjord cluster drain BROKER`: moves every replica off a broker (partition reassignments), so it can be retired.
struct ClusterDrain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Move every replica off a broker, so that it can be retired.",
        discussion: """
            Each partition with a replica on BROKER gets, in that replica's place, the live broker that holds the
            fewest replicas among those the partition is not on yet (so the partition keeps its replica count and,
            where BROKER was the preferred leader, the newcomer becomes it). The moves start at once; with --wait
            the command returns when they are complete. Internal topics move too. Refused when some partition has
            nowhere to go (as many replicas as there are other live brokers).

            Example:
              fjord cluster drain 3 --bootstrap 127.0.0.1:9092 --wait
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The broker to empty.")
    var broker: Int32

    @Flag(help: "Wait until every move is complete.")
    var wait = false

    @Option(help: ArgumentHelp("How long --wait waits, in seconds.", valueName: "seconds"))
    var timeout: Int = 600

    func run() async throws {
        let moves = try await connection.withAdmin { admin -> [TopicPartition: (from: [Int32], to: [Int32])] in
            let metadata = try await admin.client.refreshMetadata(allTopics: true)
            let moves = try Self.plan(off: broker, metadata: metadata)
            guard !moves.isEmpty else { return moves }
            let results = try await admin.alterPartitionReassignments(moves.mapValues { Optional($0.to) })
            let failed = results.compactMap { partition, result -> String? in
                guard case .failure(let error) = result else { return nil }
                return "\(partition): \(error.message)"
            }
            if !failed.isEmpty { throw CLIError("could not move: \(failed.sorted().joined(separator: "; "))") }
            return moves
        }
        guard !moves.isEmpty else {
            print("Broker \(broker) holds no replicas.")
            return
        }
        print("Moving \(moves.count) replica(s) off broker \(broker):")
        for (partition, move) in moves.sorted(by: { $0.key < $1.key }) {
            print("  \(partition): \(move.from) -> \(move.to)")
        }
        guard wait else { return }
        let deadline = ContinuousClock.now + .seconds(timeout)
        while true {
            let ongoing = try await connection.withAdmin { try await $0.listPartitionReassignments(Array(moves.keys)) }
            if ongoing.isEmpty { break }
            guard ContinuousClock.now < deadline else {
                throw CLIError("\(ongoing.count) move(s) still in progress after \(timeout) s")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        print("Broker \(broker) holds no replicas.")
    }

    /// Each partition on `broker` with its replicas now and after the move.
    static func plan(off broker: Int32, metadata: ClusterMetadata) throws -> [TopicPartition: (
        from: [Int32], to: [Int32]
    )] {
        let live = metadata.brokers.keys.filter { $0 != broker }.sorted()
        var load = Dictionary(uniqueKeysWithValues: live.map { ($0, 0) })
        for topic in metadata.topics.values {
            for partition in topic.partitions {
                for replica in partition.replicas where load[replica] != nil { load[replica]! += 1 }
            }
        }
        var moves = [TopicPartition: (from: [Int32], to: [Int32])]()
        var stuck = [String]()
        for topic in metadata.topics.values.sorted(by: { $0.name < $1.name }) {
            for partition in topic.partitions where partition.replicas.contains(broker) {
                let name = TopicPartition(topic.name, partition.partition)
                let candidates = live.filter { !partition.replicas.contains($0) }
                guard let newcomer = candidates.min(by: { (load[$0]!, $0) < (load[$1]!, $1) }) else {
                    stuck.append(name.description)
                    continue
                }
                load[newcomer]! += 1
                moves[name] = (partition.replicas, partition.replicas.map { $0 == broker ? newcomer : $0 })
            }
        }
        guard stuck.isEmpty else {
            throw CLIError(
                "no other live broker can take the replica of \(stuck.joined(separator: ", ")) (as many replicas as other live brokers)"
            )
        }
        return moves
    }
}
