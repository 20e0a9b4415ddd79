import KafkaProtocol
import NIOCore

/// `bootstrap.checkpoint`: the metadata records a new cluster starts from — above all the `metadata.version`
/// `FeatureLevelRecord` — written by `fjord storage format` into every directory it formats, as Kafka 4.0 and 4.1's
/// `kafka-storage.sh format` does. The active controller appends these records when it finds the metadata log
/// empty. (Kafka 4.2 moved these records into the bootstrap snapshot `00000000000000000000-0000000000.checkpoint`;
/// Fjord follows 4.0/4.1.)
///
/// Layout: a `KRaftCheckpoint` at epoch 0 with `LastContainedLogTimestamp` 0 and no KRaft control records besides
/// the header and footer; each data record is a metadata record framed as Kafka's `MetadataRecordSerde` does — an
/// unsigned varint frame version (1), the record type (`FeatureLevelRecord` is 12), the record version (0), then
/// the record. Written atomically through `bootstrap.checkpoint.tmp`.
public struct BootstrapMetadataFile: Sendable, Equatable {
    public static let fileName = "bootstrap.checkpoint"
    /// Bootstrap files hold a handful of records.
    static let maximumBytes = 16 << 20
    /// `MetadataRecordSerde`'s frame version.
    static let frameVersion: UInt32 = 1

    /// The `FeatureLevelRecord`s, in order: `metadata.version` first, as Kafka writes them.
    public var features: [FeatureLevelRecord]
    /// Other metadata records (SCRAM credentials, say), still framed; kept so that a rewrite loses nothing.
    public var otherRecords: [ByteBuffer]

    public init(features: [FeatureLevelRecord], otherRecords: [ByteBuffer] = []) {
        self.features = features
        self.otherRecords = otherRecords
    }

    /// The feature level of `metadata.version`, if the file sets one.
    public var metadataVersionLevel: Int16? {
        features.first { $0.name == "metadata.version" }?.featureLevel
    }

    /// Writes `bootstrap.checkpoint` into `directory` durably; `timestamp` (ms) stamps the records.
    public func write(to directory: String, timestamp: Int64) throws(LogError) {
        var records = features.map { Self.frame($0, type: FeatureLevelRecord.recordType) }
        records += otherRecords
        let checkpoint = KRaftCheckpoint(lastContainedLogTimestamp: 0, records: records)
        let path = directory + "/" + Self.fileName
        try DurableFile.write(try checkpoint.encoded(epoch: 0, timestamp: timestamp), to: path, via: path + ".tmp")
    }

    /// Reads `directory`'s `bootstrap.checkpoint`; nil if there is none. A file that is not a complete checkpoint,
    /// or a record that does not decode, is `LogError(.corrupt)`.
    public static func read(from directory: String) throws(LogError) -> BootstrapMetadataFile? {
        let path = directory + "/" + fileName
        guard let bytes = try DurableFile.read(path, limit: maximumBytes) else { return nil }
        let checkpoint = try KRaftCheckpoint(decoding: bytes, source: path)
        var file = BootstrapMetadataFile(features: [])
        for value in checkpoint.records {
            var buffer = value
            do {
                let frame = try buffer.readKafkaUnsignedVarint("MetadataRecord.frameVersion")
                let type = try buffer.readKafkaUnsignedVarint("MetadataRecord.type")
                let version = try buffer.readKafkaUnsignedVarint("MetadataRecord.version")
                guard frame == frameVersion else {
                    throw DecodeError(.unsupportedVersion, "metadata record frame version \(frame)")
                }
                guard type == UInt32(FeatureLevelRecord.recordType) else {
                    file.otherRecords.append(value)
                    continue
                }
                guard FeatureLevelRecord.validVersions.contains(Int16(truncatingIfNeeded: version)) else {
                    throw DecodeError(.unsupportedVersion, "FeatureLevelRecord v\(version)")
                }
                file.features.append(try FeatureLevelRecord.decodeWhole(from: buffer, version: Int16(version)))
            } catch {
                throw LogError(.corrupt, "\(path): metadata record: \(error)")
            }
        }
        return file
    }

    /// `MetadataRecordSerde`'s framing of one record at its latest version.
    static func frame<Message: KafkaVersionedMessage>(_ message: Message, type: Int16) -> ByteBuffer {
        var buffer = ByteBuffer()
        let version = Message.validVersions.upperBound
        buffer.writeKafkaUnsignedVarint(frameVersion)
        buffer.writeKafkaUnsignedVarint(UInt32(type))
        buffer.writeKafkaUnsignedVarint(UInt32(version))
        message.write(to: &buffer, version: version)
        return buffer
    }
}
