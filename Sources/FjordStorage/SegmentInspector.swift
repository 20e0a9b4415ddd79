import KafkaRecords
import NIOCore

/// What a segment file holds, read for `fjord log dump` (Kafka's `kafka-dump-log`): the storage side of the dump.
/// Formatting is the command's (`LogDumpFormatter` in the `fjord` target).
///
/// - `.log`: every complete batch with its position and whether its CRC checks out; the bytes after the last one.
/// - `.index` / `.timeindex`: every entry; with `verifyIndex`, checked against the sibling `.log` (offset index: a
///   batch starts at the entry's position and ends at its offset; time index: the batch holding the offset has
///   that max timestamp).
/// - `.txnindex`: every aborted transaction; with `verifyIndex`, each entry's last offset must be a control batch
///   of that producer in the sibling `.log`.
///
/// Each entry carries the problems found with it, in order, so a report can print them where they belong.
public enum SegmentInspector {
    public struct Batch: Sendable {
        public var position: Int64
        public var batch: RecordBatch
        public var crcValid: Bool
        public var problems: [String] = []
    }

    public struct OffsetIndexEntry: Sendable {
        public var offset: Int64
        public var position: Int64
        public var problems: [String] = []
    }

    public struct TimeIndexEntry: Sendable {
        public var timestamp: Int64
        public var offset: Int64
        public var problems: [String] = []
    }

    public struct AbortedTransactionEntry: Sendable {
        public var transaction: AbortedTransaction
        public var problems: [String] = []
    }

    public enum Contents: Sendable {
        case log(batches: [Batch], trailingBytes: Int64)
        case offsetIndex([OffsetIndexEntry])
        case timeIndex([TimeIndexEntry])
        case transactionIndex([AbortedTransactionEntry])
    }

    public struct Inspection: Sendable {
        public var contents: Contents
        /// Problems of the file as a whole (a torn tail, bytes that are neither entries nor padding), after the
        /// entries' own.
        public var problems: [String]

        /// Every problem: the entries', then the file's.
        public var allProblems: [String] {
            let perEntry: [String]
            switch contents {
            case .log(let batches, _): perEntry = batches.flatMap(\.problems)
            case .offsetIndex(let entries): perEntry = entries.flatMap(\.problems)
            case .timeIndex(let entries): perEntry = entries.flatMap(\.problems)
            case .transactionIndex(let entries): perEntry = entries.flatMap(\.problems)
            }
            return perEntry + problems
        }
    }

    public static func inspect(path: String, verifyIndex: Bool) throws(LogError) -> Inspection {
        if path.hasSuffix(".log") { return try inspectLog(path) }
        if path.hasSuffix(".timeindex") { return try inspectTimeIndex(path, verify: verifyIndex) }
        if path.hasSuffix(".index") { return try inspectOffsetIndex(path, verify: verifyIndex) }
        if path.hasSuffix(".txnindex") { return try inspectTransactionIndex(path, verify: verifyIndex) }
        throw LogError(.invalidOffset, "\(path): not a .log, .index, .timeindex or .txnindex file")
    }

    /// The base offset a segment file's name carries (`00000000000000000042.log` → 42).
    static func baseOffset(ofFile path: String) -> Int64 {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return Int64(name.prefix(while: \.isNumber)) ?? 0
    }

    /// Every complete batch of a `.log`, and the bytes after the last one.
    static func batches(ofLog path: String) throws(LogError) -> (batches: [Batch], trailingBytes: Int64) {
        let file = try SegmentFile(path: path, create: false, cache: SegmentFileCache(maximumOpenFiles: 4))
        let size = try file.size()
        var scanner = BatchHeaderScanner(file: file, fileSize: size, from: 0)
        var result = [Batch]()
        var end: Int64 = 0
        while let header = try scanner.next() {
            let bytes = try file.read(at: header.position, length: header.size)
            guard let batch = try? RecordBatch(buffer: bytes) else { break }
            result.append(Batch(position: header.position, batch: batch, crcValid: batch.isCRCValid))
            end = header.endPosition
        }
        return (result, size - end)
    }

    private static func inspectLog(_ path: String) throws(LogError) -> Inspection {
        var (batches, trailing) = try batches(ofLog: path)
        var expectedNext: Int64?
        for index in batches.indices {
            let batch = batches[index].batch
            let position = batches[index].position
            if !batches[index].crcValid {
                batches[index].problems.append(
                    "batch at position \(position) (offset \(batch.baseOffset)): CRC mismatch")
            }
            if let expected = expectedNext, batch.baseOffset < expected {
                batches[index].problems.append(
                    "batch at position \(position): offset \(batch.baseOffset) goes back (expected ≥ \(expected))")
            }
            expectedNext = batch.nextOffset
        }
        let problems = trailing > 0 ? ["\(trailing) bytes after the last complete batch"] : []
        return Inspection(contents: .log(batches: batches, trailingBytes: trailing), problems: problems)
    }

    private static func fileBytes(_ path: String) throws(LogError) -> ByteBuffer {
        let file = try SegmentFile(path: path, create: false, cache: SegmentFileCache(maximumOpenFiles: 4))
        return try file.read(at: 0, length: Int(try file.size()))
    }

    private static func siblingLog(_ path: String, suffix: String) -> String {
        String(path.dropLast(suffix.count)) + ".log"
    }

    private static func tornTail(_ count: Int) -> String {
        "bytes after entry \(count) are neither entries nor zero padding"
    }

    private static func inspectOffsetIndex(_ path: String, verify: Bool) throws(LogError) -> Inspection {
        let base = baseOffset(ofFile: path)
        let (parsed, clean) = OffsetIndex.parse(try fileBytes(path))
        let batches = verify ? try batches(ofLog: siblingLog(path, suffix: ".index")).batches : []
        let byPosition = Dictionary(batches.map { ($0.position, $0) }, uniquingKeysWith: { first, _ in first })
        let entries = parsed.map { parsedEntry -> OffsetIndexEntry in
            let offset = base + Int64(parsedEntry.relativeOffset)
            var entry = OffsetIndexEntry(offset: offset, position: Int64(parsedEntry.position))
            guard verify else { return entry }
            if let batch = byPosition[entry.position] {
                if batch.batch.lastOffset != offset {
                    entry.problems.append(
                        "index entry \(offset) → \(entry.position): the batch there ends at \(batch.batch.lastOffset)")
                }
            } else {
                entry.problems.append("index entry \(offset) → \(entry.position): no batch starts at that position")
            }
            return entry
        }
        return Inspection(contents: .offsetIndex(entries), problems: clean ? [] : [tornTail(entries.count)])
    }

    private static func inspectTimeIndex(_ path: String, verify: Bool) throws(LogError) -> Inspection {
        let base = baseOffset(ofFile: path)
        let (parsed, clean) = TimeIndex.parse(try fileBytes(path))
        let batches = verify ? try batches(ofLog: siblingLog(path, suffix: ".timeindex")).batches : []
        let entries = parsed.map { parsedEntry -> TimeIndexEntry in
            let offset = base + Int64(parsedEntry.relativeOffset)
            var entry = TimeIndexEntry(timestamp: parsedEntry.timestamp, offset: offset)
            guard verify else { return entry }
            if let holder = batches.first(where: { $0.batch.baseOffset <= offset && offset <= $0.batch.lastOffset }) {
                if holder.batch.maxTimestamp != entry.timestamp {
                    entry.problems.append(
                        "time index entry \(entry.timestamp) → \(offset): that batch's max timestamp is \(holder.batch.maxTimestamp)"
                    )
                }
            } else {
                entry.problems.append("time index entry \(entry.timestamp) → \(offset): no batch holds that offset")
            }
            return entry
        }
        return Inspection(contents: .timeIndex(entries), problems: clean ? [] : [tornTail(entries.count)])
    }

    private static func inspectTransactionIndex(_ path: String, verify: Bool) throws(LogError) -> Inspection {
        let parsed = TransactionIndex.parse(try fileBytes(path))
        let batches = verify ? try batches(ofLog: siblingLog(path, suffix: ".txnindex")).batches : []
        let entries = parsed.entries.map { transaction -> AbortedTransactionEntry in
            var entry = AbortedTransactionEntry(transaction: transaction)
            guard verify else { return entry }
            let marker = batches.first { $0.batch.baseOffset == transaction.lastOffset }
            if marker == nil || !marker!.batch.isControl || marker!.batch.producerID != transaction.producerID {
                entry.problems.append(
                    "aborted transaction of producer \(transaction.producerID) ending at \(transaction.lastOffset): no control batch of that producer there"
                )
            }
            return entry
        }
        return Inspection(contents: .transactionIndex(entries), problems: parsed.problem.map { [$0] } ?? [])
    }
}
