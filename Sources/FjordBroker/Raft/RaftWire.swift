import FjordRaft
import KafkaProtocol
import NIOCore

/// The one place where Kafka's generated Raft RPC types (Vote 52, BeginQuorumEpoch 53, EndQuorumEpoch 54, Fetch 1
/// of `__cluster_metadata`, FetchSnapshot 59) become FjordRaft's `RaftMessage` values and back, field for field.
/// A request names one topic (`__cluster_metadata`) with one partition (0): anything else is refused with Kafka's
/// codes (INVALID_REQUEST for a malformed request, UNKNOWN_TOPIC_OR_PARTITION for another partition), as
/// `KafkaRaftClient` refuses it. -1 ids on the wire are nil in `RaftMessage`, the zero uuid a missing directory id.
///
/// Outbound requests go out in the highest version both Fjord controllers speak (`outboundVersion`).
enum RaftWire {
    static let topicName = "__cluster_metadata"
    static let partitionIndex: Int32 = 0
    /// Kafka's fixed id of the metadata topic (`Uuid.METADATA_TOPIC_ID`), used by Fetch v13+.
    static let topicID = KafkaUUID(high: 0, low: 1)

    /// A request ready for the wire: its API, version and encoded body.
    struct OutboundRequest: Sendable {
        var apiKey: ApiKey
        var version: Int16
        var body: ByteBuffer
    }

    /// Why an inbound request cannot be given to the core: the answer carries this code.
    enum Refusal: Error, Equatable {
        /// The request is malformed (not exactly one topic with one partition): top-level code.
        case topLevel(ErrorCode)
        /// The request is for another partition: the partition's code.
        case partition(ErrorCode)
    }

    /// The versions requests go out in.
    static let outboundVersion: [ApiKey: Int16] = [
        .vote: 1, .beginQuorumEpoch: 1, .endQuorumEpoch: 1, .fetch: 17, .fetchSnapshot: 1,
    ]

    /// -1 on the wire, nil in the core.
    static func nodeID(_ wire: Int32) -> NodeID? { wire < 0 ? nil : wire }

    /// The directory id of a wire field (zero: none).
    static func directoryID(_ wire: KafkaUUID) -> KafkaUUID? { wire == .zero ? nil : wire }

    /// Checks that a request names the metadata partition alone and returns its partition entry.
    static func onlyPartition<Partition>(
        topics: [(name: String, partitions: [Partition])], index: (Partition) -> Int32
    ) throws(Refusal) -> Partition {
        guard topics.count == 1, topics[0].partitions.count == 1 else { throw .topLevel(.invalidRequest) }
        let partition = topics[0].partitions[0]
        guard topics[0].name == topicName, index(partition) == partitionIndex else {
            throw .partition(.unknownTopicOrPartition)
        }
        return partition
    }

    /// Encodes a request of the core for the wire; nil for a response (those answer inbound requests) or for a
    /// message the wire of this version cannot carry (the voter-change RPCs, not served yet).
    static func encodeRequest(_ message: RaftMessage) throws(RaftDriverError) -> OutboundRequest? {
        func outbound<R: KafkaRequest>(_ request: R) -> OutboundRequest {
            let version = outboundVersion[R.apiKey]!
            return OutboundRequest(apiKey: R.apiKey, version: version, body: request.encoded(version: version))
        }
        switch message {
        case .voteRequest(let request): return outbound(wire(request))
        case .beginQuorumEpochRequest(let request): return outbound(wire(request))
        case .endQuorumEpochRequest(let request): return outbound(wire(request))
        case .fetchRequest(let request): return outbound(wire(request))
        case .fetchSnapshotRequest(let request): return outbound(wire(request))
        default: return nil
        }
    }

    /// Decodes the answer to a request this node sent, as the core's response with the core's correlation id.
    static func decodeResponse(apiKey: ApiKey, version: Int16, body: ByteBuffer, correlationID: Int32)
        throws(RaftDriverError) -> RaftMessage
    {
        do {
            switch apiKey {
            case .vote:
                return .voteResponse(
                    try message(VoteResponse.decodeWhole(from: body, version: version), correlationID: correlationID))
            case .beginQuorumEpoch:
                return .beginQuorumEpochResponse(
                    try message(
                        BeginQuorumEpochResponse.decodeWhole(from: body, version: version),
                        correlationID: correlationID))
            case .endQuorumEpoch:
                return .endQuorumEpochResponse(
                    try message(
                        EndQuorumEpochResponse.decodeWhole(from: body, version: version),
                        correlationID: correlationID))
            case .fetch:
                return .fetchResponse(
                    try message(FetchResponse.decodeWhole(from: body, version: version), correlationID: correlationID))
            case .fetchSnapshot:
                return .fetchSnapshotResponse(
                    try message(
                        FetchSnapshotResponse.decodeWhole(from: body, version: version),
                        correlationID: correlationID))
            default:
                throw RaftDriverError(.corrupt, "no Raft response for API \(apiKey)")
            }
        } catch let error as RaftDriverError {
            throw error
        } catch {
            throw RaftDriverError(.corrupt, "\(apiKey) v\(version) response: \(error)")
        }
    }
}
