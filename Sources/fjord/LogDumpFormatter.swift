import FjordStorage
import KafkaRecords
import NIOCore

/// `fjord log dump`'s output for one file, from what `SegmentInspector` read: one line per batch or entry (text,
/// `key: value` pairs as Kafka's `kafka-dump-log` prints them; records after their batch behind `| `; problems as
/// `PROBLEM:` lines where they were found), or one JSON object (`file`, the summary, `entries`, `problems`).
struct LogDumpFormatter {
    enum Format: String, CaseIterable {
        case text, json
    }

    var format: Format = .text
    /// Print every record of every batch (`--print-records`).
    var printRecords = false
    /// Bound on a decompressed batch while printing records.
    var maxDecompressedBytes = CompressionCodec.defaultMaxDecompressedBytes

    private var lines: [String] = []
    private var items: [JSONValue] = []
    private var summary: [(String, JSONValue)] = []
    private var problems: [String] = []

    init(format: Format = .text, printRecords: Bool = false) {
        self.format = format
        self.printRecords = printRecords
    }

    /// The report of `inspection` (of the file at `path`) and every problem found, records that do not decode
    /// included.
    mutating func report(path: String, _ inspection: SegmentInspector.Inspection) -> (
        output: String, problems: [String]
    ) {
        lines = []
        items = []
        summary = []
        problems = []
        switch inspection.contents {
        case .log(let batches, let trailing):
            for batch in batches { emit(batch) }
            summary = [("batches", .int(batches.count)), ("trailingBytes", .integer(trailing))]
        case .offsetIndex(let entries):
            for entry in entries {
                emit(
                    [("offset", .integer(entry.offset)), ("position", .integer(entry.position))],
                    problems: entry.problems)
            }
            summary = [("entryCount", .int(entries.count))]
        case .timeIndex(let entries):
            for entry in entries {
                emit(
                    [("timestamp", .integer(entry.timestamp)), ("offset", .integer(entry.offset))],
                    problems: entry.problems)
            }
            summary = [("entryCount", .int(entries.count))]
        case .transactionIndex(let entries):
            for entry in entries {
                let transaction = entry.transaction
                emit(
                    [
                        ("producerId", .integer(transaction.producerID)),
                        ("firstOffset", .integer(transaction.firstOffset)),
                        ("lastOffset", .integer(transaction.lastOffset)),
                        ("lastStableOffset", .integer(transaction.lastStableOffset)),
                    ], problems: entry.problems)
            }
            summary = [("entryCount", .int(entries.count))]
        }
        for problem in inspection.problems { note(problem) }
        if format == .json {
            let object: JSONValue = .object(
                [("file", .string(path))] + summary + [
                    ("entries", .array(items)), ("problems", .array(problems.map { .string($0) })),
                ]
            )
            return (object.rendered + "\n", problems)
        }
        let text = ["Dumping \(path)"] + lines + summary.map { "\($0.0): \(Self.text($0.1))" }
        return (text.joined(separator: "\n") + "\n", problems)
    }

    private mutating func emit(_ dumped: SegmentInspector.Batch) {
        let batch = dumped.batch
        var fields: [(String, JSONValue)] = [
            ("baseOffset", .integer(batch.baseOffset)), ("lastOffset", .integer(batch.lastOffset)),
            ("count", .int(batch.recordCount)), ("position", .integer(dumped.position)),
            ("size", .int(batch.sizeInBytes)), ("magic", .int(batch.magic)),
            ("crc", .int(batch.crc)), ("crcValid", .bool(dumped.crcValid)),
            ("compression", .string(batch.compression.map { "\($0)" } ?? "unknown")),
            ("timestampType", .string(batch.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime")),
            ("baseTimestamp", .integer(batch.baseTimestamp)), ("maxTimestamp", .integer(batch.maxTimestamp)),
            ("producerId", .integer(batch.producerID)), ("producerEpoch", .int(batch.producerEpoch)),
            ("baseSequence", .int(batch.baseSequence)), ("partitionLeaderEpoch", .int(batch.partitionLeaderEpoch)),
            ("isTransactional", .bool(batch.isTransactional)), ("isControl", .bool(batch.isControl)),
        ]
        var problems = dumped.problems
        var records: [[(String, JSONValue)]]?
        if printRecords {
            do {
                records = try batch.records(maxDecompressedBytes: maxDecompressedBytes).map(Self.describe)
            } catch {
                problems.append("batch at position \(dumped.position): records do not decode: \(error)")
                fields.append(("recordsError", .string("\(error)")))
                records = []
            }
        }
        emit(fields, records: records, problems: problems)
    }

    private mutating func emit(
        _ fields: [(String, JSONValue)], records: [[(String, JSONValue)]]? = nil, problems: [String]
    ) {
        if format == .json {
            var object = fields
            if let records { object.append(("records", .array(records.map { .object($0) }))) }
            items.append(.object(object))
        } else {
            lines.append(fields.map { "\($0.0): \(Self.text($0.1))" }.joined(separator: " "))
            for record in records ?? [] {
                lines.append("| " + record.map { "\($0.0): \(Self.text($0.1))" }.joined(separator: " "))
            }
        }
        for problem in problems { note(problem) }
    }

    private mutating func note(_ problem: String) {
        problems.append(problem)
        if format == .text { lines.append("PROBLEM: " + problem) }
    }

    static func describe(_ record: Record) -> [(String, JSONValue)] {
        [
            ("offset", .integer(record.offset)), ("timestamp", .integer(record.timestamp)),
            ("key", record.key.map { .string(display($0)) } ?? .null),
            ("value", record.value.map { .string(display($0)) } ?? .null),
            ("headers", .object(record.headers.map { ($0.key, $0.value.map { .string(display($0)) } ?? .null) })),
        ]
    }

    /// A value as text: strings bare, everything else as JSON.
    static func text(_ value: JSONValue) -> String {
        if case .string(let string) = value { return string }
        return value.rendered
    }

    /// Bytes as text when they are printable UTF-8, else as `0x` and hex digits.
    static func display(_ bytes: ByteBuffer) -> String {
        let view = bytes.readableBytesView
        if let text = String(validating: view, as: UTF8.self),
            !text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F })
        {
            return text
        }
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var hex = [UInt8]("0x".utf8)
        hex.reserveCapacity(2 + view.count * 2)
        for byte in view {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }
}
