import FjordRaft
import KafkaProtocol
import KafkaRecords
import NIOCore

/// How a `RaftBatch` of the metadata log is written to `__cluster_metadata-0` and read back: ONE Kafka record batch
/// (v2, uncompressed) per Raft batch, with the batch's base offset, its epoch as the partition leader epoch, and
/// `appendTimeMs` as every record's timestamp. Data records have no key and the controller's framed metadata
/// record as value. A batch of control records (LeaderChange, Voters, KRaftVersion) is a control batch whose records
/// carry Kafka's control key (`ControlRecordType`: version 0, type 2, 6 or 5) and the message at version 0 as
/// value — Kafka's layout, so `fjord log dump` and Kafka's tools read the same log.
enum RaftBatchCodec {
    /// Appends the record batch of `batch` to `buffer`.
    static func encode(_ batch: RaftBatch, into buffer: inout ByteBuffer) throws(RaftDriverError) {
        var options = RecordBatchBuilder.Options()
        options.baseOffset = batch.baseOffset
        options.partitionLeaderEpoch = batch.epoch
        options.isControl = batch.isControl
        var builder = RecordBatchBuilder(options: options)
        for record in batch.records {
            switch record {
            case .data(let value):
                builder.append(timestamp: batch.appendTimeMs, key: nil, value: value)
            case .leaderChange(let message):
                builder.append(
                    timestamp: batch.appendTimeMs, key: ControlRecordType.leaderChange.key,
                    value: message.encoded(version: 0))
            case .voters(let message):
                builder.append(
                    timestamp: batch.appendTimeMs, key: ControlRecordType.kraftVoters.key,
                    value: message.encoded(version: 0))
            case .kraftVersion(let message):
                builder.append(
                    timestamp: batch.appendTimeMs, key: ControlRecordType.kraftVersion.key,
                    value: message.encoded(version: 0))
            }
        }
        do {
            try builder.build(into: &buffer)
        } catch {
            throw RaftDriverError(.encoding, "metadata batch at offset \(batch.baseOffset): \(error)")
        }
    }

    /// The record batches of `batches`, one after the other (what a Fetch answer's `records` holds).
    static func encode(_ batches: [RaftBatch]) throws(RaftDriverError) -> ByteBuffer {
        var buffer = ByteBuffer()
        for batch in batches { try encode(batch, into: &buffer) }
        return buffer
    }

    /// The Raft batch a record batch of the metadata log holds. A control batch's records must be LeaderChange,
    /// Voters or KRaftVersion records (other control types — transaction markers, snapshot header/footer — have no
    /// place in the metadata log); an empty batch is not a Raft batch.
    static func decode(_ batch: RecordBatch, source: String) throws(RaftDriverError) -> RaftBatch {
        let records: [Record]
        do {
            records = try batch.records()
        } catch {
            throw RaftDriverError(.corrupt, "\(source): batch at offset \(batch.baseOffset): \(error)")
        }
        guard !records.isEmpty, records.count == Int(batch.recordCount) else {
            throw RaftDriverError(.corrupt, "\(source): batch at offset \(batch.baseOffset) holds no records")
        }
        var raftRecords = [RaftRecord]()
        raftRecords.reserveCapacity(records.count)
        for record in records {
            raftRecords.append(try decode(record, isControl: batch.isControl, source: source))
        }
        return RaftBatch(
            baseOffset: batch.baseOffset, epoch: batch.partitionLeaderEpoch, appendTimeMs: records[0].timestamp,
            records: raftRecords)
    }

    /// Every batch in `bytes` (a Fetch answer's records, or a read of the log), CRCs checked; a trailing partial
    /// batch is an error, as a leader only ever sends whole batches.
    static func decodeAll(_ bytes: ByteBuffer, source: String) throws(RaftDriverError) -> [RaftBatch] {
        guard bytes.readableBytes > 0 else { return [] }
        let batches: [RecordBatch]
        do {
            batches = try RecordBatchSequence(bytes, mode: .produce).batches()
        } catch {
            throw RaftDriverError(.corrupt, "\(source): \(error)")
        }
        var result = [RaftBatch]()
        result.reserveCapacity(batches.count)
        for batch in batches {
            let decoded = try decode(batch, source: source)
            if let previous = result.last, decoded.baseOffset != previous.nextOffset {
                throw RaftDriverError(
                    .corrupt,
                    "\(source): batch at \(decoded.baseOffset) does not follow the one ending at "
                        + "\(previous.nextOffset)")
            }
            result.append(decoded)
        }
        return result
    }

    private static func decode(_ record: Record, isControl: Bool, source: String) throws(RaftDriverError)
        -> RaftRecord
    {
        guard isControl else {
            guard let value = record.value else {
                throw RaftDriverError(.corrupt, "\(source): metadata record at offset \(record.offset) has no value")
            }
            return .data(value)
        }
        let value = record.value ?? ByteBuffer()
        do {
            let type = try ControlRecordType(parsingKey: record.key)
            switch type {
            case .leaderChange: return .leaderChange(try LeaderChangeMessage.decodeWhole(from: value, version: 0))
            case .kraftVoters: return .voters(try VotersRecord.decodeWhole(from: value, version: 0))
            case .kraftVersion: return .kraftVersion(try KRaftVersionRecord.decodeWhole(from: value, version: 0))
            default:
                throw RaftDriverError(
                    .corrupt, "\(source): control record \(type) at offset \(record.offset) in the metadata log")
            }
        } catch let error as RaftDriverError {
            throw error
        } catch {
            throw RaftDriverError(.corrupt, "\(source): control record at offset \(record.offset): \(error)")
        }
    }
}
