import KafkaProtocol
import NIOCore

/// A record of the cluster metadata log that this controller writes and replays.
///
/// On disk each record is the value of a record in `__cluster_metadata`, framed as Kafka's `MetadataRecordSerde`
/// does: an unsigned varint frame version (1), the record type (the spec's `apiKey`, unsigned varint), the
/// record's version (unsigned varint), then the record encoded at that version.
public enum MetadataRecord: Sendable, Equatable {
    case topic(TopicRecord)
    case partition(PartitionRecord)
    case partitionChange(PartitionChangeRecord)
    case config(ConfigRecord)
    case removeTopic(RemoveTopicRecord)
    case producerIDs(ProducerIDsRecord)

    static let frameVersion: UInt32 = 1

    /// The framed bytes for a log record's value.
    public func encoded() -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeKafkaUnsignedVarint(Self.frameVersion)
        func frame<Message: KafkaVersionedMessage>(_ message: Message, type: Int16) {
            let version = Message.validVersions.upperBound
            buffer.writeKafkaUnsignedVarint(UInt32(type))
            buffer.writeKafkaUnsignedVarint(UInt32(version))
            message.write(to: &buffer, version: version)
        }
        switch self {
        case .topic(let record): frame(record, type: TopicRecord.recordType)
        case .partition(let record): frame(record, type: PartitionRecord.recordType)
        case .partitionChange(let record): frame(record, type: PartitionChangeRecord.recordType)
        case .config(let record): frame(record, type: ConfigRecord.recordType)
        case .removeTopic(let record): frame(record, type: RemoveTopicRecord.recordType)
        case .producerIDs(let record): frame(record, type: ProducerIDsRecord.recordType)
        }
        return buffer
    }

    /// Decodes a framed record; nil for a record type this controller does not use (skipped on replay).
    public init?(decoding value: ByteBuffer) throws(DecodeError) {
        var buffer = value
        let frameVersion = try buffer.readKafkaUnsignedVarint("MetadataRecord.frameVersion")
        guard frameVersion == Self.frameVersion else {
            throw DecodeError(.unsupportedVersion, "metadata record frame version \(frameVersion)")
        }
        let type = Int16(truncatingIfNeeded: try buffer.readKafkaUnsignedVarint("MetadataRecord.type"))
        let version = Int16(truncatingIfNeeded: try buffer.readKafkaUnsignedVarint("MetadataRecord.version"))
        func decode<Message: KafkaVersionedMessage>(_ type: Message.Type) throws(DecodeError) -> Message {
            guard Message.validVersions.contains(version) else {
                throw DecodeError(.unsupportedVersion, "\(Message.self) v\(version)")
            }
            return try Message.decodeWhole(from: buffer, version: version)
        }
        switch type {
        case TopicRecord.recordType: self = .topic(try decode(TopicRecord.self))
        case PartitionRecord.recordType: self = .partition(try decode(PartitionRecord.self))
        case PartitionChangeRecord.recordType: self = .partitionChange(try decode(PartitionChangeRecord.self))
        case ConfigRecord.recordType: self = .config(try decode(ConfigRecord.self))
        case RemoveTopicRecord.recordType: self = .removeTopic(try decode(RemoveTopicRecord.self))
        case ProducerIDsRecord.recordType: self = .producerIDs(try decode(ProducerIDsRecord.self))
        default: return nil
        }
    }
}
