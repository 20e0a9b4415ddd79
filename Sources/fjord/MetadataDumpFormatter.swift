import FjordController
import FjordStorage
import KafkaProtocol
import KafkaRecords
import NIOCore

/// Renders the batches of a metadata log segment or snapshot file as text: one line per batch (offsets, leader
/// epoch, control or not, CRC), one line per record decoded — metadata records through the controller's
/// `MetadataRecord`, control records (LeaderChange, SnapshotHeader/Footer, KRaftVersion, Voters) through their
/// generated types.
enum MetadataDumpFormatter {
    /// The text, and whether any batch or record did not check out.
    struct Dump {
        var output = ""
        var hasProblems = false
    }

    /// Reads and renders one file; a snapshot is read whole (bounded by `RaftSnapshotFile.defaultMaximumBytes`).
    static func dump(file path: String) throws -> Dump {
        var dump = Dump()
        if path.hasSuffix(RaftSnapshotFile.suffix) {
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let name = String(path.split(separator: "/").last ?? "")
            guard let id = RaftSnapshotFile.parse(fileName: name)?.id,
                let bytes = try RaftSnapshotFile.bytes(of: id, in: directory.isEmpty ? "." : directory)
            else {
                throw LogError(.corrupt, "\(path): not a snapshot file name (<end offset>-<epoch>.checkpoint)")
            }
            for batch in try KRaftCheckpoint.batches(in: bytes, source: path) {
                render(batch, crcValid: true, into: &dump)
            }
            return dump
        }
        guard case .log(let batches, let trailingBytes) = try SegmentInspector.inspect(path: path, verifyIndex: false)
            .contents
        else {
            throw LogError(.corrupt, "\(path): not a segment file (.log) or a snapshot (.checkpoint)")
        }
        for inspected in batches {
            render(inspected.batch, crcValid: inspected.crcValid, into: &dump)
            for problem in inspected.problems { note(problem, into: &dump) }
        }
        if trailingBytes > 0 { note("\(trailingBytes) bytes after the last whole batch", into: &dump) }
        return dump
    }

    private static func render(_ batch: RecordBatch, crcValid: Bool, into dump: inout Dump) {
        dump.output += "baseOffset: \(batch.baseOffset) lastOffset: \(batch.lastOffset) "
            + "count: \(batch.recordCount) leaderEpoch: \(batch.partitionLeaderEpoch) "
            + "isControl: \(batch.isControl) crcValid: \(crcValid)\n"
        if !crcValid { dump.hasProblems = true }
        let records: [Record]
        do {
            records = try batch.records()
        } catch {
            return note("batch at \(batch.baseOffset): \(error)", into: &dump)
        }
        for record in records {
            do {
                dump.output += "| offset: \(record.offset) \(try describe(record, isControl: batch.isControl))\n"
            } catch {
                note("record at \(record.offset): \(error)", into: &dump)
            }
        }
    }

    /// One record as `Kind(field: value, ...)`.
    static func describe(_ record: Record, isControl: Bool) throws -> String {
        let value = record.value ?? ByteBuffer()
        guard isControl else {
            guard let decoded = try MetadataRecord(decoding: value) else {
                var type = value
                _ = try type.readKafkaUnsignedVarint("frameVersion")
                return "metadata record of type \(try type.readKafkaUnsignedVarint("type")) (not decoded)"
            }
            return compact(decoded)
        }
        switch try ControlRecordType(parsingKey: record.key) {
        case .leaderChange: return compact(try LeaderChangeMessage.decodeWhole(from: value, version: 0))
        case .snapshotHeader: return compact(try SnapshotHeaderRecord.decodeWhole(from: value, version: 0))
        case .snapshotFooter: return compact(try SnapshotFooterRecord.decodeWhole(from: value, version: 0))
        case .kraftVersion: return compact(try KRaftVersionRecord.decodeWhole(from: value, version: 0))
        case .kraftVoters: return compact(try VotersRecord.decodeWhole(from: value, version: 0))
        case let type: return "control record \(type)"
        }
    }

    /// A value's fields by reflection, without the empty `unknownTaggedFields` every generated type carries.
    static func compact(_ value: Any) -> String {
        if let id = value as? KafkaUUID { return id.description }
        let mirror = Mirror(reflecting: value)
        switch mirror.displayStyle {
        case .struct, .class:
            let fields = mirror.children.compactMap { child -> String? in
                guard let label = child.label else { return nil }
                if label == "unknownTaggedFields", Mirror(reflecting: child.value).children.isEmpty { return nil }
                return "\(label): \(compact(child.value))"
            }
            return "\(mirror.subjectType)(\(fields.joined(separator: ", ")))"
        case .enum:
            guard let payload = mirror.children.first else { return "\(value)" }
            return "\(payload.label ?? "")(\(compact(payload.value)))"
        case .collection:
            return "[" + mirror.children.map { compact($0.value) }.joined(separator: ", ") + "]"
        case .optional:
            return mirror.children.first.map { compact($0.value) } ?? "nil"
        default:
            if let string = value as? String { return "\"\(string)\"" }
            return "\(value)"
        }
    }

    private static func note(_ problem: String, into dump: inout Dump) {
        dump.output += "problem: \(problem)\n"
        dump.hasProblems = true
    }
}
