import FjordController
import KafkaProtocol

/// An active controller in miniature for scenario tests: a committed metadata log (an array: record i is at
/// offset i), the image replayed from it, the heartbeat tracker and a manual clock in milliseconds. Commands run
/// against the image; `commit` appends their records and replays them, as the driver does once Raft commits.
struct ControllerHarness {
    static let clusterID = "fjord-test-cluster"

    var image: MetadataImage
    var tracker: BrokerHeartbeatTracker
    private(set) var log: [MetadataRecord] = []
    var now: Int64 = 1_000

    /// The offset the next record gets.
    var nextOffset: Int64 { Int64(log.count) }

    /// A controller with no brokers whose log starts with the bootstrap metadata.version.
    init(metadataVersion: Int16 = MetadataVersion.latestProduction.level, sessionTimeoutMs: Int64 = 9000) {
        image = MetadataImage(clusterID: Self.clusterID, controllerID: 3000, brokers: [])
        tracker = BrokerHeartbeatTracker(sessionTimeoutMs: sessionTimeoutMs, now: 1_000)
        commit(FeatureControl.bootstrapRecords(image: image, level: metadataVersion))
    }

    mutating func commit(_ records: [MetadataRecord]) {
        for record in records {
            image.replay(record, offset: nextOffset)
            log.append(record)
        }
    }

    /// The image a broker or a restarted controller rebuilds by replaying the whole log from an empty image.
    func replayedFromScratch() -> MetadataImage {
        var fresh = MetadataImage(clusterID: Self.clusterID, controllerID: 3000, brokers: [])
        for (offset, record) in log.enumerated() { fresh.replay(record, offset: Int64(offset)) }
        return fresh
    }

    // MARK: Membership

    static func registration(
        _ id: Int32, incarnation: UInt64? = nil, rack: String? = nil,
        metadataVersions: ClosedRange<Int16>? = MetadataVersion.supportedLevels
    ) -> BrokerRegistrationRequest {
        BrokerRegistrationRequest(
            brokerID: id, clusterID: clusterID, incarnationID: KafkaUUID(high: 7, low: incarnation ?? UInt64(id)),
            listeners: [
                .init(name: "PLAINTEXT", host: "broker\(id)", port: UInt16(9000 + Int(id)), securityProtocol: 0)
            ],
            features: metadataVersions.map {
                [
                    .init(
                        name: MetadataVersion.featureName, minSupportedVersion: $0.lowerBound,
                        maxSupportedVersion: $0.upperBound)
                ]
            } ?? [],
            rack: rack, logDirs: [KafkaUUID(high: UInt64(id), low: 1_000 + (incarnation ?? 0))])
    }

    /// Registers and commits; the reply.
    @discardableResult
    mutating func register(_ request: BrokerRegistrationRequest) -> ClusterControl.RegistrationReply {
        let result = ClusterControl(image: image).registerBroker(
            request, nextOffset: nextOffset, tracker: &tracker, now: now)
        commit(result.records)
        return result.response
    }

    /// A heartbeat of `id` with its registered epoch (unless given), reporting the log end as its offset (unless
    /// given); commits what it produced.
    @discardableResult
    mutating func heartbeat(
        _ id: Int32, epoch: Int64? = nil, offset: Int64? = nil, wantFence: Bool = false, wantShutDown: Bool = false
    ) -> ClusterControl.HeartbeatReply {
        let request = BrokerHeartbeatRequest(
            brokerID: id, brokerEpoch: epoch ?? image.brokerRegistrations[id]?.epoch ?? -1,
            currentMetadataOffset: offset ?? nextOffset - 1, wantFence: wantFence, wantShutDown: wantShutDown)
        let result = ClusterControl(image: image).heartbeat(
            request, nextOffset: nextOffset, tracker: &tracker, now: now)
        commit(result.records)
        return result.response
    }

    /// Registers `id` and heartbeats it until unfenced.
    mutating func startBroker(_ id: Int32, rack: String? = nil) {
        register(Self.registration(id, rack: rack))
        heartbeat(id)
    }

    // MARK: Topics

    @discardableResult
    mutating func createTopic(_ name: String, partitions: Int32, replicationFactor: Int16, seed: UInt64 = 0)
        -> TopicCommands.CreatedTopic
    {
        let topicID = KafkaUUID(high: 99, low: UInt64(log.count + 1))
        let result = TopicCommands(
            image: image, defaults: .init(partitionCount: 1, replicationFactor: 1), placementSeed: seed
        ).createTopics([.init(name: name, partitionCount: partitions, replicationFactor: replicationFactor)]) {
            topicID
        }
        commit(result.records)
        return result.response[0]
    }

    /// A topic with the given replicas per partition, assigned by hand.
    mutating func createTopic(_ name: String, assignments: [[Int32]]) {
        var byIndex = [Int32: [Int32]]()
        for (index, replicas) in assignments.enumerated() { byIndex[Int32(index)] = replicas }
        let topicID = KafkaUUID(high: 98, low: UInt64(log.count + 1))
        let result = TopicCommands(image: image, defaults: .init(partitionCount: 1, replicationFactor: 1))
            .createTopics([.init(name: name, assignments: byIndex)]) { topicID }
        precondition(result.response[0].result.isOK, "\(result.response[0].result)")
        commit(result.records)
    }

    func partition(_ topic: String, _ index: Int32) -> MetadataImage.Partition {
        image.topic(named: topic)!.partitions[Int(index)]
    }
}
