import Glibc
import KafkaProtocol
import NIOCore

/// Kafka's small text files, written atomically (temp file, fsync, rename, fsync of the folder) so a crash leaves
/// the old or the new contents:
///
/// - `recovery-point-offset-checkpoint`, `log-start-offset-checkpoint` (data folder): `0`, the entry count, then
///   `<topic> <partition> <offset>` per line.
/// - `leader-epoch-checkpoint` (partition folder): `0`, the count, then `<epoch> <start offset>` per line.
/// - `partition.metadata` (partition folder): `version: 0` and `topic_id: <base64 uuid>`.
enum CheckpointFile {
    static func writeAtomically(_ contents: String, to path: String) throws(LogError) {
        let temporary = path + ".tmp"
        let file = try SegmentFile(path: temporary, create: true)
        try file.truncate(to: 0)
        try file.write(ByteBuffer(string: contents), at: 0)
        try file.sync()
        try SegmentFile.rename(temporary, to: path)
        let folder = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        let descriptor = open(folder.isEmpty ? "." : folder, O_RDONLY)
        if descriptor >= 0 {
            fsync(descriptor)
            close(descriptor)
        }
    }

    static func read(_ path: String) throws(LogError) -> String? {
        guard SegmentFile.exists(path) else { return nil }
        let file = try SegmentFile(path: path, create: false)
        let bytes = try file.read(at: 0, length: Int(try file.size()))
        return String(buffer: bytes)
    }

    /// Lines after the version and count lines, split on spaces; nil if the header is not `0` and a count that
    /// matches the lines.
    static func entries(_ text: String, fields: Int) -> [[Substring]]? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard lines.count >= 2, lines[0] == "0", let count = Int(lines[1]), count == lines.count - 2 else { return nil }
        var result = [[Substring]]()
        for line in lines.dropFirst(2) {
            let parts = line.split(separator: " ")
            guard parts.count == fields else { return nil }
            result.append(parts)
        }
        return result
    }

    static func render(_ lines: [String]) -> String {
        "0\n\(lines.count)\n" + lines.map { $0 + "\n" }.joined()
    }

    // MARK: Offsets per partition

    static func readOffsets(_ path: String) throws(LogError) -> [TopicPartition: Int64] {
        guard let text = try read(path) else { return [:] }
        guard let entries = entries(text, fields: 3) else { throw LogError(.corrupt, "\(path): malformed checkpoint") }
        var result = [TopicPartition: Int64]()
        for entry in entries {
            guard let partition = Int32(entry[1]), let offset = Int64(entry[2]) else {
                throw LogError(.corrupt, "\(path): malformed entry '\(entry.joined(separator: " "))'")
            }
            result[TopicPartition(String(entry[0]), partition)] = offset
        }
        return result
    }

    static func writeOffsets(_ offsets: [TopicPartition: Int64], to path: String) throws(LogError) {
        let lines = offsets.keys.sorted().map { "\($0.topic) \($0.partition) \(offsets[$0]!)" }
        try writeAtomically(render(lines), to: path)
    }
}
