import KafkaProtocol
import KafkaRecords
import NIOCore

/// The contents of a KRaft checkpoint file — a metadata snapshot (`<offset>-<epoch>.checkpoint`, KIP-630) or the
/// bootstrap metadata (`bootstrap.checkpoint`) — and its byte layout, which is Kafka's for both:
///
/// 1. a control batch (base offset 0, leader epoch = the snapshot's epoch) whose first record is the
///    `SnapshotHeaderRecord` (control type 3), followed, from kraft.version 1 on, by the `KRaftVersionRecord`
///    (type 5) and the `VotersRecord` (type 6) when the checkpoint carries the voter set;
/// 2. data batches (same epoch) whose records have no key and a metadata record as value, framed as Kafka's
///    `MetadataRecordSerde` does (frame version, record type, record version, the record) — opaque here;
/// 3. a last control batch holding the `SnapshotFooterRecord` (type 4).
///
/// Offsets run on without gaps from 0 across all batches, control records included; every record carries the
/// write time, and the batches are v2 record batches with their CRCs (uncompressed when Fjord writes them).
/// Control record values are the message at version 0 (its own `version` field first).
public struct KRaftCheckpoint: Sendable, Equatable {
    /// The append time of the last log record the snapshot covers (0 in a bootstrap file). Kafka: the header's
    /// `LastContainedLogTimestamp`.
    public var lastContainedLogTimestamp: Int64
    /// The kraft.version the checkpoint records (KIP-853), nil when it has no `KRaftVersionRecord` (kraft.version 0).
    public var kraftVersion: KRaftVersionRecord?
    /// The voter set, when the checkpoint records one (needs `kraftVersion`).
    public var voters: VotersRecord?
    /// The data records' values, in order.
    public var records: [ByteBuffer]

    /// Kafka's bound on a batch of the metadata log (`KafkaRaftClient.MAX_BATCH_SIZE_BYTES`, 8 MiB): records are cut
    /// into data batches that stay under it.
    public static let maximumBatchBytes = 8 << 20

    public init(
        lastContainedLogTimestamp: Int64, kraftVersion: KRaftVersionRecord? = nil, voters: VotersRecord? = nil,
        records: [ByteBuffer] = []
    ) {
        precondition(voters == nil || kraftVersion != nil, "a VotersRecord needs a KRaftVersionRecord before it")
        self.lastContainedLogTimestamp = lastContainedLogTimestamp
        self.kraftVersion = kraftVersion
        self.voters = voters
        self.records = records
    }

    // MARK: Writing

    /// The checkpoint's batches, stamped with `epoch` and, on every record, `timestamp` (the write time).
    public func encoded(epoch: LeaderEpoch, timestamp: Int64) throws(LogError) -> ByteBuffer {
        var output = ByteBuffer()
        var nextOffset: Int64 = 0
        var header = [
            (
                ControlRecordType.snapshotHeader,
                encode(
                    SnapshotHeaderRecord(
                        version: 0, lastContainedLogTimestamp: lastContainedLogTimestamp))
            )
        ]
        if let kraftVersion { header.append((.kraftVersion, encode(kraftVersion))) }
        if let voters { header.append((.kraftVoters, encode(voters))) }
        try Self.appendControlBatch(header, at: &nextOffset, epoch: epoch, timestamp: timestamp, to: &output)
        var builder: RecordBatchBuilder?
        var batchBytes = 0
        for value in records {
            if builder == nil || batchBytes + value.readableBytes > Self.maximumBatchBytes {
                if let full = builder { try Self.finish(full, at: &nextOffset, to: &output) }
                builder = RecordBatchBuilder(options: Self.options(baseOffset: nextOffset, epoch: epoch))
                batchBytes = 0
            }
            builder!.append(timestamp: timestamp, key: nil, value: value)
            batchBytes += value.readableBytes + 16
        }
        if let last = builder { try Self.finish(last, at: &nextOffset, to: &output) }
        let footer = [(ControlRecordType.snapshotFooter, encode(SnapshotFooterRecord(version: 0)))]
        try Self.appendControlBatch(footer, at: &nextOffset, epoch: epoch, timestamp: timestamp, to: &output)
        return output
    }

    private func encode<Message: KafkaVersionedMessage>(_ message: Message) -> ByteBuffer {
        message.encoded(version: 0)
    }

    private static func options(baseOffset: Int64, epoch: LeaderEpoch, control: Bool = false)
        -> RecordBatchBuilder.Options
    {
        var options = RecordBatchBuilder.Options()
        options.baseOffset = baseOffset
        options.partitionLeaderEpoch = epoch
        options.isControl = control
        return options
    }

    private static func appendControlBatch(
        _ records: [(ControlRecordType, ByteBuffer)], at nextOffset: inout Int64, epoch: LeaderEpoch,
        timestamp: Int64, to output: inout ByteBuffer
    ) throws(LogError) {
        var builder = RecordBatchBuilder(options: options(baseOffset: nextOffset, epoch: epoch, control: true))
        for (type, value) in records { builder.append(timestamp: timestamp, key: type.key, value: value) }
        try finish(builder, at: &nextOffset, to: &output)
    }

    private static func finish(_ builder: RecordBatchBuilder, at nextOffset: inout Int64, to output: inout ByteBuffer)
        throws(LogError)
    {
        do {
            try builder.build(into: &output)
        } catch {
            throw LogError(.corrupt, "cannot build a checkpoint batch: \(error)")
        }
        nextOffset += Int64(builder.recordCount)
    }

    // MARK: Reading

    /// The batches of a checkpoint, each checked (magic, length, CRC, record count) and following the previous one
    /// without an offset gap; `source` names the file in errors.
    public static func batches(in bytes: ByteBuffer, source: String) throws(LogError) -> [RecordBatch] {
        guard bytes.readableBytes > 0 else { throw LogError(.corrupt, "\(source): the checkpoint is empty") }
        let batches: [RecordBatch]
        do {
            batches = try RecordBatchSequence(bytes, mode: .produce).batches()
        } catch {
            throw LogError(.corrupt, "\(source): \(error)")
        }
        var expected: Int64 = 0
        for batch in batches {
            guard batch.baseOffset == expected else {
                throw LogError(
                    .corrupt, "\(source): a batch starts at offset \(batch.baseOffset) where \(expected) was expected")
            }
            expected = batch.nextOffset
        }
        return batches
    }

    /// Reads a checkpoint: checks its batches (`batches(in:source:)`), that it opens with the snapshot header and
    /// ends with the footer, and decodes the KRaft control records. Unknown control record types are skipped, as
    /// Kafka skips them.
    public init(decoding bytes: ByteBuffer, source: String) throws(LogError) {
        let batches = try Self.batches(in: bytes, source: source)
        var reader = ContentsReader(source: source)
        for (index, batch) in batches.enumerated() {
            let records: [Record]
            do {
                records = try batch.records()
            } catch {
                throw LogError(.corrupt, "\(source): batch at offset \(batch.baseOffset): \(error)")
            }
            try reader.read(records, isControl: batch.isControl, isFirstBatch: index == 0)
        }
        guard reader.sawFooter else {
            throw LogError(.corrupt, "\(source): the checkpoint does not end with a SnapshotFooterRecord (partial?)")
        }
        self.init(
            lastContainedLogTimestamp: reader.header?.lastContainedLogTimestamp ?? 0,
            kraftVersion: reader.kraftVersion, voters: reader.voters, records: reader.records)
    }
}

/// Walks a checkpoint's records in order, enforcing where the header and footer may stand.
private struct ContentsReader {
    let source: String
    var header: SnapshotHeaderRecord?
    var kraftVersion: KRaftVersionRecord?
    var voters: VotersRecord?
    var records = [ByteBuffer]()
    var sawFooter = false

    init(source: String) {
        self.source = source
    }

    mutating func read(_ batchRecords: [Record], isControl: Bool, isFirstBatch: Bool) throws(LogError) {
        for (position, record) in batchRecords.enumerated() {
            guard !sawFooter else {
                throw LogError(.corrupt, "\(source): record at offset \(record.offset) follows the snapshot footer")
            }
            guard isControl else {
                guard isFirstBatch == false, let value = record.value else {
                    throw LogError(
                        .corrupt,
                        isFirstBatch
                            ? "\(source): the first batch is not the control batch of a SnapshotHeaderRecord"
                            : "\(source): data record at offset \(record.offset) has no value")
                }
                records.append(value)
                continue
            }
            try readControl(record, isHeaderPosition: isFirstBatch && position == 0)
        }
    }

    private mutating func readControl(_ record: Record, isHeaderPosition: Bool) throws(LogError) {
        let type: ControlRecordType
        do {
            type = try ControlRecordType(parsingKey: record.key)
        } catch {
            throw LogError(.corrupt, "\(source): control record at offset \(record.offset): \(error)")
        }
        guard isHeaderPosition == (type == .snapshotHeader) else {
            throw LogError(
                .corrupt,
                isHeaderPosition
                    ? "\(source): the first record is \(type), not the SnapshotHeaderRecord"
                    : "\(source): \(type) record at offset \(record.offset) where only the first record may be one")
        }
        let value = record.value ?? ByteBuffer()
        switch type {
        case .snapshotHeader: header = try decode(SnapshotHeaderRecord.self, value, at: record.offset)
        case .snapshotFooter:
            _ = try decode(SnapshotFooterRecord.self, value, at: record.offset)
            sawFooter = true
        case .kraftVersion: kraftVersion = try decode(KRaftVersionRecord.self, value, at: record.offset)
        case .kraftVoters: voters = try decode(VotersRecord.self, value, at: record.offset)
        default: break
        }
    }

    private func decode<Message: KafkaVersionedMessage>(_ type: Message.Type, _ value: ByteBuffer, at offset: Int64)
        throws(LogError) -> Message
    {
        do {
            return try Message.decodeWhole(from: value, version: 0)
        } catch {
            throw LogError(.corrupt, "\(source): \(Message.self) at offset \(offset): \(error)")
        }
    }
}
