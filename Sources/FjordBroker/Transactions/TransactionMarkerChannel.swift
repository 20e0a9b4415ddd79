import FjordController
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Sends WriteTxnMarkers to the brokers that lead a transaction's partitions when the transaction coordinator is on
/// another broker (Kafka's `TransactionMarkerChannelManager`), one connection per broker, to the broker's
/// endpoint on `inter.broker.listener.name` as its registration in the metadata image gives it. Opened on first use
/// (a single node never opens one), on NIO's shared event loop group; answers are awaited by the calling pool
/// thread, whose coordinator lock is held across the markers as it is across local marker appends.
final class TransactionMarkerChannel: Sendable {
    /// How long a broker has to write its markers and answer.
    static let requestTimeout: TimeAmount = .seconds(10)
    /// WriteTxnMarkers v1 (flexible), what Kafka 4 brokers send each other.
    static let version: Int16 = 1

    private let listenerName: String
    private let localID: NodeID
    private let logger: Logger
    private let connections = NIOLockedValueBox<[NodeID: ControllerConnection]>([:])

    init(listenerName: String, localID: NodeID, logger: Logger) {
        self.listenerName = listenerName
        self.localID = localID
        self.logger = logger
    }

    /// Writes `request`'s markers on broker `node` and returns its answer, or the reason it could not: the broker
    /// is unknown or fenced in `image`, unreachable, or did not answer in time. Blocking: a pool thread only.
    func write(_ request: WriteTxnMarkersRequest, on node: NodeID, image: MetadataImage) -> Result<
        WriteTxnMarkersResponse, TransactionMarkerChannelError
    > {
        guard let broker = image.brokers(listener: listenerName).first(where: { $0.nodeID == node }) else {
            return .failure(.init("broker \(node) has no live endpoint on listener \(listenerName)"))
        }
        let connection = connection(to: broker)
        let future = connection.send(request, version: Self.version, timeout: Self.requestTimeout)
            .flatMapThrowing { body in
                try WriteTxnMarkersResponse.decodeWhole(from: body, version: Self.version)
            }
        // The connection's own request timeout fails the future first; this bound only guards against a lost answer.
        let waitSeconds = Double(Self.requestTimeout.nanoseconds) / 1e9 + 5
        switch BlockingWait.result(of: future, timeoutSeconds: waitSeconds) {
        case .success(let response): return .success(response)
        case .failure(let error): return .failure(.init("WriteTxnMarkers to broker \(node) failed: \(error)"))
        }
    }

    /// The connection to `broker`'s endpoint; a broker that came back at another endpoint gets a new one.
    private func connection(to broker: MetadataImage.Broker) -> ControllerConnection {
        let (connection, replaced) = connections.withLockedValue {
            connections -> (ControllerConnection, ControllerConnection?) in
            if let existing = connections[broker.nodeID], existing.host == broker.host,
                existing.port == Int(broker.port)
            {
                return (existing, nil)
            }
            let fresh = ControllerConnection(
                nodeID: broker.nodeID, host: broker.host, port: Int(broker.port),
                group: MultiThreadedEventLoopGroup.singleton, clientID: "fjord-txn-markers-\(localID)",
                logger: logger)
            let old = connections.updateValue(fresh, forKey: broker.nodeID)
            return (fresh, old)
        }
        replaced?.close()
        return connection
    }

    /// Closes every connection.
    func close() {
        let all = connections.withLockedValue { connections in
            defer { connections = [:] }
            return Array(connections.values)
        }
        for connection in all { connection.close() }
    }
}

/// Why markers could not be written on another broker.
struct TransactionMarkerChannelError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
