import ArgumentParser
import FjordClient
import FjordController
import Foundation
import KafkaProtocol

/// `fjord partition reassign`: move partitions' replicas between brokers, as `kafka-reassign-partitions.sh`.
struct PartitionReassign: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reassign",
        abstract: "Move partitions' replicas to other brokers, check a move, or cancel it.",
        discussion: """
            A plan is kafka-reassign-partitions.sh's JSON: {"version":1,"partitions":[{"topic":"t","partition":0,
            "replicas":[2,3]}]} ("log_dirs" may be given; only "any" is accepted).
            --plan FILE (alias --reassignment-json-file) with --execute (the default) starts the moves: the new
            replicas catch up, then the old ones are dropped. It prints the current assignment first: keep it to
            move back. --verify prints each partition's state (exit status 1 while a move is in progress or its
            replicas differ from the plan); --cancel stops the moves in progress, back to the replicas before.
            --generate proposes a plan for --topics (or --topics-to-move-json-file, {"topics":[{"topic":"t"}]})
            spread over --brokers (alias --broker-list), keeping each partition's replica count.

            Example:
              fjord partition reassign --bootstrap 127.0.0.1:9092 --generate --topics orders --brokers 2,3,4
              fjord partition reassign --bootstrap 127.0.0.1:9092 --plan move.json --execute
              fjord partition reassign --bootstrap 127.0.0.1:9092 --plan move.json --verify
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(
        name: [.customLong("plan"), .customLong("reassignment-json-file")],
        help: ArgumentHelp("The reassignment plan (JSON).", valueName: "file"))
    var plan: String?

    @Flag(help: "Start the moves of the plan (the default with --plan).")
    var execute = false

    @Option(
        help: ArgumentHelp(
            "With --execute: cap the moves' replication traffic at this many bytes per second (KIP-73).",
            valueName: "bytes/s"))
    var throttle: Int64?

    @Flag(help: "Print the state of each move of the plan.")
    var verify = false

    @Flag(help: "Cancel the moves of the plan that are in progress.")
    var cancel = false

    @Flag(help: "Propose a plan that spreads --topics over --brokers.")
    var generate = false

    @Option(help: ArgumentHelp("Topics to move, comma-separated (with --generate).", valueName: "names"))
    var topics: String?

    @Option(
        name: .customLong("topics-to-move-json-file"),
        help: ArgumentHelp("Topics to move, as {\"topics\":[{\"topic\":\"t\"}]} (with --generate).", valueName: "file"))
    var topicsFile: String?

    @Option(
        name: [.customLong("brokers"), .customLong("broker-list")],
        help: ArgumentHelp("Brokers to move to, comma-separated (with --generate).", valueName: "ids"))
    var brokers: String?

    func validate() throws {
        let actions = [execute, verify, cancel, generate].filter { $0 }.count
        guard actions <= 1 else { throw ValidationError("only one of --execute, --verify, --cancel, --generate") }
        if generate {
            guard (topics == nil) != (topicsFile == nil) else {
                throw ValidationError("--generate needs one of --topics and --topics-to-move-json-file")
            }
            guard brokers != nil else { throw ValidationError("--generate needs --brokers") }
        } else if plan == nil {
            throw ValidationError("--plan is required (or --generate)")
        }
        if let throttle {
            guard !verify, !cancel, !generate else { throw ValidationError("--throttle goes with --execute") }
            guard throttle > 0 else { throw ValidationError("--throttle must be a positive number of bytes/s") }
        }
    }

    func run() async throws {
        if generate { return try await proposePlan() }
        let moves = try ReassignmentPlan.read(plan!)
        if verify { return try await verifyPlan(moves) }
        if cancel { return try await cancelPlan(moves) }
        try await executePlan(moves)
    }

    private func executePlan(_ moves: [TopicPartition: [Int32]]) async throws {
        let results = try await connection.withAdmin { admin in
            let current = try await Self.assignment(of: Array(moves.keys), admin: admin)
            print("Current partition replica assignment\n")
            print(ReassignmentPlan.json(current))
            print("\nSave this to use as the --reassignment-json-file option during rollback")
            if let throttle {
                try await Self.setThrottles(throttle, moves: moves, current: current, admin: admin)
                print(
                    "Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed."
                )
                print("The inter-broker throttle limit was set to \(throttle) B/s")
            }
            return try await admin.alterPartitionReassignments(moves.mapValues { Optional($0) })
        }
        let failed = results.filter { if case .failure = $0.value { true } else { false } }
        let started = results.keys.filter { failed[$0] == nil }.sorted()
        if !started.isEmpty {
            print("Successfully started partition reassignments for \(Self.list(started))")
        }
        for (partition, result) in failed.sorted(by: { $0.key < $1.key }) {
            guard case .failure(let error) = result else { continue }
            print("Error reassigning partition(s): \(partition): \(error.message)")
        }
        if !failed.isEmpty { throw CLIError("\(failed.count) partition(s) could not be reassigned") }
    }

    private func verifyPlan(_ moves: [TopicPartition: [Int32]]) async throws {
        let (ongoing, current) = try await connection.withAdmin { admin in
            (
                try await admin.listPartitionReassignments(Array(moves.keys)),
                try await Self.assignment(of: Array(moves.keys), admin: admin)
            )
        }
        print("Status of partition reassignment:")
        var unfinished = 0
        for (partition, target) in moves.sorted(by: { $0.key < $1.key }) {
            if ongoing[partition] != nil {
                print("Reassignment of partition \(partition) is still in progress.")
                unfinished += 1
            } else if current[partition] == target {
                print("Reassignment of partition \(partition) is completed.")
            } else {
                let replicas = current[partition].map { "\($0)" } ?? "unknown"
                print(
                    "There is no active reassignment of partition \(partition), but replica set is \(replicas) rather than \(target)."
                )
                unfinished += 1
            }
        }
        if unfinished > 0 { throw CLIError("\(unfinished) partition(s) not reassigned (yet)") }
        try await connection.withAdmin { admin in try await Self.clearThrottles(of: moves, admin: admin) }
    }

    static let rateKeys = ["leader.replication.throttled.rate", "follower.replication.throttled.rate"]
    static let leaderReplicasKey = "leader.replication.throttled.replicas"
    static let followerReplicasKey = "follower.replication.throttled.replicas"

    /// As kafka-reassign-partitions.sh --throttle: the rate on each broker a move involves (its own dynamic config),
    /// the moving partitions' current replicas throttled as leaders and their new replicas as followers.
    static func setThrottles(
        _ rate: Int64, moves: [TopicPartition: [Int32]], current: [TopicPartition: [Int32]], admin: Admin
    ) async throws {
        let brokers = Set(moves.flatMap { partition, target in target + (current[partition] ?? []) })
        var changes = [ConfigResource: [ConfigAlteration]]()
        for broker in brokers {
            changes[ConfigResource(.broker, "\(broker)")] = rateKeys.map {
                ConfigAlteration(name: $0, value: "\(rate)")
            }
        }
        for (topic, partitions) in Dictionary(grouping: moves.keys, by: \.topic) {
            var leaders = [String]()
            var followers = [String]()
            for partition in partitions.sorted() {
                let now = current[partition] ?? []
                leaders += now.map { "\(partition.partition):\($0)" }
                followers += moves[partition]!.filter { !now.contains($0) }.map { "\(partition.partition):\($0)" }
            }
            changes[ConfigResource(.topic, topic)] = [
                ConfigAlteration(name: leaderReplicasKey, value: leaders.joined(separator: ",")),
                ConfigAlteration(name: followerReplicasKey, value: followers.joined(separator: ",")),
            ]
        }
        try check(try await admin.incrementalAlterConfigs(changes), doing: "set the throttle")
    }

    /// As --verify does once every move of the plan is complete: the throttles go, from every broker.
    static func clearThrottles(of moves: [TopicPartition: [Int32]], admin: Admin) async throws {
        let topics = Set(moves.keys.map(\.topic)).sorted()
        let brokers = try await admin.describeCluster().brokers.keys.sorted()
        var changes = [ConfigResource: [ConfigAlteration]]()
        for broker in brokers {
            changes[ConfigResource(.broker, "\(broker)")] = rateKeys.map {
                ConfigAlteration(name: $0, operation: .delete, value: nil)
            }
        }
        for topic in topics {
            changes[ConfigResource(.topic, topic)] = [leaderReplicasKey, followerReplicasKey].map {
                ConfigAlteration(name: $0, operation: .delete, value: nil)
            }
        }
        try check(try await admin.incrementalAlterConfigs(changes), doing: "clear the throttle")
        print("Clearing broker-level throttles on brokers \(brokers.map(String.init).joined(separator: ","))")
        for topic in topics { print("Clearing topic-level throttles on topic \(topic)") }
    }

    private static func check(_ results: [ConfigResource: Result<Void, ClientError>], doing what: String) throws {
        for (resource, result) in results {
            if case .failure(let error) = result {
                throw CLIError("could not \(what) on \(resource): \(error.message)")
            }
        }
    }

    private func cancelPlan(_ moves: [TopicPartition: [Int32]]) async throws {
        let results = try await connection.withAdmin { admin in
            try await admin.alterPartitionReassignments(moves.mapValues { _ in nil })
        }
        var cancelled = [TopicPartition]()
        var failed = [(TopicPartition, ClientError)]()
        for (partition, result) in results.sorted(by: { $0.key < $1.key }) {
            switch result {
            case .success: cancelled.append(partition)
            // Nothing in progress: nothing to cancel (kafka-reassign-partitions.sh says nothing either).
            case .failure(let error) where error.kafkaError == .noReassignmentInProgress: break
            case .failure(let error): failed.append((partition, error))
            }
        }
        print("Successfully cancelled partition reassignments for: \(Self.list(cancelled))")
        for (partition, error) in failed {
            print("Error cancelling the reassignment of \(partition): \(error.message)")
        }
        if !failed.isEmpty { throw CLIError("\(failed.count) reassignment(s) could not be cancelled") }
    }

    private func proposePlan() async throws {
        let names = try topicsFile.map(ReassignmentPlan.readTopics) ?? Self.split(topics!)
        let brokerIDs = try Self.split(brokers!).map { text -> Int32 in
            guard let id = Int32(text), id >= 0 else { throw ValidationError("--brokers: \(text) is not a broker id") }
            return id
        }
        guard Set(brokerIDs).count == brokerIDs.count else { throw ValidationError("--brokers names a broker twice") }
        let current = try await connection.withAdmin { admin in
            let metadata = try await admin.client.refreshMetadata(topics: names)
            var current = [TopicPartition: [Int32]]()
            for name in names {
                guard let topic = metadata.topics[name], topic.error == .none else {
                    throw CLIError("topic \(name) does not exist")
                }
                for partition in topic.partitions {
                    current[TopicPartition(name, partition.partition)] = partition.replicas
                }
            }
            return current
        }
        var proposed = [TopicPartition: [Int32]]()
        let placer = ReplicaPlacer(
            candidates: brokerIDs.map { ReplicaPlacer.Candidate(id: $0, rack: nil) },
            seed: UInt64.random(in: 0...(.max)))
        for name in names {
            let partitions = current.keys.filter { $0.topic == name }.sorted()
            let factor = Int16(current[partitions[0]]!.count)
            if let problem = placer.problem(replicationFactor: factor) { throw CLIError("\(name): \(problem)") }
            for (partition, replicas) in zip(
                partitions, placer.place(count: Int32(partitions.count), replicationFactor: factor))
            {
                proposed[partition] = replicas
            }
        }
        print("Current partition replica assignment")
        print(ReassignmentPlan.json(current))
        print("\nProposed partition reassignment configuration")
        print(ReassignmentPlan.json(proposed))
    }

    /// The current replicas of `partitions`, from the cluster's metadata.
    static func assignment(of partitions: [TopicPartition], admin: Admin) async throws -> [TopicPartition: [Int32]] {
        let metadata = try await admin.client.refreshMetadata(topics: Array(Set(partitions.map(\.topic))))
        var current = [TopicPartition: [Int32]]()
        for partition in partitions {
            if let replicas = metadata.topics[partition.topic]?.partitions.first(where: {
                $0.partition == partition.partition
            })?.replicas {
                current[partition] = replicas
            }
        }
        return current
    }

    static func list(_ partitions: [TopicPartition]) -> String {
        partitions.map(\.description).joined(separator: ",")
    }

    static func split(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
