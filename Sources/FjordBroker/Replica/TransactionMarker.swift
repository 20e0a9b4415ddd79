import KafkaProtocol
import KafkaRecords
import NIOCore

/// Kafka's end-transaction marker: the one record of the control batch that commits or aborts a producer's
/// transaction in a partition.
///
/// The batch has the transactional and control attribute bits, the producer id and epoch, base sequence -1. Its
/// record's key is `version` int16 (0) and `type` int16 (0 = ABORT, 1 = COMMIT, Kafka's ControlRecordType); its
/// value is `version` int16 (0) and `coordinator_epoch` int32. Other control types (leader change, snapshot
/// records) are not markers.
struct TransactionMarker: Sendable, Equatable {
    static let version: Int16 = 0
    static let abortType: Int16 = 0
    static let commitType: Int16 = 1

    var isCommit: Bool
    var coordinatorEpoch: Int32

    /// The control batch carrying this marker.
    func batch(producerID: ProducerID, producerEpoch: ProducerEpoch, timestamp: Int64) throws -> RecordBatch {
        var options = RecordBatchBuilder.Options()
        options.producerID = producerID
        options.producerEpoch = producerEpoch
        options.baseSequence = -1
        options.isTransactional = true
        options.isControl = true
        var key = ByteBuffer()
        key.writeInteger(Self.version)
        key.writeInteger(isCommit ? Self.commitType : Self.abortType)
        var value = ByteBuffer()
        value.writeInteger(Self.version)
        value.writeInteger(coordinatorEpoch)
        var builder = RecordBatchBuilder(options: options)
        builder.append(timestamp: timestamp, key: key, value: value)
        return try builder.build()
    }

    /// The marker of a control batch; nil when it holds another kind of control record, or no readable one.
    /// Like Kafka, newer key and value versions are read by their version-0 fields.
    init?(controlBatch batch: RecordBatch) {
        guard batch.isControl, let record = try? batch.records().first, var key = record.key, var value = record.value,
            key.readInteger(as: Int16.self) != nil, let type = key.readInteger(as: Int16.self),
            type == Self.abortType || type == Self.commitType,
            value.readInteger(as: Int16.self) != nil, let coordinatorEpoch = value.readInteger(as: Int32.self)
        else { return nil }
        self.init(isCommit: type == Self.commitType, coordinatorEpoch: coordinatorEpoch)
    }

    init(isCommit: Bool, coordinatorEpoch: Int32) {
        self.isCommit = isCommit
        self.coordinatorEpoch = coordinatorEpoch
    }
}
