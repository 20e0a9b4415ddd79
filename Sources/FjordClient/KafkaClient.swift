import KafkaProtocol
import Logging
import NIOCore
import NIOPosix

/// The shared core of `Producer`, `Consumer` and `Admin`: connections per broker (opened on demand, reconnected with
/// exponential backoff), the metadata cache, and `send(_:to:)`, a typed escape hatch for any generated request.
///
/// Metadata is refreshed when it is older than `metadataMaxAge` and whenever a caller reports a stale-leader error
/// (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, LEADER_NOT_AVAILABLE) through `invalidateMetadata()`.
public actor KafkaClient {
    /// The configuration the client was made with.
    public nonisolated let configuration: ClientConfiguration
    let group: any EventLoopGroup
    let logger: Logger

    private enum Slot {
        case connecting([CheckedContinuation<BrokerConnection, any Error>])
        case connected(BrokerConnection)
        case failed(retryAt: ContinuousClock.Instant, failures: Int)
    }

    private var slots: [BrokerAddress: Slot] = [:]
    private var metadataSnapshot = ClusterMetadata()
    private var metadataFetchedAt: ContinuousClock.Instant?
    private var metadataStale = true
    private var interestingTopics: Set<String> = []
    /// Coordinators by (key type, key), until a NOT_COORDINATOR-style error invalidates them.
    private var coordinators: [String: Int32] = [:]
    private var closed = false

    /// Creates a client; nothing connects until the first request.
    public init(
        configuration: ClientConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = configuration.logger
    }

    // MARK: Sending

    /// Sends `request` to broker `nodeID` in the highest version both sides speak and returns its response.
    public func send<R: KafkaRequest>(_ request: R, to nodeID: Int32, timeout: Duration? = nil) async throws
        -> R.Response
    {
        let connection = try await connection(to: nodeID)
        return try await connection.send(request, timeout: timeout)
    }

    /// Sends `request` to any reachable broker: the typed escape hatch for a generated request whose broker does not
    /// matter (Metadata, DescribeCluster, ApiVersions, ...). Use `send(_:to:)` for one that must reach a leader or
    /// a coordinator.
    public func send<R: KafkaRequest>(_ request: R) async throws -> R.Response {
        try await sendToAny(request)
    }

    /// Sends `request` to any reachable broker (a known one first, else a bootstrap server).
    public func sendToAny<R: KafkaRequest>(_ request: R) async throws -> R.Response {
        let connection = try await anyConnection()
        return try await connection.send(request)
    }

    /// The connection to broker `nodeID`, opening it if needed.
    public func connection(to nodeID: Int32) async throws -> BrokerConnection {
        var address = metadataSnapshot.brokers[nodeID]
        if address == nil {
            try await refreshMetadata()
            address = metadataSnapshot.brokers[nodeID]
        }
        guard let address else {
            throw ClientError(.metadata, "broker \(nodeID) is not in the cluster metadata", broker: nodeID)
        }
        return try await connection(at: address, brokerID: nodeID)
    }

    /// A connection to some broker: an open one, else each known broker and bootstrap server in turn.
    func anyConnection() async throws -> BrokerConnection {
        for case .connected(let connection) in slots.values where connection.isActive {
            return connection
        }
        var candidates = metadataSnapshot.brokers.sorted { $0.key < $1.key }.map { ($0.value, Optional($0.key)) }
        candidates += configuration.bootstrapServers.map { ($0, nil) }
        var lastError: (any Error)?
        for (address, id) in candidates {
            do {
                return try await connection(at: address, brokerID: id)
            } catch {
                lastError = error
            }
        }
        throw ClientError(
            .connection, "no broker reachable (tried \(candidates.map { "\($0.0)" }.joined(separator: ", ")))",
            cause: lastError
        )
    }

    private func connection(at address: BrokerAddress, brokerID: Int32?) async throws -> BrokerConnection {
        guard !closed else { throw ClientError(.closed, "client is closed", isRetriable: false) }
        var failures = 0
        switch slots[address] {
        case .connected(let connection) where connection.isActive:
            return connection
        case .connected(let connection):
            // Closed, or its SASL session about to end: requests already sent on it still get their answers.
            Task { await connection.close() }
        case .connecting(var waiters):
            return try await withCheckedThrowingContinuation { continuation in
                waiters.append(continuation)
                slots[address] = .connecting(waiters)
            }
        case .failed(let retryAt, let count):
            failures = count
            if retryAt > .now {
                try await Task.sleep(until: retryAt, clock: .continuous)
                return try await connection(at: address, brokerID: brokerID)
            }
        default:
            break
        }
        slots[address] = .connecting([])
        let result: Result<BrokerConnection, any Error>
        do {
            result = .success(
                try await BrokerConnection.connect(
                    to: address, brokerID: brokerID, configuration: configuration, group: group
                )
            )
        } catch {
            result = .failure(error)
        }
        guard case .connecting(let waiters) = slots[address] else {
            preconditionFailure("slot changed while connecting")
        }
        switch result {
        case .success(let connection):
            slots[address] = .connected(connection)
            logger.debug("connected", metadata: ["broker": "\(address)"])
            if closed { await connection.close() }
        case .failure(let error):
            let backoff = Self.backoff(failures: failures + 1, configuration: configuration)
            slots[address] = .failed(retryAt: .now + backoff, failures: failures + 1)
            logger.debug("connect failed", metadata: ["broker": "\(address)", "error": "\(error)"])
        }
        for waiter in waiters { waiter.resume(with: result) }
        return try result.get()
    }

    /// Exponential backoff: `reconnectBackoff * 2^(failures-1)`, at most `reconnectBackoffMax`.
    static func backoff(failures: Int, configuration: ClientConfiguration) -> Duration {
        let factor = 1 << min(max(failures - 1, 0), 16)
        return min(configuration.reconnectBackoff * factor, configuration.reconnectBackoffMax)
    }

    // MARK: Metadata

    /// The current metadata snapshot, refreshed first when it is stale or older than `metadataMaxAge`.
    public func metadata() async throws -> ClusterMetadata {
        if needsRefresh { try await refreshMetadata() }
        return metadataSnapshot
    }

    /// The snapshot as it is, without asking any broker.
    public var cachedMetadata: ClusterMetadata { metadataSnapshot }

    private var needsRefresh: Bool {
        guard let fetched = metadataFetchedAt, !metadataStale else { return true }
        return fetched + configuration.metadataMaxAge < .now
    }

    /// Refreshes the metadata of the tracked topics every `metadataMaxAge` until the task is cancelled. `Producer`
    /// and `Consumer` run it as a child task of their `run()`, so leaders move to the cache even while no request
    /// failed.
    public func refreshPeriodically() async {
        while true {
            guard (try? await Task.sleep(for: configuration.metadataMaxAge)) != nil, !closed else { return }
            do {
                try await refreshMetadata()
            } catch {
                logger.debug("periodic metadata refresh failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Marks the metadata stale so that the next lookup asks a broker again (after a stale-leader error).
    public func invalidateMetadata() {
        metadataStale = true
    }

    /// Whether an error code means the client's metadata is out of date.
    public static func isMetadataError(_ code: ErrorCode) -> Bool {
        code == .notLeaderOrFollower || code == .unknownTopicOrPartition || code == .leaderNotAvailable
            || code == .fencedLeaderEpoch || code == .unknownLeaderEpoch
    }

    /// Adds topics to those the periodic refresh keeps current.
    public func track(topics: some Sequence<String>) {
        interestingTopics.formUnion(topics)
    }

    /// Asks a broker for metadata of the tracked topics plus `topics` (all topics when `allTopics`).
    @discardableResult
    public func refreshMetadata(topics: [String] = [], allTopics: Bool = false) async throws -> ClusterMetadata {
        interestingTopics.formUnion(topics)
        var request = MetadataRequest()
        request.allowAutoTopicCreation = configuration.allowAutoTopicCreation
        request.topics =
            allTopics
            ? nil
            : interestingTopics.sorted().map { MetadataRequest.MetadataRequestTopic(name: $0) }
        let connection = try await anyConnection()
        let response: MetadataResponse
        do {
            response = try await connection.send(request)
        } catch let error as ClientError where error.code == .connection {
            await drop(connection)
            throw error
        }
        metadataSnapshot.merge(response, replaceAllTopics: allTopics)
        metadataFetchedAt = .now
        metadataStale = false
        return metadataSnapshot
    }

    /// Forgets a broken connection so the next request reconnects.
    func drop(_ connection: BrokerConnection) async {
        if case .connected(let current) = slots[connection.address], current === connection {
            slots[connection.address] = nil
        }
        await connection.close()
    }

    /// The leader of `partition`, refreshing metadata (with `retryBackoff` between tries) until it is known or
    /// `deadline` passes.
    public func leader(
        for partition: TopicPartition, deadline: ContinuousClock.Instant? = nil
    ) async throws -> Int32 {
        let deadline = deadline ?? .now + configuration.requestTimeout
        track(topics: [partition.topic])
        while true {
            let snapshot = try await metadata()
            if let leader = snapshot.leader(of: partition) { return leader }
            guard ContinuousClock.now < deadline else {
                let topicError = snapshot.topics[partition.topic]?.error
                throw ClientError(
                    .metadata, "no leader known for \(partition)", kafkaError: topicError,
                    isRetriable: true, topic: partition.topic, partition: partition.partition
                )
            }
            metadataStale = true
            try await Task.sleep(for: configuration.retryBackoff)
        }
    }

    /// The partition count of `topic`, refreshing metadata until the topic is known or `deadline` passes.
    public func partitionCount(
        of topic: String, deadline: ContinuousClock.Instant? = nil
    ) async throws -> Int {
        let deadline = deadline ?? .now + configuration.requestTimeout
        track(topics: [topic])
        while true {
            let snapshot = try await metadata()
            if let count = snapshot.partitionCount(of: topic) { return count }
            let topicError = snapshot.topics[topic]?.error
            if let topicError, topicError != .none, !topicError.isRetriable {
                throw ClientError(.metadata, "topic \(topic) is unavailable", kafkaError: topicError, topic: topic)
            }
            guard ContinuousClock.now < deadline else {
                throw ClientError(
                    .metadata, "topic \(topic) not found in metadata", kafkaError: topicError, isRetriable: true,
                    topic: topic
                )
            }
            metadataStale = true
            try await Task.sleep(for: configuration.retryBackoff)
        }
    }

    // MARK: Coordinators

    /// The node id of the coordinator for a group (`keyType` 0) or transactional id (1), cached until
    /// `invalidateCoordinator` (after NOT_COORDINATOR or COORDINATOR_NOT_AVAILABLE).
    public func findCoordinator(key: String, keyType: Int8 = 0) async throws -> Int32 {
        if let cached = coordinators["\(keyType):\(key)"], metadataSnapshot.brokers[cached] != nil { return cached }
        let nodeID = try await lookUpCoordinator(key: key, keyType: keyType)
        coordinators["\(keyType):\(key)"] = nodeID
        return nodeID
    }

    /// Forgets a cached coordinator.
    public func invalidateCoordinator(key: String, keyType: Int8 = 0) {
        coordinators["\(keyType):\(key)"] = nil
    }

    /// Whether an error code means the coordinator moved or is not ready.
    public static func isCoordinatorError(_ code: ErrorCode) -> Bool {
        code == .notCoordinator || code == .coordinatorNotAvailable
    }

    private func lookUpCoordinator(key: String, keyType: Int8) async throws -> Int32 {
        let connection = try await anyConnection()
        let version = try connection.version(for: FindCoordinatorRequest.self)
        var request = FindCoordinatorRequest()
        request.keyType = keyType
        if version >= 4 { request.coordinatorKeys = [key] } else { request.key = key }
        let response = try await connection.send(request, version: version)
        let (errorCode, nodeID, host, port, message): (Int16, Int32, String, Int32, String?)
        if version >= 4 {
            guard let entry = response.coordinators.first else {
                throw ClientError(.protocolViolation, "FindCoordinator returned no coordinator", isRetriable: true)
            }
            (errorCode, nodeID, host, port, message) = (
                entry.errorCode, entry.nodeID, entry.host, entry.port, entry.errorMessage
            )
        } else {
            (errorCode, nodeID, host, port, message) = (
                response.errorCode, response.nodeID, response.host, response.port, response.errorMessage
            )
        }
        if let error = ClientError.kafka(errorCode, "FindCoordinator for \(key): \(message ?? "failed")") {
            throw error
        }
        if metadataSnapshot.brokers[nodeID] == nil {
            metadataSnapshot.brokers[nodeID] = BrokerAddress(host: host, port: Int(port))
        }
        return nodeID
    }

    // MARK: Lifecycle

    /// Closes every connection; requests in flight fail with `.connection`.
    public func close() async {
        closed = true
        let current = slots
        slots.removeAll()
        for case .connected(let connection) in current.values { await connection.close() }
    }
}
