import FjordReplication
import KafkaProtocol
import KafkaRecords
import NIOCore

/// An offset with the timestamp and leader epoch of its record, as ListOffsets answers.
public struct TimestampAndOffset: Sendable, Equatable {
    public var timestamp: Int64
    public var offset: Int64
    public var leaderEpoch: LeaderEpoch
}

extension PartitionLog {
    /// The first record with a timestamp ≥ `timestamp` (ListOffsets by time), nil if none is that recent.
    public func offset(forTimestamp timestamp: Int64) throws(LogError) -> TimestampAndOffset? {
        try reading { () throws(LogError) -> TimestampAndOffset? in
            let logStart = logStartOffsetStorage
            for segment in segments where try segment.largestTimestamp().timestamp >= timestamp {
                var found: TimestampAndOffset?
                // Scan batch headers from the time index's hint, stopping at the first batch that holds a match.
                try segment.forEachHeader(from: segment.startPosition(forTimestamp: timestamp)) {
                    (header) throws(LogError) -> Bool in
                    guard header.maxTimestamp >= timestamp, header.lastOffset >= logStart else { return true }
                    let records = try decode(segment, header)
                    if let record = records.first(where: { $0.timestamp >= timestamp && $0.offset >= logStart }) {
                        found = TimestampAndOffset(
                            timestamp: record.timestamp, offset: record.offset, leaderEpoch: header.partitionLeaderEpoch
                        )
                        return false
                    }
                    return true
                }
                if let found { return found }
            }
            return nil
        }
    }

    /// The record with the largest timestamp (ListOffsets -3, KIP-734): the first such record if several share it.
    /// Nil for an empty log.
    public func maxTimestampOffset() throws(LogError) -> TimestampAndOffset? {
        try reading { () throws(LogError) -> TimestampAndOffset? in
            var best: (segment: LogSegment, timestamp: Int64, offset: Int64)?
            for segment in segments {
                let (timestamp, offset) = try segment.largestTimestamp()
                if timestamp >= 0, timestamp > (best?.timestamp ?? -1) { best = (segment, timestamp, offset) }
            }
            guard let best, let header = try best.segment.findBatch(containingOrAfter: best.offset) else { return nil }
            let records = try decode(best.segment, header)
            let record = records.first { $0.timestamp == header.maxTimestamp } ?? records.last
            return record.map {
                TimestampAndOffset(
                    timestamp: header.maxTimestamp, offset: $0.offset, leaderEpoch: header.partitionLeaderEpoch)
            }
        }
    }

    /// The leader epoch of the batch holding `offset` (for ListOffsets answers), -1 if unknown.
    public func epoch(atOffset offset: Int64) -> Int32 {
        epochHistory.withLockedValue { $0.epoch(at: offset) } ?? -1
    }

    /// Where epoch `epoch` ended in this log (OffsetForLeaderEpoch), by Kafka's `endOffsetFor`: the largest epoch
    /// ≤ `epoch` and the start of the next one, or the log end for the latest epoch; an epoch older than every
    /// known one ends where the first known starts; a newer one, or -1, is undefined (-1, -1).
    public func endOffset(forEpoch epoch: Int32) -> EpochEndOffset {
        // The log end first: an append between the two reads can only add an epoch after it, which `endOffset`
        // then treats as the next epoch's start (never past this end).
        let end = logEndOffset
        return epochHistory.withLockedValue { $0.endOffset(for: epoch, logEndOffset: end) }
    }

    /// The leader epochs of this log as the checkpoint holds them (a replica's truncation decisions read them).
    public var leaderEpochHistory: LeaderEpochHistory {
        epochHistory.withLockedValue { $0 }
    }

    /// A new leader's epoch starts at `startOffset` (its log end when it takes over), before anything of that epoch
    /// is appended — so a follower asking where an older epoch ended gets the right answer at once. Kafka's
    /// `assign`: entries of an epoch ≥ `epoch` or starting at or after `startOffset` are removed first. Written to
    /// `leader-epoch-checkpoint` before it returns (blocking: not on an event loop).
    public func assignLeaderEpoch(_ epoch: Int32, startOffset: Int64) throws(LogError) {
        try locked { (state) throws(LogError) in
            try state.epochs.assign(epoch: epoch, startOffset: startOffset)
        }
    }

    private func decode(_ segment: LogSegment, _ header: BatchHeader) throws(LogError) -> [Record] {
        let bytes = try segment.log.read(at: header.position, length: header.size)
        do {
            return try RecordBatch(buffer: bytes).records()
        } catch {
            throw LogError(.corrupt, "\(segment.logPath) at \(header.position): \(error)")
        }
    }
}
