/// Whose clock the batch timestamps come from (attributes bit 3).
public enum TimestampType: Int16, Sendable, Hashable, CaseIterable {
    /// The producer set the timestamps (bit 3 clear).
    case createTime = 0
    /// The broker stamped `maxTimestamp` when it appended the batch (bit 3 set); every record's timestamp reads as it.
    case logAppendTime = 1
}
