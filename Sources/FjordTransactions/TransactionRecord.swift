import FjordGroups
import KafkaProtocol
import NIOCore

/// One record for `__transaction_state`: key and value each prefixed with their int16 schema version, as Kafka
/// writes them (TransactionLogKey v0, TransactionLogValue v0); a nil value is a tombstone. `transactionalID`
/// says which partition it belongs to.
public struct TransactionRecord: Sendable, Equatable {
    public static let keyVersion: Int16 = 0
    /// Version 0: Kafka writes v1 (flexible, with tagged fields) only once transaction.version 2 is enabled, which
    /// Fjord does not advertise.
    public static let valueVersion: Int16 = 0

    public var transactionalID: String
    public var key: ByteBuffer
    public var value: ByteBuffer?

    public init(transactionalID: String, key: ByteBuffer, value: ByteBuffer?) {
        self.transactionalID = transactionalID
        self.key = key
        self.value = value
    }

    /// The record that stores `metadata`.
    public init(_ metadata: TransactionMetadata) {
        let partitions = Dictionary(grouping: metadata.sortedPartitions, by: \.topic)
            .sorted { $0.key < $1.key }
            .map { TransactionLogValue.PartitionsSchema(topic: $0.key, partitionIDs: $0.value.map(\.partition)) }
        let value = TransactionLogValue(
            producerID: metadata.producerID, producerEpoch: metadata.producerEpoch,
            transactionTimeoutMs: metadata.timeoutMs,
            transactionStatus: metadata.state.rawValue, transactionPartitions: partitions,
            transactionLastUpdateTimestampMs: metadata.lastUpdateTimestamp,
            transactionStartTimestampMs: metadata.startTimestamp
        )
        self.init(
            transactionalID: metadata.transactionalID, key: Self.encodedKey(metadata.transactionalID),
            value: Self.encode(value, version: Self.valueVersion)
        )
    }

    /// The tombstone that forgets `transactionalID`.
    public static func tombstone(_ transactionalID: String) -> TransactionRecord {
        TransactionRecord(transactionalID: transactionalID, key: encodedKey(transactionalID), value: nil)
    }

    static func encodedKey(_ transactionalID: String) -> ByteBuffer {
        encode(TransactionLogKey(transactionalID: transactionalID), version: keyVersion)
    }

    static func encode<M: KafkaMessage>(_ message: M, version: Int16) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(version)
        message.write(to: &buffer, version: version)
        return buffer
    }

    /// Decodes a stored record: the transactional id and its metadata (nil for a tombstone).
    public static func decode(key: ByteBuffer, value: ByteBuffer?) throws(DecodeError) -> (String, TransactionMetadata?)
    {
        var key = key
        guard let keyVersion = key.readInteger(as: Int16.self) else {
            throw DecodeError(.truncated, "__transaction_state key version")
        }
        guard TransactionLogKey.validVersions.contains(keyVersion) else {
            throw DecodeError(.unsupportedVersion, "__transaction_state key version \(keyVersion) is unknown")
        }
        let decodedKey = try TransactionLogKey(from: &key, version: keyVersion)
        guard var value else { return (decodedKey.transactionalID, nil) }
        guard let valueVersion = value.readInteger(as: Int16.self) else {
            throw DecodeError(.truncated, "__transaction_state value version")
        }
        guard TransactionLogValue.validVersions.contains(valueVersion) else {
            throw DecodeError(.unsupportedVersion, "__transaction_state value version \(valueVersion) is unknown")
        }
        let stored = try TransactionLogValue(from: &value, version: valueVersion)
        guard let state = TransactionState(rawValue: stored.transactionStatus) else {
            throw DecodeError(.invalidValue, "transaction status \(stored.transactionStatus) is unknown")
        }
        var partitions = Set<TopicPartition>()
        for topic in stored.transactionPartitions ?? [] {
            for partition in topic.partitionIDs { partitions.insert(TopicPartition(topic.topic, partition)) }
        }
        return (
            decodedKey.transactionalID,
            TransactionMetadata(
                transactionalID: decodedKey.transactionalID, producerID: stored.producerID,
                producerEpoch: stored.producerEpoch,
                timeoutMs: stored.transactionTimeoutMs, state: state, partitions: partitions,
                startTimestamp: stored.transactionStartTimestampMs,
                lastUpdateTimestamp: stored.transactionLastUpdateTimestampMs
            )
        )
    }
}
