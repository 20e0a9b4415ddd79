import KafkaProtocol
import NIOCore

/// One record for `__consumer_offsets`: key and value each prefixed with their int16 schema version, as Kafka
/// writes them; a nil value is a tombstone. `groupID` says which partition it belongs to.
public struct GroupRecord: Sendable, Equatable {
    public var groupID: String
    public var key: ByteBuffer
    public var value: ByteBuffer?

    public init(groupID: String, key: ByteBuffer, value: ByteBuffer?) {
        self.groupID = groupID
        self.key = key
        self.value = value
    }
}

/// What a step of the coordinator asks the driver to do, in this order: append `records` to
/// `__consumer_offsets`, then answer the waiting requests.
public struct GroupOutputs: Sendable {
    public var records: [GroupRecord] = []
    public var joinResponses: [(RequestID, JoinGroupResponse)] = []
    public var syncResponses: [(RequestID, SyncGroupResponse)] = []

    public init() {}

    public var isEmpty: Bool { records.isEmpty && joinResponses.isEmpty && syncResponses.isEmpty }

    mutating func merge(_ other: GroupOutputs) {
        records += other.records
        joinResponses += other.joinResponses
        syncResponses += other.syncResponses
    }
}

extension ErrorCode {
    /// NON_EMPTY_GROUP: the group is not empty (DeleteGroups).
    public static let nonEmptyGroupError = ErrorCode(rawValue: 68)
    /// GROUP_ID_NOT_FOUND: the group does not exist.
    public static let groupIDNotFoundError = ErrorCode(rawValue: 69)
}
