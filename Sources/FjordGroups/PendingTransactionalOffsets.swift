import KafkaProtocol

/// Offsets committed inside transactions (TxnOffsetCommit) whose transaction has not ended yet, per producer and
/// `__consumer_offsets` partition. They are invisible to OffsetFetch until their partition's COMMIT marker makes
/// them committed offsets; an ABORT marker drops them. Kafka keeps the same in its offset metadata manager.
public struct PendingTransactionalOffsets: Sendable {
    struct Entry: Sendable {
        var groupID: String
        var partition: TopicPartition
        var record: GroupRecord
    }

    /// producer id → `__consumer_offsets` partition → records in append order.
    private var entries: [Int64: [Int32: [Entry]]] = [:]

    public init() {}

    public mutating func add(
        producerID: ProducerID, partition: Int32, groupID: String, key: TopicPartition, record: GroupRecord
    ) {
        entries[producerID, default: [:]][partition, default: []].append(
            Entry(groupID: groupID, partition: key, record: record))
    }

    /// Ends the producer's transaction in one `__consumer_offsets` partition: its records, in append order, for the
    /// caller to replay on a commit (or drop on an abort).
    public mutating func complete(producerID: ProducerID, partition: Int32) -> [GroupRecord] {
        guard let completed = entries[producerID]?.removeValue(forKey: partition) else { return [] }
        if entries[producerID]?.isEmpty == true { entries[producerID] = nil }
        return completed.map(\.record)
    }

    /// Whether a transaction has an uncommitted offset for the group's partition (OffsetFetch with `require_stable`
    /// answers UNSTABLE_OFFSET_COMMIT then), or for any of its partitions when `partition` is nil.
    public func isPending(groupID: String, partition: TopicPartition?) -> Bool {
        entries.values.contains { byPartition in
            byPartition.values.contains { list in
                list.contains { $0.groupID == groupID && (partition == nil || $0.partition == partition) }
            }
        }
    }

    public var isEmpty: Bool { entries.isEmpty }
}

extension PendingTransactionalOffsets {
    /// Drops every pending offset of one `__consumer_offsets` partition (its groups were unloaded).
    public mutating func remove(partition: Int32) {
        for producerID in entries.keys {
            entries[producerID]?[partition] = nil
            if entries[producerID]?.isEmpty == true { entries[producerID] = nil }
        }
    }

    /// Takes over the pending offsets of `partition` from `other` (what loading that partition found), replacing
    /// any held for it.
    public mutating func adopt(_ other: PendingTransactionalOffsets, partition: Int32) {
        remove(partition: partition)
        for (producerID, byPartition) in other.entries {
            guard let list = byPartition[partition] else { continue }
            entries[producerID, default: [:]][partition] = list
        }
    }
}
