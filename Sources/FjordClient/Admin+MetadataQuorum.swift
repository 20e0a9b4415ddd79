import KafkaProtocol

/// The KRaft metadata quorum (DescribeQuorum, API 55), as `kafka-metadata-quorum.sh describe` reads it.
///
/// Only the quorum's leader describes it; another node answers NOT_LEADER_OR_FOLLOWER with the leader it knows.
/// Kafka's brokers forward DescribeQuorum to the active controller; Fjord's answer it themselves, so the client
/// follows such an answer to the leader once: by node id among the brokers (a combined node), else at the leader's
/// controller listener that DescribeQuorum v2 lists.
extension Admin {
    /// The quorum, asked through the cluster's brokers (`--bootstrap-server`).
    public func describeMetadataQuorum() async throws -> MetadataQuorumDescription {
        let first = try await client.sendToAny(Self.describeQuorumRequest())
        switch try Self.answer(first) {
        case .described(let description):
            return description
        case .notLeader(let leaderID, let endpoints):
            guard let leaderID else { throw Self.noLeader() }
            if (try? await client.metadata().brokers[leaderID]) != nil {
                return try Self.described(try await client.send(Self.describeQuorumRequest(), to: leaderID))
            }
            guard let endpoint = endpoints.first else {
                throw ClientError(
                    .metadata, "the metadata quorum's leader, node \(leaderID), is neither a broker nor has a known "
                        + "controller listener", broker: leaderID)
            }
            return try Self.described(try await describe(at: BrokerAddress(host: endpoint.host, port: endpoint.port)))
        }
    }

    /// The quorum, asked directly at controller listeners (`--bootstrap-controller`): each address in turn until one
    /// answers; a follower's answer is followed to the leader's controller listener.
    public func describeMetadataQuorum(controllers: [BrokerAddress]) async throws -> MetadataQuorumDescription {
        var lastError: (any Error)?
        for address in controllers {
            do {
                switch try Self.answer(try await describe(at: address)) {
                case .described(let description):
                    return description
                case .notLeader(let leaderID, let endpoints):
                    guard let leaderID else { throw Self.noLeader() }
                    guard let endpoint = endpoints.first else {
                        throw ClientError(
                            .metadata, "\(address) names node \(leaderID) as the quorum's leader but not its "
                                + "controller listener (DescribeQuorum v2 lists it)", broker: leaderID)
                    }
                    let leader = BrokerAddress(host: endpoint.host, port: endpoint.port)
                    return try Self.described(try await describe(at: leader))
                }
            } catch {
                lastError = error
            }
        }
        if let error = lastError as? ClientError, error.code != .connection { throw error }
        throw ClientError(
            .connection, "no controller reachable (tried \(controllers.map(\.description).joined(separator: ", ")))",
            cause: lastError)
    }

    /// One DescribeQuorum on a connection of its own to `address` (a controller listener serves no Metadata, so
    /// the client's broker connections cannot reach it), closed afterwards.
    private func describe(at address: BrokerAddress) async throws -> DescribeQuorumResponse {
        let connection = try await BrokerConnection.connect(
            to: address, brokerID: nil, configuration: client.configuration, group: client.group)
        do {
            let response = try await connection.send(Self.describeQuorumRequest())
            await connection.close()
            return response
        } catch {
            await connection.close()
            throw error
        }
    }

    static func describeQuorumRequest() -> DescribeQuorumRequest {
        DescribeQuorumRequest(topics: [
            .init(topicName: "__cluster_metadata", partitions: [.init(partitionIndex: 0)])
        ])
    }

    /// What one node said: the quorum, or that it is not the leader (with the leader it knows and that leader's
    /// listeners, when listed).
    enum QuorumAnswer {
        case described(MetadataQuorumDescription)
        case notLeader(leaderID: Int32?, endpoints: [MetadataQuorumDescription.Endpoint])
    }

    /// Reads a DescribeQuorum response; other Kafka errors are thrown.
    static func answer(_ response: DescribeQuorumResponse) throws -> QuorumAnswer {
        if let error = ClientError.kafka(response.errorCode, response.errorMessage ?? "DescribeQuorum failed") {
            throw error
        }
        guard let partition = response.topics.first?.partitions.first else {
            throw ClientError(.protocolViolation, "DescribeQuorum answered no partition", isRetriable: false)
        }
        var nodes = [Int32: [MetadataQuorumDescription.Endpoint]]()
        for node in response.nodes {
            nodes[node.nodeID] = node.listeners.map { .init(name: $0.name, host: $0.host, port: Int($0.port)) }
        }
        if ErrorCode(rawValue: partition.errorCode) == .notLeaderOrFollower {
            let leaderID = partition.leaderID >= 0 ? partition.leaderID : nil
            return .notLeader(leaderID: leaderID, endpoints: leaderID.flatMap { nodes[$0] } ?? [])
        }
        if let error = ClientError.kafka(
            partition.errorCode, partition.errorMessage ?? "DescribeQuorum of __cluster_metadata-0 failed")
        {
            throw error
        }
        func replica(_ state: DescribeQuorumResponse.ReplicaState) -> MetadataQuorumDescription.Replica {
            .init(
                nodeID: state.replicaID,
                directoryID: state.replicaDirectoryID == .zero ? nil : state.replicaDirectoryID,
                logEndOffset: state.logEndOffset,
                lastFetchTimestamp: state.lastFetchTimestamp >= 0 ? state.lastFetchTimestamp : nil,
                lastCaughtUpTimestamp: state.lastCaughtUpTimestamp >= 0 ? state.lastCaughtUpTimestamp : nil)
        }
        return .described(
            MetadataQuorumDescription(
                leaderID: partition.leaderID, leaderEpoch: partition.leaderEpoch,
                highWatermark: partition.highWatermark, voters: partition.currentVoters.map(replica),
                observers: partition.observers.map(replica), nodes: nodes))
    }

    /// The quorum from the leader's answer; a second "not the leader" (the leader changed meanwhile) is an error the
    /// caller may retry.
    private static func described(_ response: DescribeQuorumResponse) throws -> MetadataQuorumDescription {
        switch try answer(response) {
        case .described(let description):
            return description
        case .notLeader(let leaderID, _):
            let now = leaderID.map { "node \($0)" } ?? "none known"
            throw ClientError(
                .broker, "the metadata quorum's leader changed while it was asked (now \(now))",
                kafkaError: .notLeaderOrFollower)
        }
    }

    private static func noLeader() -> ClientError {
        ClientError(.broker, "the metadata quorum has no leader yet", kafkaError: .notLeaderOrFollower)
    }
}
