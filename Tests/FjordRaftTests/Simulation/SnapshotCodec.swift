import FjordRaft
import KafkaProtocol
import NIOCore

/// The simulation's snapshot format: every applied entry in order as (epoch, length, kind, bytes) up to the end of
/// the bytes, control records in their Kafka encoding at the newest version. Opaque to the core, so a FetchSnapshot
/// transfer that loses, repeats or reorders chunks shows up as bytes that do not decode to the snapshot's id.
enum SnapshotCodec {
    private enum Kind: UInt8 {
        case data = 0
        case leaderChange
        case voters
        case kraftVersion
    }

    /// Appends one entry: the state machine keeps its snapshot bytes up to date as it applies, so that taking a
    /// snapshot costs a copy, not an encoding of everything.
    static func append(_ entry: LogEntry, to buffer: inout ByteBuffer) {
        let kind: Kind
        var body: ByteBuffer
        switch entry.record {
        case .data(let bytes):
            kind = .data
            body = bytes
        case .leaderChange(let message):
            kind = .leaderChange
            body = ByteBuffer()
            message.write(to: &body, version: LeaderChangeMessage.validVersions.upperBound)
        case .voters(let record):
            kind = .voters
            body = ByteBuffer()
            record.write(to: &body, version: VotersRecord.validVersions.upperBound)
        case .kraftVersion(let record):
            kind = .kraftVersion
            body = ByteBuffer()
            record.write(to: &body, version: KRaftVersionRecord.validVersions.upperBound)
        }
        // The 9-byte header in one write: NIO's generic integer writes are slow in the debug build `swift test` runs.
        let length = UInt32(body.readableBytes)
        let header: (UInt32, UInt32, UInt8) = (
            UInt32(bitPattern: entry.epoch).bigEndian, length.bigEndian, kind.rawValue
        )
        withUnsafeBytes(of: header) { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: $0[0..<9])) }
        buffer.writeImmutableBuffer(body)
    }

    static func decode(_ bytes: ByteBuffer) -> [LogEntry]? {
        var buffer = bytes
        var entries: [LogEntry] = []
        while buffer.readableBytes > 0 {
            guard let epoch = buffer.readInteger(as: Int32.self),
                let length = buffer.readInteger(as: UInt32.self),
                let kind = buffer.readInteger(as: UInt8.self).flatMap(Kind.init(rawValue:)),
                var body = buffer.readSlice(length: Int(length)),
                let record = record(kind, from: &body)
            else { return nil }
            entries.append(LogEntry(epoch: epoch, record: record))
        }
        return entries
    }

    private static func record(_ kind: Kind, from body: inout ByteBuffer) -> RaftRecord? {
        do {
            switch kind {
            case .data: return .data(body)
            case .leaderChange:
                return .leaderChange(
                    try LeaderChangeMessage(from: &body, version: LeaderChangeMessage.validVersions.upperBound))
            case .voters:
                return .voters(try VotersRecord(from: &body, version: VotersRecord.validVersions.upperBound))
            case .kraftVersion:
                return .kraftVersion(
                    try KRaftVersionRecord(from: &body, version: KRaftVersionRecord.validVersions.upperBound))
            }
        } catch {
            return nil
        }
    }
}
