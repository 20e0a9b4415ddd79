import KafkaProtocol
import NIOCore
import Testing

@testable import FjordRaft

@Suite struct RaftLogTests {
    private func batch(_ base: Int64, epoch: Int32, count: Int = 1) -> RaftBatch {
        RaftBatch(
            baseOffset: base, epoch: epoch, appendTimeMs: 0,
            records: (0..<count).map { _ in .data(ByteBuffer(string: "r")) })
    }

    @Test func offsetAndEpochOrdersByEpochFirst() {
        // Flow:
        // 1. A log ending at a higher epoch is more up to date than a longer log of a lower epoch.
        #expect(OffsetAndEpoch(offset: 1, epoch: 3) > OffsetAndEpoch(offset: 100, epoch: 2))
        #expect(OffsetAndEpoch(offset: 5, epoch: 2) > OffsetAndEpoch(offset: 4, epoch: 2))
    }

    @Test func endOffsetForEpochFindsTheLargestEpochNotAbove() {
        // Flow:
        // 1. A log with epochs 1 (offsets 0-2), 3 (3-4), 5 (5).
        // 2. Epoch 1 ends at 3, epoch 2 (absent) answers epoch 1's end, epoch 4 answers epoch 3's end (5),
        //    epoch 5 and above answer the log end (6).
        let log = RaftLog(
            snapshot: nil,
            batches: [
                batch(0, epoch: 1, count: 3), batch(3, epoch: 3, count: 2),
                batch(5, epoch: 5),
            ])
        #expect(log.endOffset(forEpoch: 1) == OffsetAndEpoch(offset: 3, epoch: 1))
        #expect(log.endOffset(forEpoch: 2) == OffsetAndEpoch(offset: 3, epoch: 1))
        #expect(log.endOffset(forEpoch: 4) == OffsetAndEpoch(offset: 5, epoch: 3))
        #expect(log.endOffset(forEpoch: 9) == OffsetAndEpoch(offset: 6, epoch: 5))
        #expect(log.endOffset(forEpoch: 0) == OffsetAndEpoch(offset: 0, epoch: 0))
        #expect(log.epoch(before: 5) == 3)
        #expect(log.epoch(before: 0) == 0)
    }

    @Test func loadingDropsWhatDoesNotContinueTheLog() {
        // Flow:
        // 1. The driver hands a log with a gap after offset 2.
        // 2. Only the consecutive prefix is kept.
        let log = RaftLog(snapshot: nil, batches: [batch(0, epoch: 1, count: 2), batch(3, epoch: 1)])
        #expect(log.endOffset == 2)
    }
}
