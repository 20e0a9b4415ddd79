import KafkaProtocol

/// What one heartbeat or tick decided: the answer, the groups as they will be, and the records that carry the
/// change. Nothing is stored until the driver appended `records` and called `apply`.
public struct ConsumerGroupChange: Sendable {
    public var response: ConsumerGroupHeartbeatResponse
    public var groups: [String: ConsumerGroup] = [:]
    public var records: [GroupRecord] = []
    /// Groups to remove (DeleteGroups, expiry).
    public var deletedGroups: [String] = []

    static func failure(_ error: ErrorCode, _ message: String?) -> ConsumerGroupChange {
        ConsumerGroupChange(
            response: ConsumerGroupHeartbeatResponse(errorCode: error.rawValue, errorMessage: message, memberEpoch: -1))
    }
}
