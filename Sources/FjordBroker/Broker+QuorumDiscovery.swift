import KafkaProtocol
import NIOCore
import ServiceLifecycle

extension Broker {
    /// The voters' controller listeners for a broker-only node that knows the quorum only by
    /// `controller.quorum.bootstrap.servers` (Kafka's sample `broker.properties`, formatted with no voter set).
    ///
    /// Kafka's observer fetches from the bootstrap servers until one names the leader. Fjord's observer core fetches
    /// from voters it knows by id, so the broker first asks the bootstrap servers for the voter set with
    /// DescribeQuorum v2 — whose `nodes` list each voter's listeners, the leader's answer and a follower's
    /// NOT_LEADER_OR_FOLLOWER alike — as `kafka-metadata-quorum.sh --bootstrap-controller` does, every second until
    /// one answers. nil when shutdown comes first. The voter set replicated in the log later takes over.
    func discoverVoters(group: any EventLoopGroup) async throws -> [NodeID: HostAndPort]? {
        let name = configuration.controllerListenerNames.first ?? "CONTROLLER"
        let request = DescribeQuorumRequest(topics: [
            .init(topicName: RaftWire.topicName, partitions: [.init(partitionIndex: RaftWire.partitionIndex)])
        ])
        var round = 0
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            for (index, server) in configuration.quorumBootstrapServers.enumerated() {
                // Kafka names bootstrap servers by negative ids until they are known.
                let connection = ControllerConnection(
                    nodeID: NodeID(-1 - index), host: server.host, port: server.port, group: group,
                    clientID: "fjord-broker-\(configuration.nodeID)", logger: logger)
                let body = try? await connection.send(request, version: 2, timeout: .seconds(5)).get()
                connection.close()
                guard let body, let response = try? DescribeQuorumResponse.decodeWhole(from: body, version: 2),
                    response.errorCode == ErrorCode.none.rawValue
                else { continue }
                var endpoints = [NodeID: HostAndPort]()
                for node in response.nodes {
                    guard let listener = node.listeners.first(where: { $0.name == name }) ?? node.listeners.first
                    else { continue }
                    endpoints[node.nodeID] = HostAndPort(host: listener.host, port: Int(listener.port))
                }
                if !endpoints.isEmpty {
                    logger.info(
                        "voters found through controller.quorum.bootstrap.servers",
                        metadata: ["from": "\(server)", "voters": "\(endpoints.keys.sorted())"])
                    return endpoints
                }
            }
            if round % 10 == 0 {
                logger.info(
                    "waiting for a controller of controller.quorum.bootstrap.servers to describe the quorum",
                    metadata: ["servers": "\(configuration.quorumBootstrapServers)"])
            }
            round += 1
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        return nil
    }
}
