import KafkaProtocol

/// A leader epoch and the offset where it ended (the start of the next epoch, or the log end for the latest one):
/// what OffsetForLeaderEpoch answers and what a Fetch answer's diverging epoch carries.
public struct EpochEndOffset: Sendable, Hashable, CustomStringConvertible {
    public var epoch: LeaderEpoch
    public var endOffset: Int64

    public init(epoch: LeaderEpoch, endOffset: Int64) {
        self.epoch = epoch
        self.endOffset = endOffset
    }

    /// Kafka's UNDEFINED_EPOCH (-1) and UNDEFINED_EPOCH_OFFSET (-1): the log knows no such epoch.
    public static let undefined = EpochEndOffset(epoch: -1, endOffset: -1)

    public var isUndefined: Bool { epoch == -1 || endOffset == -1 }

    public var description: String { "(epoch \(epoch), end \(endOffset))" }
}
