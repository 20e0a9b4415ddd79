import KafkaRecords
import NIOCore
import Testing

@testable import FjordClient

struct RecordAccumulatorTests {
    let tp = TopicPartition("t", 0)

    func value(_ size: Int) -> ByteBuffer { ByteBuffer(repeating: 0x61, count: size) }

    @Test func batchClosesAtBatchSize() {
        // Flow: 1. append records of ~121 bytes into 300-byte batches; 2. the third record closes the first batch;
        // 3. drain (before linger) returns only the closed batch.
        var accumulator = RecordAccumulator(
            batchSize: 300, linger: .seconds(60), bufferMemory: 1 << 20, compression: .none)
        let now = ContinuousClock.now
        var results: [RecordAccumulator.AppendResult] = []
        for _ in 0..<3 {
            results.append(
                accumulator.append(
                    to: tp, timestamp: 1, key: nil, value: value(100), headers: [], completion: nil, now: now)
            )
        }
        #expect(results[0] == .init(closedPreviousBatch: false, batchIsFull: false, newBatch: true))
        #expect(results[1] == .init(closedPreviousBatch: false, batchIsFull: false, newBatch: false))
        #expect(results[2] == .init(closedPreviousBatch: true, batchIsFull: false, newBatch: true))
        let drained = accumulator.drain(now: now, flushing: false) { _, _ in false }
        #expect(drained.count == 1)
        #expect(drained.first?.recordCount == 2)
        #expect(accumulator.queuedBatchCount == 1)
    }

    @Test func batchIsReadyAfterLinger() {
        // Flow: 1. append one small record; 2. nothing is ready before linger; 3. it is ready at linger and
        // nextReadyTime names that instant.
        var accumulator = RecordAccumulator(
            batchSize: 16_384, linger: .milliseconds(20), bufferMemory: 1 << 20, compression: .none)
        let start = ContinuousClock.now
        _ = accumulator.append(
            to: tp, timestamp: 1, key: nil, value: value(10), headers: [], completion: nil, now: start)
        #expect(accumulator.drain(now: start + .milliseconds(5), flushing: false) { _, _ in false }.isEmpty)
        #expect(accumulator.nextReadyTime() == start + .milliseconds(20))
        let drained = accumulator.drain(now: start + .milliseconds(20), flushing: false) { _, _ in false }
        #expect(drained.count == 1)
        #expect(accumulator.isEmpty)
    }

    @Test func flushingDrainsWithoutWaiting() {
        var accumulator = RecordAccumulator(
            batchSize: 16_384, linger: .seconds(60), bufferMemory: 1 << 20, compression: .none)
        let now = ContinuousClock.now
        _ = accumulator.append(to: tp, timestamp: 1, key: nil, value: value(10), headers: [], completion: nil, now: now)
        _ = accumulator.append(
            to: TopicPartition("t", 1), timestamp: 1, key: nil, value: value(10), headers: [], completion: nil, now: now
        )
        #expect(accumulator.drain(now: now, flushing: true) { _, _ in false }.count == 2)
    }

    @Test func bufferMemoryBoundsQueuedBytesUntilReleased() throws {
        // Flow: 1. fill a 1000-byte buffer; 2. hasRoom refuses more; 3. draining alone frees nothing (records in
        // flight still count); 4. releasing the batch frees the bytes.
        var accumulator = RecordAccumulator(batchSize: 100_000, linger: .zero, bufferMemory: 1000, compression: .none)
        let now = ContinuousClock.now
        var appended = 0
        while accumulator.hasRoom(for: 121) {
            _ = accumulator.append(
                to: tp, timestamp: 1, key: nil, value: value(100), headers: [], completion: nil, now: now)
            appended += 1
        }
        #expect(appended == 8)
        #expect(accumulator.bufferedBytes == 968)
        let drained = accumulator.drain(now: now, flushing: false) { _, _ in false }
        #expect(!accumulator.hasRoom(for: 121))
        for batch in drained { accumulator.release(batch) }
        #expect(accumulator.bufferedBytes == 0)
        #expect(accumulator.hasRoom(for: 121))
    }

    @Test func blockedPartitionsAreNotDrainedAndRetriesGoFirst() throws {
        var accumulator = RecordAccumulator(batchSize: 150, linger: .zero, bufferMemory: 1 << 20, compression: .none)
        let now = ContinuousClock.now
        for _ in 0..<3 {
            _ = accumulator.append(
                to: tp, timestamp: 1, key: nil, value: value(100), headers: [], completion: nil, now: now)
        }
        #expect(accumulator.drain(now: now, flushing: false) { _, _ in true }.isEmpty)
        var first = try #require(accumulator.drain(now: now, flushing: false) { _, _ in false }.first)
        try first.encode(producerID: 1, producerEpoch: 0, baseSequence: 0)
        var second = try #require(accumulator.drain(now: now, flushing: false) { _, _ in false }.first)
        try second.encode(producerID: 1, producerEpoch: 0, baseSequence: 1)
        // Both failed: requeued in sequence order whatever order the answers came in.
        accumulator.reenqueue(second)
        accumulator.reenqueue(first)
        let again = accumulator.drain(now: now, flushing: false) { _, _ in false }
        #expect(again.first?.baseSequence == 0)
    }

    @Test func encodedBatchesCarryCompressionAndSequence() throws {
        var accumulator = RecordAccumulator(batchSize: 16_384, linger: .zero, bufferMemory: 1 << 20, compression: .zstd)
        let now = ContinuousClock.now
        for i in 0..<10 {
            _ = accumulator.append(
                to: tp, timestamp: Int64(i), key: ByteBuffer(string: "k\(i)"), value: value(200),
                headers: [RecordHeader(key: "h", value: "v")], completion: nil, now: now
            )
        }
        var batch = try #require(accumulator.drain(now: now, flushing: true) { _, _ in false }.first)
        try batch.encode(producerID: 7, producerEpoch: 2, baseSequence: 40)
        let decoded = try RecordBatch(buffer: try #require(batch.encoded))
        #expect(decoded.compression == .zstd)
        #expect(decoded.producerID == 7)
        #expect(decoded.baseSequence == 40)
        #expect(decoded.isCRCValid)
        let records = try decoded.records()
        #expect(records.count == 10)
        #expect(records[3].key == ByteBuffer(string: "k3"))
        #expect(records[3].headers == [RecordHeader(key: "h", value: "v")])
    }
}
