/// Who a consumer is in its group, for `Producer.sendOffsetsToTransaction`: the coordinator checks the member
/// and generation of offsets committed in a transaction (KIP-447), so a consumer that lost its partitions in a
/// rebalance cannot commit for them. Kafka's `ConsumerGroupMetadata`.
public struct ConsumerGroupMetadata: Sendable, Equatable {
    public var groupID: String
    /// The generation (classic protocol) or member epoch (KIP-848); -1 outside a group.
    public var generationID: Int32
    /// "" outside a group.
    public var memberID: String
    public var groupInstanceID: String?

    public init(groupID: String, generationID: Int32 = -1, memberID: String = "", groupInstanceID: String? = nil) {
        self.groupID = groupID
        self.generationID = generationID
        self.memberID = memberID
        self.groupInstanceID = groupInstanceID
    }
}

extension Consumer {
    /// The consumer's group membership now (Kafka: `groupMetadata()`), for `Producer.sendOffsetsToTransaction`.
    public func groupMetadata() -> ConsumerGroupMetadata {
        ConsumerGroupMetadata(
            groupID: configuration.groupID ?? "", generationID: isGroupMember ? commitGeneration : -1,
            memberID: isGroupMember ? memberID : "", groupInstanceID: configuration.groupInstanceID
        )
    }
}
