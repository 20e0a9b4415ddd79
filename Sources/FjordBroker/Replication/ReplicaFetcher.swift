import FjordController
import FjordReplication
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Pulls every partition this broker follows from one leader broker (Kafka's `ReplicaFetcherThread`): one Fetch
/// at a time as replica (ReplicaState with this broker's id), each partition at its log end with its last fetched
/// epoch, then the answer carried out partition by partition on the I/O thread pool (`applyLeaderAnswer`: append
/// as the leader wrote the batches, truncate a divergent suffix, learn the high watermark). The leader holds the
/// fetch up to `replica.fetch.wait.max.ms` when there is nothing new, so a caught-up follower waits there.
final class ReplicaFetcher: Sendable {
    /// Kafka's replica fetcher settings.
    struct Settings: Sendable {
        /// `replica.fetch.max.bytes` (per partition), default 1 MiB.
        var maxBytesPerPartition: Int32 = 1 << 20
        /// `replica.fetch.response.max.bytes`, default 10 MiB.
        var maxBytes: Int32 = 10 << 20
        /// `replica.fetch.wait.max.ms`, default 500.
        var maxWaitMs: Int32 = 500
        /// `replica.fetch.min.bytes`, default 1.
        var minBytes: Int32 = 1
        /// `replica.fetch.backoff.ms`, default 1000: after an error, for the partition or the whole fetch.
        var backoffMs: Int64 = 1000
        /// `num.replica.fetchers`, default 1: fetchers (connections) per leader broker; a partition always goes to
        /// the same one (`ReplicaFetcherManager.fetcherID`).
        var fetchersPerLeader: Int = 1

        init(properties: [String: String]) {
            func value<T: FixedWidthInteger>(_ key: String, _ fallback: T) -> T {
                properties[key].flatMap { T($0) } ?? fallback
            }
            maxBytesPerPartition = value("replica.fetch.max.bytes", maxBytesPerPartition)
            maxBytes = value("replica.fetch.response.max.bytes", maxBytes)
            maxWaitMs = value("replica.fetch.wait.max.ms", maxWaitMs)
            minBytes = value("replica.fetch.min.bytes", minBytes)
            backoffMs = value("replica.fetch.backoff.ms", backoffMs)
            fetchersPerLeader = max(1, value("num.replica.fetchers", fetchersPerLeader))
        }
    }

    /// The Fetch version sent: v15 carries the replica in ReplicaState (KIP-903), topics by id (v13+) and each
    /// partition's last fetched epoch (v12+).
    static let fetchVersion: Int16 = 15

    let leaderID: NodeID
    private let localID: NodeID
    private let connection: ControllerConnection
    private let replicas: ReplicaManager
    private let threadPool: NIOThreadPool
    private let settings: Settings
    private let throttles: ReplicationThrottles
    private let brokerEpoch: @Sendable () -> Int64?
    private let logger: Logger
    /// The partitions to fetch from this leader, and when each may be fetched again after an error.
    private let partitions = NIOLockedValueBox<[TopicPartition: Int64]>([:])

    init(
        leaderID: NodeID, localID: NodeID, endpoint: (host: String, port: Int), group: any EventLoopGroup,
        replicas: ReplicaManager, threadPool: NIOThreadPool, settings: Settings, throttles: ReplicationThrottles,
        brokerEpoch: @escaping @Sendable () -> Int64?, logger: Logger
    ) {
        self.throttles = throttles
        self.brokerEpoch = brokerEpoch
        self.leaderID = leaderID
        self.localID = localID
        self.connection = ControllerConnection(
            nodeID: leaderID, host: endpoint.host, port: endpoint.port, group: group,
            clientID: "fjord-replica-fetcher-\(localID)", logger: logger)
        self.replicas = replicas
        self.threadPool = threadPool
        self.settings = settings
        self.logger = logger
    }

    /// Sets the partitions fetched from this leader (new ones start at once, dropped ones stop after the fetch in
    /// flight).
    func assign(_ set: Set<TopicPartition>) {
        partitions.withLockedValue { partitions in
            partitions = partitions.filter { set.contains($0.key) }
            for topicPartition in set where partitions[topicPartition] == nil { partitions[topicPartition] = 0 }
        }
    }

    func close() { connection.close() }

    /// Fetches until cancelled.
    func run() async {
        while !Task.isCancelled {
            let fetches = nextFetches()
            guard !fetches.isEmpty else {
                try? await Task.sleep(nanoseconds: 50_000_000)
                continue
            }
            do {
                let response = try await fetch(fetches)
                if response.errorCode != 0 {
                    logger.debug(
                        "replica fetch failed",
                        metadata: ["leader": "\(leaderID)", "error": "\(ErrorCode(rawValue: response.errorCode))"])
                    try? await Task.sleep(nanoseconds: UInt64(settings.backoffMs) * 1_000_000)
                    continue
                }
                try await apply(response, to: fetches)
            } catch {
                if Task.isCancelled { return }
                logger.debug("replica fetch failed", metadata: ["leader": "\(leaderID)", "error": "\(error)"])
                try? await Task.sleep(nanoseconds: UInt64(settings.backoffMs) * 1_000_000)
            }
        }
    }

    /// One fetch per partition that follows this leader now, is not backing off, and is not held back by the
    /// follower's replication quota.
    private func nextFetches() -> [(replica: PartitionReplica, fetch: FollowerFetch)] {
        let now = PartitionReplica.replicationNow()
        let ready = partitions.withLockedValue { $0.filter { $0.value <= now }.map(\.key) }
            .filter { !throttles.followerHoldsBack($0, now: now) }
        let epoch = brokerEpoch() ?? -1
        return ready.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.compactMap { topicPartition in
            guard let replica = replicas.replica(for: topicPartition),
                let fetch = replica.nextFollowerFetch(from: leaderID, brokerEpoch: epoch)
            else { return nil }
            return (replica, fetch)
        }
    }

    private func fetch(_ fetches: [(replica: PartitionReplica, fetch: FollowerFetch)]) async throws -> FetchResponse {
        var topics = [FetchRequest.FetchTopic]()
        for (replica, fetch) in fetches {
            let partition = FetchRequest.FetchPartition(
                partition: replica.topicPartition.partition, currentLeaderEpoch: fetch.currentLeaderEpoch ?? -1,
                fetchOffset: fetch.fetchOffset, lastFetchedEpoch: fetch.lastFetchedEpoch ?? -1,
                logStartOffset: fetch.logStartOffset, partitionMaxBytes: settings.maxBytesPerPartition)
            if let last = topics.last, last.topicID == replica.topicID {
                topics[topics.count - 1].partitions.append(partition)
            } else {
                topics.append(
                    .init(topic: replica.topicPartition.topic, topicID: replica.topicID, partitions: [partition]))
            }
        }
        let request = FetchRequest(
            replicaState: .init(replicaID: localID, replicaEpoch: fetches.first?.fetch.brokerEpoch ?? -1),
            maxWaitMs: settings.maxWaitMs,
            minBytes: settings.minBytes, maxBytes: settings.maxBytes, isolationLevel: 0, sessionID: 0, sessionEpoch: -1,
            topics: topics)
        let body = try await connection.send(
            request, version: Self.fetchVersion, timeout: .milliseconds(Int64(settings.maxWaitMs) + 30_000)
        ).get()
        return try FetchResponse.decodeWhole(from: body, version: Self.fetchVersion)
    }

    /// After OFFSET_OUT_OF_RANGE: the leader's earliest and latest offsets (ListOffsets as replica: the latest is its
    /// log end), then the follower truncates or restarts its log as they say. On failure the next fetch tries again.
    private func resetToLeaderOffsets(_ replica: PartitionReplica, leaderEpoch: LeaderEpoch?) async -> Bool {
        func offset(_ timestamp: Int64) async throws -> Int64? {
            let request = ListOffsetsRequest(
                replicaID: localID, isolationLevel: 0,
                topics: [
                    .init(
                        name: replica.topicPartition.topic,
                        partitions: [
                            .init(
                                partitionIndex: replica.topicPartition.partition,
                                currentLeaderEpoch: leaderEpoch ?? -1, timestamp: timestamp)
                        ])
                ])
            let body = try await connection.send(request, version: 7, timeout: .seconds(30)).get()
            let answer = try ListOffsetsResponse.decodeWhole(from: body, version: 7).topics.first?.partitions.first
            guard let answer, answer.errorCode == 0 else { return nil }
            return answer.offset
        }
        do {
            guard let start = try await offset(-2), let end = try await offset(-1) else { return false }
            _ = try await threadPool.runIfActive {
                replica.applyLeaderOffsets(logStartOffset: start, logEndOffset: end, leaderEpoch: leaderEpoch)
            }
            logger.info(
                "follower reset to the leader's offsets",
                metadata: ["partition": "\(replica.topicPartition)", "log.start": "\(start)", "log.end": "\(end)"])
            return true
        } catch {
            logger.debug("ListOffsets to the leader failed", metadata: ["leader": "\(leaderID)", "error": "\(error)"])
            return false
        }
    }

    /// Carries out each partition's answer on the I/O thread pool; a partition answered with an error backs off.
    private func apply(_ response: FetchResponse, to fetches: [(replica: PartitionReplica, fetch: FollowerFetch)])
        async throws
    {
        var byPartition = [TopicPartition: FetchResponse.PartitionData]()
        let byID = Dictionary(fetches.map { ($0.replica.topicID, $0.replica.topicPartition.topic) }) { a, _ in a }
        for topic in response.responses {
            guard let name = byID[topic.topicID] else { continue }
            for partition in topic.partitions {
                byPartition[TopicPartition(name, partition.partitionIndex)] = partition
            }
        }
        let answered = fetches.compactMap { entry in
            byPartition[entry.replica.topicPartition].map { (entry.replica, entry.fetch, $0) }
        }
        let now = PartitionReplica.replicationNow()
        for (replica, _, data) in answered {
            throttles.followerFetched(replica.topicPartition, bytes: data.records?.readableBytes ?? 0, now: now)
        }
        let outcomes = try await threadPool.runIfActive {
            answered.map { replica, fetch, data in (replica.topicPartition, replica.applyLeaderAnswer(data, to: fetch))
            }
        }
        var failedResets = Set<TopicPartition>()
        for (topicPartition, next) in outcomes where next == .askLeaderOffsets {
            guard let entry = answered.first(where: { $0.0.topicPartition == topicPartition }) else { continue }
            if await !resetToLeaderOffsets(entry.0, leaderEpoch: entry.1.currentLeaderEpoch) {
                failedResets.insert(topicPartition)
            }
        }
        let retryAt = PartitionReplica.replicationNow() + settings.backoffMs
        partitions.withLockedValue { partitions in
            for topicPartition in failedResets where partitions[topicPartition] != nil {
                partitions[topicPartition] = retryAt
            }
            for (topicPartition, next) in outcomes {
                guard case .backOff(let error) = next, partitions[topicPartition] != nil else { continue }
                partitions[topicPartition] = retryAt
                logger.debug(
                    "replica fetch of a partition backs off",
                    metadata: ["partition": "\(topicPartition)", "leader": "\(leaderID)", "error": "\(error)"])
            }
        }
    }
}
