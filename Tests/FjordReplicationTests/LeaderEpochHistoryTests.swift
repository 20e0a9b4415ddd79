import FjordReplication
import Testing

@Suite struct LeaderEpochHistoryTests {
    /// Epoch 0 from 0, epoch 2 from 10, epoch 4 from 15; the log ends at 20.
    static let history = LeaderEpochHistory(entries: [
        .init(epoch: 0, startOffset: 0), .init(epoch: 2, startOffset: 10),
        .init(epoch: 4, startOffset: 15),
    ])

    @Test func endOffsetForEpochIsKafkas() {
        // Flow: 1. the latest epoch ends at the log end; 2. a known older epoch ends where the next starts; 3. an
        // unknown epoch between two known ones answers the largest earlier one; 4. older than all: the first start;
        // 5. newer than the latest, or -1: undefined.
        let history = Self.history
        #expect(history.endOffset(for: 4, logEndOffset: 20) == EpochEndOffset(epoch: 4, endOffset: 20))
        #expect(history.endOffset(for: 2, logEndOffset: 20) == EpochEndOffset(epoch: 2, endOffset: 15))
        #expect(history.endOffset(for: 3, logEndOffset: 20) == EpochEndOffset(epoch: 2, endOffset: 15))
        #expect(history.endOffset(for: 1, logEndOffset: 20) == EpochEndOffset(epoch: 0, endOffset: 10))
        var trimmed = history
        trimmed.truncate(fromStart: 12)
        #expect(trimmed.endOffset(for: 1, logEndOffset: 20) == EpochEndOffset(epoch: 1, endOffset: 12))
        #expect(history.endOffset(for: 5, logEndOffset: 20) == .undefined)
        #expect(history.endOffset(for: -1, logEndOffset: 20) == .undefined)
        #expect(LeaderEpochHistory().endOffset(for: 0, logEndOffset: 0) == .undefined)
    }

    @Test func assignKeepsTheHistoryMonotonic() {
        // Flow: 1. the same epoch at a later offset changes nothing; 2. a new epoch appends; 3. an entry that is not
        // newer in both epoch and offset removes the entries it conflicts with.
        var history = Self.history
        history.assign(epoch: 4, startOffset: 18)
        #expect(history == Self.history)
        history.assign(epoch: 6, startOffset: 20)
        #expect(history.latestEpoch == 6)
        history.assign(epoch: 5, startOffset: 16)
        #expect(history.description == "0@0 2@10 4@15 5@16")
        history.assign(epoch: 7, startOffset: 12)
        #expect(history.description == "0@0 2@10 7@12")
    }

    @Test func truncationFromEitherEnd() {
        var history = Self.history
        history.truncate(fromEnd: 15)
        #expect(history.description == "0@0 2@10")
        history.truncate(fromEnd: 11)
        #expect(history.description == "0@0 2@10")
        history = Self.history
        history.truncate(fromStart: 12)
        #expect(history.description == "2@12 4@15")
        #expect(history.epoch(at: 14) == 2 && history.epoch(at: 15) == 4 && history.epoch(at: 3) == nil)
    }
}
