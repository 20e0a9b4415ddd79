import KafkaRecords
import NIOCore

/// `fjord log dump`: the contents of a segment file, like Kafka's `kafka-dump-log` (`DumpLogSegments`).
///
/// - `.log`: every batch (base and last offset, record count, position, size, CRC valid or not, compression,
///   timestamp type, base and max timestamp, producer id/epoch/base sequence, leader epoch, transactional and
///   control flags), optionally each record (offset, timestamp, key, value, headers); bytes after the last
///   complete batch are reported, not parsed.
/// - `.index` / `.timeindex`: every entry, and with `verifyIndex` a check against the sibling `.log` that each
///   entry points at the batch it claims (offset index: a batch starts at the position and its last offset is the
///   entry's; time index: the batch holding the offset has that max timestamp).
/// - `.txnindex`: every aborted transaction (producer id, first and last offset, last stable offset); a partial
///   trailing entry or an unknown version is a problem. With `verifyIndex`, each entry's last offset must be a
///   control batch of that producer in the sibling `.log`.
///
/// Pure formatting over the files, so it can be tested as a library; the CLI prints `output` and exits non-zero
/// when `problems` is not empty.
public enum LogDump {
    public enum Format: String, Sendable, CaseIterable {
        case text, json
    }

    public struct Options: Sendable {
        /// Print every record of every batch (`--print-records`).
        public var printRecords = false
        /// Check index entries against the log (`--verify-index`).
        public var verifyIndex = false
        public var format: Format = .text
        /// Bound on a decompressed batch while printing records.
        public var maxDecompressedBytes = CompressionCodec.defaultMaxDecompressedBytes

        public init() {}
    }

    public struct Report: Sendable {
        public var output: String
        /// What does not check out: a bad CRC, a torn tail, an index entry that points at the wrong place.
        public var problems: [String]
    }

    public static func dump(path: String, options: Options = Options()) throws(LogError) -> Report {
        var dumper = Dumper(options: options)
        if path.hasSuffix(".log") {
            try dumper.dumpLog(path)
        } else if path.hasSuffix(".timeindex") {
            try dumper.dumpTimeIndex(path)
        } else if path.hasSuffix(".index") {
            try dumper.dumpOffsetIndex(path)
        } else if path.hasSuffix(".txnindex") {
            try dumper.dumpTransactionIndex(path)
        } else {
            throw LogError(.invalidOffset, "\(path): not a .log, .index, .timeindex or .txnindex file")
        }
        return dumper.report(path: path)
    }

    /// The base offset a segment file's name carries (`00000000000000000042.log` → 42).
    static func baseOffset(ofFile path: String) -> Int64 {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return Int64(name.prefix(while: \.isNumber)) ?? 0
    }

    /// A batch of a `.log` file with its position and whether its CRC checks out.
    struct DumpedBatch {
        var position: Int64
        var batch: RecordBatch
        var crcValid: Bool
    }

    /// Every complete batch of a `.log`, and the bytes after the last one.
    static func batches(ofLog path: String) throws(LogError) -> (batches: [DumpedBatch], trailingBytes: Int64) {
        let file = try SegmentFile(path: path, create: false, cache: SegmentFileCache(maximumOpenFiles: 4))
        let size = try file.size()
        var scanner = BatchHeaderScanner(file: file, fileSize: size, from: 0)
        var result = [DumpedBatch]()
        var end: Int64 = 0
        while let header = try scanner.next() {
            let bytes = try file.read(at: header.position, length: header.size)
            guard let batch = try? RecordBatch(buffer: bytes) else { break }
            result.append(DumpedBatch(position: header.position, batch: batch, crcValid: batch.isCRCValid))
            end = header.endPosition
        }
        return (result, size - end)
    }
}

extension LogDump {
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

/// Collects lines (text) or objects (JSON) for one file.
private struct Dumper {
    let options: LogDump.Options
    var lines: [String] = []
    var items: [JSONValue] = []
    var summary: [(String, JSONValue)] = []
    var problems: [String] = []

    init(options: LogDump.Options) {
        self.options = options
    }

    mutating func emit(_ fields: [(String, JSONValue)], records: [[(String, JSONValue)]] = []) {
        if options.format == .json {
            var object = fields
            if options.printRecords, !records.isEmpty || fields.first?.0 == "baseOffset" {
                object.append(("records", .array(records.map { .object($0) })))
            }
            items.append(.object(object))
        } else {
            lines.append(fields.map { "\($0.0): \($0.1.text)" }.joined(separator: " "))
            for record in records { lines.append("| " + record.map { "\($0.0): \($0.1.text)" }.joined(separator: " ")) }
        }
    }

    mutating func problem(_ message: String) {
        problems.append(message)
        if options.format == .text { lines.append("PROBLEM: " + message) }
    }

    func report(path: String) -> LogDump.Report {
        if options.format == .json {
            var object: [(String, JSONValue)] = [("file", .string(path))]
            object += summary
            object.append(("entries", .array(items)))
            object.append(("problems", .array(problems.map { .string($0) })))
            return LogDump.Report(output: JSONValue.object(object).json + "\n", problems: problems)
        }
        var text = ["Dumping \(path)"] + lines
        text += summary.map { "\($0.0): \($0.1.text)" }
        return LogDump.Report(output: text.joined(separator: "\n") + "\n", problems: problems)
    }

    mutating func dumpLog(_ path: String) throws(LogError) {
        let (batches, trailing) = try LogDump.batches(ofLog: path)
        var expectedNext: Int64?
        for dumped in batches {
            let batch = dumped.batch
            var fields: [(String, JSONValue)] = [
                ("baseOffset", .int(batch.baseOffset)), ("lastOffset", .int(batch.lastOffset)),
                ("count", .int(Int64(batch.recordCount))), ("position", .int(dumped.position)),
                ("size", .int(Int64(batch.sizeInBytes))), ("magic", .int(Int64(batch.magic))),
                ("crc", .int(Int64(batch.crc))), ("crcValid", .bool(dumped.crcValid)),
                ("compression", .string(batch.compression.map { "\($0)" } ?? "unknown")),
                ("timestampType", .string(batch.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime")),
                ("baseTimestamp", .int(batch.baseTimestamp)), ("maxTimestamp", .int(batch.maxTimestamp)),
                ("producerId", .int(batch.producerID)), ("producerEpoch", .int(Int64(batch.producerEpoch))),
                ("baseSequence", .int(Int64(batch.baseSequence))),
                ("partitionLeaderEpoch", .int(Int64(batch.partitionLeaderEpoch))),
                ("isTransactional", .bool(batch.isTransactional)), ("isControl", .bool(batch.isControl)),
            ]
            if !dumped.crcValid { problem("batch at position \(dumped.position) (offset \(batch.baseOffset)): CRC mismatch") }
            if let expected = expectedNext, batch.baseOffset < expected {
                problem("batch at position \(dumped.position): offset \(batch.baseOffset) goes back (expected ≥ \(expected))")
            }
            expectedNext = batch.nextOffset
            var records: [[(String, JSONValue)]] = []
            if options.printRecords {
                do {
                    records = try batch.records(maxDecompressedBytes: options.maxDecompressedBytes).map(Self.describe)
                } catch {
                    problem("batch at position \(dumped.position): records do not decode: \(error)")
                    fields.append(("recordsError", .string("\(error)")))
                }
            }
            emit(fields, records: records)
        }
        summary.append(("batches", .int(Int64(batches.count))))
        summary.append(("trailingBytes", .int(trailing)))
        if trailing > 0 { problem("\(trailing) bytes after the last complete batch") }
    }

    static func describe(_ record: Record) -> [(String, JSONValue)] {
        [
            ("offset", .int(record.offset)), ("timestamp", .int(record.timestamp)),
            ("key", record.key.map { .string(LogDump.display($0)) } ?? .null),
            ("value", record.value.map { .string(LogDump.display($0)) } ?? .null),
            ("headers", .object(record.headers.map { ($0.key, $0.value.map { .string(LogDump.display($0)) } ?? .null) })),
        ]
    }

    private func siblingLog(_ path: String, suffix: String) -> String {
        String(path.dropLast(suffix.count)) + ".log"
    }

    mutating func dumpOffsetIndex(_ path: String) throws(LogError) {
        let base = LogDump.baseOffset(ofFile: path)
        let file = try SegmentFile(path: path, create: false, cache: SegmentFileCache(maximumOpenFiles: 4))
        let bytes = try file.read(at: 0, length: Int(try file.size()))
        let (entries, clean) = OffsetIndex.parse(bytes)
        let batches = options.verifyIndex ? try LogDump.batches(ofLog: siblingLog(path, suffix: ".index")).batches : []
        let byPosition = Dictionary(batches.map { ($0.position, $0) }, uniquingKeysWith: { first, _ in first })
        for entry in entries {
            let offset = base + Int64(entry.relativeOffset)
            emit([("offset", .int(offset)), ("position", .int(Int64(entry.position)))])
            guard options.verifyIndex else { continue }
            if let batch = byPosition[Int64(entry.position)] {
                if batch.batch.lastOffset != offset {
                    problem("index entry \(offset) → \(entry.position): the batch there ends at \(batch.batch.lastOffset)")
                }
            } else {
                problem("index entry \(offset) → \(entry.position): no batch starts at that position")
            }
        }
        summary.append(("entryCount", .int(Int64(entries.count))))
        if !clean { problem("bytes after entry \(entries.count) are neither entries nor zero padding") }
    }

    mutating func dumpTimeIndex(_ path: String) throws(LogError) {
        let base = LogDump.baseOffset(ofFile: path)
        let file = try SegmentFile(path: path, create: false, cache: SegmentFileCache(maximumOpenFiles: 4))
        let bytes = try file.read(at: 0, length: Int(try file.size()))
        let (entries, clean) = TimeIndex.parse(bytes)
        let batches = options.verifyIndex ? try LogDump.batches(ofLog: siblingLog(path, suffix: ".timeindex")).batches : []
        for entry in entries {
            let offset = base + Int64(entry.relativeOffset)
            emit([("timestamp", .int(entry.timestamp)), ("offset", .int(offset))])
            guard options.verifyIndex else { continue }
            if let holder = batches.first(where: { $0.batch.baseOffset <= offset && offset <= $0.batch.lastOffset }) {
                if holder.batch.maxTimestamp != entry.timestamp {
                    problem("time index entry \(entry.timestamp) → \(offset): that batch's max timestamp is \(holder.batch.maxTimestamp)")
                }
            } else {
                problem("time index entry \(entry.timestamp) → \(offset): no batch holds that offset")
            }
        }
        summary.append(("entryCount", .int(Int64(entries.count))))
        if !clean { problem("bytes after entry \(entries.count) are neither entries nor zero padding") }
    }
}

extension Dumper {
    mutating func dumpTransactionIndex(_ path: String) throws(LogError) {
        let file = try SegmentFile(path: path, create: false, cache: SegmentFileCache(maximumOpenFiles: 4))
        let parsed = TransactionIndex.parse(try file.read(at: 0, length: Int(try file.size())))
        let batches = options.verifyIndex ? try LogDump.batches(ofLog: String(path.dropLast(".txnindex".count)) + ".log").batches : []
        for entry in parsed.entries {
            emit([
                ("producerId", .int(entry.producerID)), ("firstOffset", .int(entry.firstOffset)),
                ("lastOffset", .int(entry.lastOffset)), ("lastStableOffset", .int(entry.lastStableOffset)),
            ])
            guard options.verifyIndex else { continue }
            let marker = batches.first { $0.batch.baseOffset == entry.lastOffset }
            if marker == nil || !marker!.batch.isControl || marker!.batch.producerID != entry.producerID {
                problem("aborted transaction of producer \(entry.producerID) ending at \(entry.lastOffset): no control batch of that producer there")
            }
        }
        summary.append(("entryCount", .int(Int64(parsed.entries.count))))
        if let problem = parsed.problem { self.problem(problem) }
    }
}

/// Just enough JSON for the dump (keys keep their order).
private indirect enum JSONValue {
    case int(Int64), bool(Bool), string(String), null
    case array([JSONValue])
    case object([(String, JSONValue)])

    var text: String {
        switch self {
        case .int(let value): return String(value)
        case .bool(let value): return String(value)
        case .string(let value): return value
        case .null: return "null"
        case .array, .object: return json
        }
    }

    var json: String {
        switch self {
        case .int(let value): return String(value)
        case .bool(let value): return String(value)
        case .null: return "null"
        case .string(let value): return Self.quote(value)
        case .array(let values): return "[" + values.map(\.json).joined(separator: ",") + "]"
        case .object(let fields): return "{" + fields.map { Self.quote($0.0) + ":" + $0.1.json }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
