/// A group as DescribeGroups reports it.
public struct GroupDescription: Sendable {
    /// One member with its decoded assignment (for consumer groups).
    public struct Member: Sendable {
        public var memberID: String
        public var groupInstanceID: String?
        public var clientID: String
        public var clientHost: String
        /// The partitions assigned to the member, when the group uses the consumer protocol.
        public var assignment: [TopicPartition]
    }

    public var groupID: String
    public var state: String
    public var protocolType: String
    /// The assignor in use (`range`, `roundrobin`, `cooperative-sticky`).
    public var protocolName: String
    public var members: [Member]
    public var coordinator: Int32
}
