import ArgumentParser
import FjordClient
import Foundation

/// kafka-reassign-partitions.sh's JSON files: a plan, `{"version":1,"partitions":[{"topic":"t","partition":0,
/// "replicas":[1,2],"log_dirs":["any","any"]}]}`, and a list of topics to move, `{"topics":[{"topic":"t"}],
/// "version":1}`.
enum ReassignmentPlan {
    private struct Plan: Decodable {
        struct Entry: Decodable {
            var topic: String
            var partition: Int32
            var replicas: [Int32]
            var logDirs: [String]?

            enum CodingKeys: String, CodingKey {
                case topic, partition, replicas
                case logDirs = "log_dirs"
            }
        }
        var version: Int?
        var partitions: [Entry]
    }

    private struct TopicsFile: Decodable {
        struct Entry: Decodable { var topic: String }
        var topics: [Entry]
    }

    /// The target replicas of each partition a plan file names.
    static func read(_ path: String) throws -> [TopicPartition: [Int32]] {
        let plan: Plan
        do {
            plan = try JSONDecoder().decode(Plan.self, from: try contents(path))
        } catch let error as ValidationError {
            throw error
        } catch {
            throw ValidationError(
                "\(path) is not a reassignment plan ({\"version\":1,\"partitions\":[{\"topic\":..,\"partition\":..,\"replicas\":[..]}]})"
            )
        }
        if let version = plan.version, version != 1 {
            throw ValidationError("\(path): version \(version) is not supported (1 is)")
        }
        guard !plan.partitions.isEmpty else { throw ValidationError("\(path) lists no partitions") }
        var moves = [TopicPartition: [Int32]]()
        for entry in plan.partitions {
            let partition = TopicPartition(entry.topic, entry.partition)
            guard moves[partition] == nil else { throw ValidationError("\(path) names \(partition) twice") }
            guard !entry.replicas.isEmpty else { throw ValidationError("\(path): \(partition) has no replicas") }
            if let dirs = entry.logDirs {
                guard dirs.count == entry.replicas.count else {
                    throw ValidationError(
                        "\(path): \(partition) has \(dirs.count) log_dirs for \(entry.replicas.count) replicas")
                }
                guard dirs.allSatisfy({ $0 == "any" }) else {
                    throw ValidationError(
                        "\(path): \(partition): moving replicas between log directories is not supported")
                }
            }
            moves[partition] = entry.replicas
        }
        return moves
    }

    /// The topic names of a topics-to-move file.
    static func readTopics(_ path: String) throws -> [String] {
        guard let file = try? JSONDecoder().decode(TopicsFile.self, from: try contents(path)), !file.topics.isEmpty
        else {
            throw ValidationError("\(path) is not a list of topics ({\"topics\":[{\"topic\":..}],\"version\":1})")
        }
        return file.topics.map(\.topic)
    }

    /// A plan for `assignment`, as one line of JSON.
    static func json(_ assignment: [TopicPartition: [Int32]]) -> String {
        JSONValue.object([
            ("version", 1),
            (
                "partitions",
                .array(
                    assignment.sorted { $0.key < $1.key }.map { partition, replicas in
                        .object([
                            ("topic", .string(partition.topic)), ("partition", .int(partition.partition)),
                            ("replicas", .array(replicas.map { .int($0) })),
                            ("log_dirs", .array(replicas.map { _ in "any" })),
                        ])
                    })
            ),
        ]).rendered
    }

    private static func contents(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("cannot read \(path)")
        }
        return data
    }
}
