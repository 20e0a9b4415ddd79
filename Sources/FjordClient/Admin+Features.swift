import KafkaProtocol

/// Finalized features (KIP-584), as `kafka-features.sh` reads and changes them: ApiVersions v3+ describes them,
/// UpdateFeatures changes them. Through brokers (`--bootstrap-server`) any broker answers — brokers forward
/// UpdateFeatures to the active controller —; through controller listeners (`--bootstrap-controller`)
/// DescribeCluster (endpoint type 2, KIP-919) names the active controller and its listener, which is then asked.
extension Admin {
    /// The features as a broker (any) reports them.
    public func describeFeatures() async throws -> FeatureMetadata {
        let connection = try await client.anyConnection()
        return try Self.featureMetadata(try await connection.send(Self.apiVersionsRequest(), version: 3))
    }

    /// The features as a controller reports them, asked at `controllers` in turn until one answers.
    public func describeFeatures(controllers: [BrokerAddress]) async throws -> FeatureMetadata {
        try await firstAnswering(controllers) { connection in
            try Self.featureMetadata(try await connection.send(Self.apiVersionsRequest(), version: 3))
        }
    }

    /// Changes finalized features, all or nothing, on the active controller (through any broker). One result per
    /// feature: when one update is refused, every feature gets that refusal (Kafka's answer names it). With
    /// `validateOnly` the controller checks and writes nothing.
    public func updateFeatures(_ updates: [String: FeatureUpdate], validateOnly: Bool = false) async throws
        -> [String: Result<Void, ClientError>]
    {
        let request = try Self.updateFeaturesRequest(updates, validateOnly: validateOnly)
        return Self.results(try await client.sendToAny(request), updates: updates)
    }

    /// Changes finalized features directly on the active controller, found through `controllers`.
    public func updateFeatures(
        _ updates: [String: FeatureUpdate], validateOnly: Bool = false, controllers: [BrokerAddress]
    ) async throws -> [String: Result<Void, ClientError>] {
        let request = try Self.updateFeaturesRequest(updates, validateOnly: validateOnly)
        let active = try await activeController(controllers)
        let response = try await firstAnswering([active]) { try await $0.send(request) }
        return Self.results(response, updates: updates)
    }

    /// The registered controllers and the active one, as a controller listener describes them (DescribeCluster v1
    /// with endpoint type 2, KIP-919).
    public func describeControllers(at controllers: [BrokerAddress]) async throws -> ClusterDescription {
        try await firstAnswering(controllers) { connection in
            let response = try await connection.send(DescribeClusterRequest(endpointType: 2), version: 1)
            if let error = ClientError.kafka(response.errorCode, response.errorMessage ?? "DescribeCluster failed") {
                throw error
            }
            var nodes = [Int32: BrokerAddress]()
            for node in response.brokers { nodes[node.brokerID] = BrokerAddress(host: node.host, port: Int(node.port)) }
            return ClusterDescription(
                clusterID: response.clusterID, controllerID: response.controllerID, brokers: nodes)
        }
    }

    /// The active controller's registered controller listener.
    private func activeController(_ controllers: [BrokerAddress]) async throws -> BrokerAddress {
        let description = try await describeControllers(at: controllers)
        guard let address = description.brokers[description.controllerID] else {
            throw ClientError(
                .broker, "no active controller is registered yet (asked \(controllers.map(\.description)))",
                kafkaError: .notController)
        }
        return address
    }

    /// Runs `body` on a connection of its own to each address in turn (a controller listener serves no Metadata,
    /// so the client's broker connections cannot reach it) until one succeeds; a Kafka error is thrown at once.
    private func firstAnswering<T>(
        _ addresses: [BrokerAddress], _ body: (BrokerConnection) async throws -> T
    ) async throws -> T {
        var lastError: (any Error)?
        for address in addresses {
            let connection: BrokerConnection
            do {
                connection = try await BrokerConnection.connect(
                    to: address, brokerID: nil, configuration: client.configuration, group: client.group)
            } catch {
                lastError = error
                continue
            }
            do {
                let value = try await body(connection)
                await connection.close()
                return value
            } catch {
                await connection.close()
                throw error
            }
        }
        throw ClientError(
            .connection, "no controller reachable (tried \(addresses.map(\.description).joined(separator: ", ")))",
            cause: lastError)
    }

    static func apiVersionsRequest() -> ApiVersionsRequest {
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "fjord-client"
        request.clientSoftwareVersion = "0.1.0"
        return request
    }

    static func featureMetadata(_ response: ApiVersionsResponse) throws -> FeatureMetadata {
        if let error = ClientError.kafka(response.errorCode, "ApiVersions failed") { throw error }
        var supported = [String: ClosedRange<Int16>]()
        for feature in response.supportedFeatures where feature.minVersion <= feature.maxVersion {
            supported[feature.name] = feature.minVersion...feature.maxVersion
        }
        var finalized = [String: Int16]()
        for feature in response.finalizedFeatures where feature.maxVersionLevel > 0 {
            finalized[feature.name] = feature.maxVersionLevel
        }
        return FeatureMetadata(
            supportedFeatures: supported, finalizedFeatures: finalized,
            finalizedFeaturesEpoch: response.finalizedFeaturesEpoch >= 0 ? response.finalizedFeaturesEpoch : nil)
    }

    static func updateFeaturesRequest(_ updates: [String: FeatureUpdate], validateOnly: Bool) throws
        -> UpdateFeaturesRequest
    {
        guard !updates.isEmpty else {
            throw ClientError(.invalidArgument, "give at least one feature to update", isRetriable: false)
        }
        if let blank = updates.keys.first(where: { $0.allSatisfy(\.isWhitespace) }) {
            throw ClientError(.invalidArgument, "feature name '\(blank)' is empty", isRetriable: false)
        }
        var request = UpdateFeaturesRequest()
        request.validateOnly = validateOnly
        request.featureUpdates = updates.sorted { $0.key < $1.key }.map { name, update in
            .init(
                feature: name, maxVersionLevel: update.maxVersionLevel,
                allowDowngrade: update.upgradeType != .upgrade, upgradeType: update.upgradeType.rawValue)
        }
        return request
    }

    /// One result per feature: the top-level error applies to all (v2 has nothing else); v0-1's per-feature results
    /// are read where the top level is clear.
    static func results(_ response: UpdateFeaturesResponse, updates: [String: FeatureUpdate]) -> [String: Result<
        Void, ClientError
    >] {
        var results = [String: Result<Void, ClientError>]()
        let topLevel = ClientError.kafka(response.errorCode, response.errorMessage ?? "UpdateFeatures failed")
        for name in updates.keys {
            if let topLevel {
                results[name] = .failure(topLevel)
            } else if let own = response.results.first(where: { $0.feature == name }),
                let error = ClientError.kafka(own.errorCode, own.errorMessage ?? "the update of \(name) failed")
            {
                results[name] = .failure(error)
            } else {
                results[name] = .success(())
            }
        }
        return results
    }
}
