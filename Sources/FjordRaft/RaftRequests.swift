import KafkaProtocol

/// The requests a node has in flight, at most one per destination (as Kafka's `RequestManager`): a response is
/// accepted only when it answers the one outstanding request to its sender (same correlation id), an unanswered
/// request may be sent again after the request timeout, and a destination that answered with an error is left
/// alone until its retry backoff passes. A role change forgets everything (`reset`), so a late answer to a request
/// of an older role (a pre-vote grant arriving after the node became candidate) is ignored.
struct RaftRequests: Sendable {
    /// What was asked, so that a response is read in the context of its request.
    enum Kind: Sendable, Equatable {
        case vote(preVote: Bool, epoch: Int32)
        case beginQuorumEpoch(epoch: Int32)
        case endQuorumEpoch(epoch: Int32)
        case fetch(offset: Int64)
        case fetchSnapshot(id: OffsetAndEpoch, position: Int64)
    }

    struct Inflight: Sendable, Equatable {
        var correlationID: Int32
        var kind: Kind
        var sentAt: Int64
    }

    private(set) var inflight: [NodeID: Inflight] = [:]
    private var backoffUntil: [NodeID: Int64] = [:]
    private var nextCorrelationID: Int32 = 1

    /// Whether a new request may go to `node` at `now`: nothing outstanding (or it timed out) and no backoff.
    func canSend(to node: NodeID, now: Int64, requestTimeoutMs: Int64) -> Bool {
        if let until = backoffUntil[node], now < until { return false }
        guard let request = inflight[node] else { return true }
        return now - request.sentAt >= requestTimeoutMs
    }

    /// Whether a request to `node` is outstanding and not timed out.
    func isWaiting(on node: NodeID, now: Int64, requestTimeoutMs: Int64) -> Bool {
        guard let request = inflight[node] else { return false }
        return now - request.sentAt < requestTimeoutMs
    }

    /// Records a request to `node` and returns its correlation id.
    mutating func record(_ kind: Kind, to node: NodeID, now: Int64) -> Int32 {
        let id = nextCorrelationID
        nextCorrelationID = nextCorrelationID == Int32.max ? 1 : nextCorrelationID + 1
        inflight[node] = Inflight(correlationID: id, kind: kind, sentAt: now)
        backoffUntil[node] = nil
        return id
    }

    /// Takes the outstanding request a response from `node` with `correlationID` answers; nil if none.
    mutating func complete(from node: NodeID, correlationID: Int32) -> Kind? {
        guard let request = inflight[node], request.correlationID == correlationID else { return nil }
        inflight[node] = nil
        return request.kind
    }

    /// Leaves `node` alone until `until` (after an error answer).
    mutating func backOff(_ node: NodeID, until: Int64) {
        backoffUntil[node] = until
    }

    /// Forgets every outstanding request and backoff (a role change).
    mutating func reset() {
        inflight = [:]
        backoffUntil = [:]
    }
}
