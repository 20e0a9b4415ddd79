/// Where a group lives: the partition of `__consumer_offsets` that holds its records and whose leader is its
/// coordinator. Kafka's rule, so a group lands on the same partition number as on a Kafka cluster:
/// `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`.
public enum GroupPlacement {
    /// Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping at 32 bits.
    public static func javaStringHashCode(_ string: String) -> Int32 {
        var hash: Int32 = 0
        for unit in string.utf16 { hash = hash &* 31 &+ Int32(unit) }
        return hash
    }

    /// Kafka's `Utils.abs`: the absolute value, with Int32.min mapped to 0 (not to itself).
    public static func kafkaAbs(_ value: Int32) -> Int32 {
        value == .min ? 0 : abs(value)
    }

    /// The partition of `__consumer_offsets` for `groupID`.
    public static func partition(for groupID: String, partitionCount: Int32) -> Int32 {
        precondition(partitionCount > 0, "__consumer_offsets needs at least one partition")
        return kafkaAbs(javaStringHashCode(groupID)) % partitionCount
    }
}
