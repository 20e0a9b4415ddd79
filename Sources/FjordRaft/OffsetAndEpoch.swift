import KafkaProtocol

/// A position in the replicated log together with the leader epoch that wrote it: the pair Raft compares to decide
/// which of two logs is more up to date, and what a snapshot id and a diverging-epoch answer are made of.
///
/// Ordering is by epoch first, then offset (Kafka's `OffsetAndEpoch.compareTo`): a log whose last record has a
/// higher epoch is more up to date whatever its length.
public struct OffsetAndEpoch: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var offset: Int64
    public var epoch: Int32

    public init(offset: Int64, epoch: Int32) {
        self.offset = offset
        self.epoch = epoch
    }

    /// The position of an empty log: offset 0, epoch 0.
    public static let zero = OffsetAndEpoch(offset: 0, epoch: 0)

    public static func < (lhs: OffsetAndEpoch, rhs: OffsetAndEpoch) -> Bool {
        (lhs.epoch, lhs.offset) < (rhs.epoch, rhs.offset)
    }

    public var description: String { "(offset \(offset), epoch \(epoch))" }
}
