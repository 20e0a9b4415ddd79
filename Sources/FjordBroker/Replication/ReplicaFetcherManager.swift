import FjordController
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Keeps `num.replica.fetchers` `ReplicaFetcher`s per leader broker this broker follows partitions of (Kafka's
/// `ReplicaFetcherManager`; each partition goes to one of them by Kafka's hash, `fetcherID`): it watches the
/// followed-partitions table that
/// `ReplicaManager.apply` keeps, and when it changes starts fetchers for new leaders, hands each its partitions, and
/// stops those left with none. A leader is reached on its `inter.broker.listener.name` endpoint (`listenerName`) as
/// its registration in the image names it, so replication may use another listener than clients.
final class ReplicaFetcherManager: Sendable {
    private struct Running {
        var fetcher: ReplicaFetcher
        var task: Task<Void, Never>
        var endpoint: String
    }

    private let localID: NodeID
    private let replicas: ReplicaManager
    private let metadata: MetadataService
    private let listenerName: String
    private let group: any EventLoopGroup
    private let threadPool: NIOThreadPool
    private let settings: ReplicaFetcher.Settings
    private let throttles: ReplicationThrottles
    private let brokerEpoch: @Sendable () -> Int64?
    private let logger: Logger
    private let running = NIOLockedValueBox<[FetcherKey: Running]>([:])

    /// One fetcher: a leader and the fetcher's index among that leader's.
    private struct FetcherKey: Hashable {
        var leader: NodeID
        var fetcherID: Int
    }

    /// Kafka's `AbstractFetcherManager.getFetcherId`: `abs(31 * topic.hashCode + partition) % fetchers`, with Java's
    /// `String.hashCode`, so a partition's fetcher is the one Kafka would pick.
    static func fetcherID(for topicPartition: TopicPartition, fetchers: Int) -> Int {
        var hash: Int32 = 0
        for unit in topicPartition.topic.utf16 { hash = hash &* 31 &+ Int32(unit) }
        let mixed = hash &* 31 &+ topicPartition.partition
        // Kafka's Utils.abs: Int.MIN_VALUE maps to 0.
        let positive = mixed == .min ? 0 : abs(mixed)
        return Int(positive) % max(1, fetchers)
    }

    init(
        localID: NodeID, replicas: ReplicaManager, metadata: MetadataService, listenerName: String,
        group: any EventLoopGroup, threadPool: NIOThreadPool, properties: [String: String],
        throttles: ReplicationThrottles, brokerEpoch: @escaping @Sendable () -> Int64?, logger: Logger
    ) {
        self.throttles = throttles
        self.brokerEpoch = brokerEpoch
        self.localID = localID
        self.replicas = replicas
        self.metadata = metadata
        self.listenerName = listenerName
        self.group = group
        self.threadPool = threadPool
        self.settings = ReplicaFetcher.Settings(properties: properties)
        self.logger = logger
    }

    /// Follows the table until cancelled, then stops every fetcher.
    func run() async {
        var seenVersion: UInt64?
        var seenBrokers: [NodeID: BrokerRegistration]?
        while !Task.isCancelled {
            let followed = replicas.followedPartitions
            let brokers = metadata.publisher.image.brokerRegistrations
            if followed.version != seenVersion || brokers != seenBrokers {
                seenVersion = followed.version
                seenBrokers = brokers
                refresh(followed.leaders, brokers: brokers)
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        stopAll()
    }

    private func refresh(_ leaders: [TopicPartition: NodeID], brokers: [NodeID: BrokerRegistration]) {
        var byFetcher = [FetcherKey: Set<TopicPartition>]()
        for (topicPartition, leader) in leaders {
            let key = FetcherKey(
                leader: leader,
                fetcherID: Self.fetcherID(for: topicPartition, fetchers: settings.fetchersPerLeader))
            byFetcher[key, default: []].insert(topicPartition)
        }
        let stopped = running.withLockedValue { running -> [Running] in
            var stopped = [Running]()
            for (key, entry) in running {
                let endpoint = brokers[key.leader].flatMap { Self.endpoint($0, listener: listenerName) }
                if byFetcher[key] == nil || endpoint.map({ "\($0.host):\($0.port)" }) != entry.endpoint {
                    stopped.append(entry)
                    running[key] = nil
                }
            }
            for (key, set) in byFetcher {
                if let entry = running[key] {
                    entry.fetcher.assign(set)
                    continue
                }
                guard let registration = brokers[key.leader],
                    let endpoint = Self.endpoint(registration, listener: listenerName)
                else { continue }  // not registered (yet): the next change of the image brings it
                let fetcher = ReplicaFetcher(
                    leaderID: key.leader, localID: localID, endpoint: endpoint, group: group, replicas: replicas,
                    threadPool: threadPool, settings: settings, throttles: throttles, brokerEpoch: brokerEpoch,
                    logger: logger)
                fetcher.assign(set)
                let task = Task { await fetcher.run() }
                running[key] = Running(fetcher: fetcher, task: task, endpoint: "\(endpoint.host):\(endpoint.port)")
                logger.info(
                    "replica fetcher started",
                    metadata: [
                        "leader": "\(key.leader)", "fetcher": "\(key.fetcherID)", "partitions": "\(set.count)",
                    ])
            }
            return stopped
        }
        for entry in stopped {
            entry.task.cancel()
            entry.fetcher.close()
        }
    }

    private func stopAll() {
        let all = running.withLockedValue { running in
            defer { running = [:] }
            return Array(running.values)
        }
        for entry in all {
            entry.task.cancel()
            entry.fetcher.close()
        }
    }

    private static func endpoint(_ registration: BrokerRegistration, listener: String) -> (host: String, port: Int)? {
        registration.endpoints.first { $0.name == listener }.map { ($0.host, Int($0.port)) }
    }
}
