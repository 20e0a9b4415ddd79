import FjordRaft
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The connections from this node to the other controllers' controller listeners, opened on first use: one per
/// peer for the Raft requests the core sends — whose answers go back to the driver as `.response(message, from:)` —
/// and another per peer for the admin requests a node that is not the active controller forwards to it. They must
/// not share one: a peer answers a connection's requests in order, and a forwarded CreateTopics is answered only
/// once its records commit, which needs this node's next Fetch answered first.
final class ControllerPeers: Sendable {
    private let endpoints: [NodeID: HostAndPort]
    /// What a connection carries: the core's requests, forwarded admin requests, or this node's broker
    /// registration and heartbeats (their own connection, so a heartbeat never waits behind a forwarded command).
    enum Purpose: Hashable, Sendable {
        case raft, forwarding, lifecycle
    }

    private let connections: NIOLockedValueBox<[Purpose: [NodeID: ControllerConnection]]>
    private let group: any EventLoopGroup
    private let localID: NodeID
    private let requestTimeout: TimeAmount
    private let logger: Logger

    /// `endpoints`: each voter's controller listener (`controller.quorum.voters`, or the voter set's endpoints).
    init(
        localID: NodeID, endpoints: [NodeID: HostAndPort], group: any EventLoopGroup, requestTimeout: TimeAmount,
        logger: Logger
    ) {
        self.localID = localID
        self.endpoints = endpoints
        self.group = group
        self.requestTimeout = requestTimeout
        self.logger = logger
        self.connections = NIOLockedValueBox([:])
    }

    /// Whether a controller listener is known for `node`.
    func knows(_ node: NodeID) -> Bool { endpoints[node] != nil }

    private func connection(to node: NodeID, for purpose: Purpose) -> ControllerConnection? {
        guard let endpoint = endpoints[node] else { return nil }
        return connections.withLockedValue { connections in
            if let existing = connections[purpose]?[node] { return existing }
            let connection = ControllerConnection(
                nodeID: node, host: endpoint.host, port: endpoint.port, group: group,
                clientID: "fjord-\(purpose)-\(localID)", logger: logger)
            connections[purpose, default: [:]][node] = connection
            return connection
        }
    }

    /// Sends a request of the core to `node`; its answer is handed to `deliver`. A request that cannot be sent or
    /// whose connection fails (refused, reset, or no answer within the connection's timeout) is handed to `failed`
    /// with the core's correlation id, so the core backs off and may ask another node instead of waiting out its
    /// request timeout; an unreadable answer is dropped (the core times it out).
    func send(
        _ message: RaftMessage, to node: NodeID, deliver: @escaping @Sendable (RaftMessage, NodeID) -> Void,
        failed: @escaping @Sendable (NodeID, Int32) -> Void
    ) {
        let outbound: RaftWire.OutboundRequest?
        do {
            outbound = try RaftWire.encodeRequest(message)
        } catch {
            logger.error("cannot encode a Raft request", metadata: ["error": "\(error)"])
            return
        }
        guard let outbound, let connection = connection(to: node, for: .raft) else {
            logger.debug("no route for a Raft message", metadata: ["to": "\(node)"])
            failed(node, message.correlationID)
            return
        }
        var timeout = requestTimeout
        if case .fetchRequest(let fetch) = message { timeout = timeout + .milliseconds(Int64(fetch.maxWaitMs)) }
        guard let type = ApiKey.requestTypes[outbound.apiKey] else { return }
        let coreID = message.correlationID
        let logger = logger
        connection.send(
            apiKey: outbound.apiKey, version: outbound.version,
            headerVersion: type.requestHeaderVersion(for: outbound.version),
            responseHeaderVersion: type.responseHeaderVersion(for: outbound.version), body: outbound.body,
            timeout: timeout
        ).whenComplete { result in
            switch result {
            case .success(let body):
                do {
                    let response = try RaftWire.decodeResponse(
                        apiKey: outbound.apiKey, version: outbound.version, body: body, correlationID: coreID)
                    deliver(response, node)
                } catch {
                    logger.warning("unreadable Raft response", metadata: ["from": "\(node)", "error": "\(error)"])
                }
            case .failure(let error):
                logger.debug("Raft request failed", metadata: ["to": "\(node)", "error": "\(error)"])
                failed(node, coreID)
            }
        }
    }

    /// Forwards an admin request (or, with `purpose` `.lifecycle`, sends this broker's registration or heartbeat)
    /// to the active controller `node` and completes with its answer.
    func forward<Request: KafkaRequest>(
        _ request: Request, version: Int16, to node: NodeID, timeout: TimeAmount, purpose: Purpose = .forwarding
    ) -> EventLoopFuture<Request.Response> {
        guard let connection = connection(to: node, for: purpose) else {
            return group.next().makeFailedFuture(
                RaftDriverError(.notController, "no controller listener known for node \(node)"))
        }
        return connection.send(request, version: version, timeout: timeout).flatMapThrowing { body in
            try Request.Response.decodeWhole(from: body, version: version)
        }
    }

    /// Closes every connection (shutdown).
    func close() {
        let all = connections.withLockedValue { connections in
            defer { connections = [:] }
            return connections.values.flatMap(\.values)
        }
        for connection in all { connection.close() }
    }
}
