import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

/// A long seeded sequence of operations on a real `PartitionLog`, checked step by step against a simple in-memory
/// model (the list of batches and the log start). A failure prints the seed; `STORAGE_SEED=n` replays it.
@Suite struct RandomizedLogTests {
    /// The model: batches in order, each with its records, and the log start.
    struct Model {
        struct Entry: Equatable {
            var offset: Int64
            var timestamp: Int64
            var key: String
            var value: String
        }

        var batches: [[Entry]] = []
        var logStart: Int64 = 0
        var emptyEnd: Int64 = 0

        var end: Int64 { batches.last.map { $0.last!.offset + 1 } ?? emptyEnd }
        var visible: [Entry] { batches.flatMap { $0 }.filter { $0.offset >= logStart } }

        /// Kafka's truncation: the batch holding `offset` goes whole.
        mutating func truncate(to offset: Int64) {
            while let last = batches.last, last.last!.offset >= offset {
                batches.removeLast()
                emptyEnd = last.first!.offset
            }
        }
    }

    static var configuration: LogConfiguration {
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = 4096
        configuration.indexIntervalBytes = 128
        configuration.retentionMs = 20_000
        configuration.fileDeleteDelayMs = 1_000
        return configuration
    }

    /// Flow: 1. draw a seed; 2. run 600 operations (appends of one or more batches, some compressed; reads at random
    /// offsets; rolls; truncations; log-start moves; retention passes as the manual clock advances; clean and unclean
    /// reopenings); 3. after each, compare log end and log start with the model, and regularly every record and a
    /// timestamp lookup.
    @Test func mixedOperationsAgreeWithTheModel() throws {
        let seed = SeededGenerator.seed(from: "STORAGE_SEED", test: "mixedOperationsAgreeWithTheModel")
        var random = SeededGenerator(seed: seed)
        let directory = StorageFixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let clock = ManualClock(milliseconds: 1_000_000)
        var model = Model()
        func open(clean: Bool) throws -> PartitionLog {
            try PartitionLog(
                directory: directory, topicPartition: TopicPartition("r", 0), topicID: KafkaUUIDFixture.id,
                configuration: Self.configuration, clock: clock, cleanShutdown: clean,
                recoveryPoint: clean ? 0 : Int64(random.next(below: Int(model.end) + 1)), logStartOffset: model.logStart
            )
        }
        var log = try open(clean: true)
        var sequence = 0
        let codecs: [CompressionCodec] = [.none, .none, .none, .gzip, .lz4, .zstd, .snappy]
        for step in 0..<600 {
            let context = "step \(step), seed \(seed)"
            switch random.next(below: 100) {
            case 0..<45:  // append
                var buffer = ByteBuffer()
                var appended: [[Model.Entry]] = []
                var next = model.end
                for _ in 0..<(1 + random.next(below: 3)) {
                    var options = RecordBatchBuilder.Options()
                    options.compression = codecs[random.next(below: codecs.count)]
                    var builder = RecordBatchBuilder(options: options)
                    var entries: [Model.Entry] = []
                    for _ in 0..<(1 + random.next(below: 8)) {
                        sequence += 1
                        let timestamp = clock.nowMilliseconds() - Int64(random.next(below: 2_000))
                        let entry = Model.Entry(
                            offset: next, timestamp: timestamp, key: "k\(sequence)",
                            value: "v\(sequence)-" + String(repeating: "p", count: random.next(below: 300)))
                        builder.append(
                            timestamp: timestamp, key: ByteBuffer(string: entry.key),
                            value: ByteBuffer(string: entry.value))
                        entries.append(entry)
                        next += 1
                    }
                    var batch = try builder.build().buffer
                    buffer.writeBuffer(&batch)
                    appended.append(entries)
                }
                let result = try log.append(buffer, leaderEpoch: 3)
                #expect(result.firstOffset == model.end, "\(context)")
                model.batches += appended
                #expect(result.lastOffset == model.end - 1, "\(context)")
            case 45..<60:  // read at a random offset
                let offset = model.logStart + Int64(random.next(below: Int(model.end - model.logStart) + 1))
                let result = try log.read(
                    from: offset, maximumBytes: 1 + random.next(below: 3000), upperBound: model.end)
                if let slice = result.slice {
                    let records = try StorageFixtures.records(try log.bytes(of: slice)).filter { $0.offset >= offset }
                    let expected = model.visible.filter { $0.offset >= offset }.prefix(records.count)
                    #expect(records.map(\.offset) == expected.map(\.offset), "\(context)")
                    #expect(records.map { String(buffer: $0.value!) } == expected.map(\.value), "\(context)")
                    #expect(!records.isEmpty, "\(context)")
                } else {
                    #expect(offset == model.end, "\(context): nothing read at \(offset) below the end \(model.end)")
                }
            case 60..<65:
                try log.roll()
            case 65..<72:  // truncate (replication): only to a batch that starts at or after the log start
                let candidates = model.batches.filter { $0.first!.offset >= model.logStart && $0.first!.offset > 0 }
                if let batch = candidates.randomElement(using: &random) {
                    let offset = batch[random.next(below: batch.count)].offset
                    try log.truncate(to: offset)
                    model.truncate(to: offset)
                }
            case 72..<77:  // DeleteRecords
                let offset = model.logStart + Int64(random.next(below: Int(model.end - model.logStart) + 1))
                #expect(try log.advanceLogStartOffset(to: offset) == offset, "\(context)")
                model.logStart = offset
            case 77..<85:  // time passes, retention runs
                clock.advance(byMilliseconds: Int64(random.next(below: 8_000)))
                let before = model.logStart
                try log.applyRetention()
                #expect(log.logStartOffset >= before, "\(context)")
                model.logStart = log.logStartOffset
                #expect(log.baseOffsets.first! <= model.logStart, "\(context)")
            case 85..<90:  // clean close and reopen
                try log.close()
                log = try open(clean: true)
            case 90..<94:  // unclean reopen: the old object is dropped without closing
                log = try open(clean: false)
            default:  // timestamp lookup
                let visible = model.visible
                if let probe = visible.randomElement(using: &random) {
                    let target = probe.timestamp + Int64(random.next(below: 3)) - 1
                    let expected = visible.first { $0.timestamp >= target }
                    let found = try log.offset(forTimestamp: target)
                    #expect(found?.offset == expected?.offset, "\(context): lookup of \(target)")
                    #expect(found?.timestamp == expected?.timestamp, "\(context)")
                }
            }
            #expect(log.logEndOffset == model.end, "\(context)")
            #expect(log.logStartOffset == model.logStart, "\(context)")
            if step % 50 == 49 {
                let records = try LogChecks.allRecords(log)
                #expect(records.map(\.offset) == model.visible.map(\.offset), "\(context)")
                #expect(records.map { String(buffer: $0.key!) } == model.visible.map(\.key), "\(context)")
            }
        }
        try log.close()
        try LogChecks.checkFolder(directory)
    }
}
