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
    case registerBroker(RegisterBrokerRecord)
    case unregisterBroker(UnregisterBrokerRecord)
    case fenceBroker(FenceBrokerRecord)
    case unfenceBroker(UnfenceBrokerRecord)
    case brokerRegistrationChange(BrokerRegistrationChangeRecord)
    case featureLevel(FeatureLevelRecord)
    case registerController(RegisterControllerRecord)
    case accessControlEntry(AccessControlEntryRecord)
    case removeAccessControlEntry(RemoveAccessControlEntryRecord)
    case userScramCredential(UserScramCredentialRecord)
    case removeUserScramCredential(RemoveUserScramCredentialRecord)
    case clientQuota(ClientQuotaRecord)

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
        case .registerBroker(let record): frame(record, type: RegisterBrokerRecord.recordType)
        case .unregisterBroker(let record): frame(record, type: UnregisterBrokerRecord.recordType)
        case .fenceBroker(let record): frame(record, type: FenceBrokerRecord.recordType)
        case .unfenceBroker(let record): frame(record, type: UnfenceBrokerRecord.recordType)
        case .brokerRegistrationChange(let record): frame(record, type: BrokerRegistrationChangeRecord.recordType)
        case .featureLevel(let record): frame(record, type: FeatureLevelRecord.recordType)
        case .registerController(let record): frame(record, type: RegisterControllerRecord.recordType)
        case .accessControlEntry(let record): frame(record, type: AccessControlEntryRecord.recordType)
        case .removeAccessControlEntry(let record): frame(record, type: RemoveAccessControlEntryRecord.recordType)
        case .userScramCredential(let record): frame(record, type: UserScramCredentialRecord.recordType)
        case .removeUserScramCredential(let record): frame(record, type: RemoveUserScramCredentialRecord.recordType)
        case .clientQuota(let record): frame(record, type: ClientQuotaRecord.recordType)
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
        case RegisterBrokerRecord.recordType: self = .registerBroker(try decode(RegisterBrokerRecord.self))
        case UnregisterBrokerRecord.recordType: self = .unregisterBroker(try decode(UnregisterBrokerRecord.self))
        case FenceBrokerRecord.recordType: self = .fenceBroker(try decode(FenceBrokerRecord.self))
        case UnfenceBrokerRecord.recordType: self = .unfenceBroker(try decode(UnfenceBrokerRecord.self))
        case BrokerRegistrationChangeRecord.recordType:
            self = .brokerRegistrationChange(try decode(BrokerRegistrationChangeRecord.self))
        case FeatureLevelRecord.recordType: self = .featureLevel(try decode(FeatureLevelRecord.self))
        case RegisterControllerRecord.recordType: self = .registerController(try decode(RegisterControllerRecord.self))
        case AccessControlEntryRecord.recordType: self = .accessControlEntry(try decode(AccessControlEntryRecord.self))
        case RemoveAccessControlEntryRecord.recordType:
            self = .removeAccessControlEntry(try decode(RemoveAccessControlEntryRecord.self))
        case UserScramCredentialRecord.recordType:
            self = .userScramCredential(try decode(UserScramCredentialRecord.self))
        case RemoveUserScramCredentialRecord.recordType:
            self = .removeUserScramCredential(try decode(RemoveUserScramCredentialRecord.self))
        case ClientQuotaRecord.recordType: self = .clientQuota(try decode(ClientQuotaRecord.self))
        default: return nil
        }
    }
}
