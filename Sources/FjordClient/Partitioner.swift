/// Chooses a record's partition: the explicit partition if given, murmur2 of the key like the Java client when there
/// is a key, and otherwise a sticky partition per topic that changes only when a batch for it closes (KIP-480), so
/// keyless records fill batches instead of spreading one record per batch.
public struct Partitioner: Sendable {
    private var sticky: [String: Int32] = [:]
    /// The sticky choice of the topic asked last, so a run of records to one topic hashes no topic name.
    private var last: (topic: String, partition: Int32)?
    private var generator: SystemRandomNumberGenerator

    public init() {
        generator = SystemRandomNumberGenerator()
    }

    /// The partition for a record of `topic` with `key` (nil: no key), among `partitionCount` partitions.
    public mutating func partition(topic: String, key: [UInt8]?, partitionCount: Int) -> Int32 {
        if let key { return Murmur2.partition(forKey: key, partitionCount: partitionCount) }
        if let last, last.partition < partitionCount, last.topic == topic { return last.partition }
        if let current = sticky[topic], current < partitionCount {
            last = (topic, current)
            return current
        }
        let chosen = Int32(Int.random(in: 0..<partitionCount, using: &generator))
        sticky[topic] = chosen
        last = (topic, chosen)
        return chosen
    }

    /// Tells the partitioner that the batch of `partition` closed: the next keyless record of `topic` moves to
    /// another partition (chosen at random among the others).
    public mutating func batchClosed(topic: String, partition: Int32, partitionCount: Int) {
        guard sticky[topic] == partition else { return }
        guard partitionCount > 1 else { return }
        var next = Int32(Int.random(in: 0..<(partitionCount - 1), using: &generator))
        if next >= partition { next += 1 }
        sticky[topic] = next
        last = (topic, next)
    }
}
