import FjordController
import FjordGroups
import FjordStorage
import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore

/// A coordinator's internal topic (`__consumer_offsets`, `__transaction_state`): created on first use, compacted,
/// its keys placed on partitions by Kafka's rule, and its partitions read back in full at start-up.
struct InternalTopic: Sendable {
    let name: String
    let partitionCount: Int32
    let replicationFactor: Int16
    let segmentBytes: Int32
    let metadata: MetadataService
    let nodeID: NodeID

    /// The topic, if it exists.
    var topic: MetadataImage.Topic? { metadata.publisher.image.topic(named: name) }

    /// The partition holding `key`'s records: `abs(key.hashCode()) % partitions`, so a group or transactional id
    /// lands on the same partition number as on a Kafka cluster.
    func partition(for key: String) -> Int32? {
        guard let topic, !topic.partitions.isEmpty else { return nil }
        return GroupPlacement.partition(for: key, partitionCount: Int32(topic.partitions.count))
    }

    /// The broker that coordinates `key`: the leader of its partition, or COORDINATOR_NOT_AVAILABLE while the topic
    /// or its leader is missing.
    func coordinator(for key: String, listener: String? = nil) -> CoordinatorLookup {
        let image = metadata.publisher.image
        guard let topic = image.topic(named: name), let index = partition(for: key),
            let partition = topic.partitions.first(where: { $0.index == index }),
            let broker = metadata.liveBrokers(image, listener: listener).first(where: { $0.nodeID == partition.leader })
        else { return .failure(.coordinatorNotAvailable) }
        return .success(broker)
    }

    /// Whether this node may serve `key` now: COORDINATOR_NOT_AVAILABLE before the topic exists, NOT_COORDINATOR
    /// if another broker leads its partition.
    func checkCoordinator(_ key: String) -> ErrorCode {
        switch coordinator(for: key) {
        case .failure(let error): error
        case .success(let broker): broker.nodeID == nodeID ? .none : .notCoordinator
        }
    }

    /// Creates the topic if it does not exist (`cleanup.policy=compact`: retention never deletes its records). On a
    /// quorum node that is not the active controller: a CreateTopics sent to the active controller, then a bounded
    /// wait for this node's image to show the topic. Blocking: run on the thread pool.
    func createIfNeeded(logger: Logger) throws {
        guard topic == nil else { return }
        let brokerCount = metadata.publisher.image.brokers.count
        let replicationFactor = min(replicationFactor, Int16(max(brokerCount, 1)))
        if let quorum = metadata.quorum, !quorum.driver.status.isLeader {
            try createThroughActiveController(quorum, replicationFactor: replicationFactor, logger: logger)
            return
        }
        let created = try metadata.execute { image in
            guard image.topic(named: name) == nil else {
                return ControllerResult(records: [], response: [TopicCommands.CreatedTopic]())
            }
            let defaults = TopicCommands.Defaults(partitionCount: partitionCount, replicationFactor: replicationFactor)
            let seed = UInt64.random(in: .min ... .max)
            return TopicCommands(image: image, defaults: defaults, placementSeed: seed).createTopics([
                TopicCommands.NewTopic(
                    name: name, partitionCount: partitionCount, replicationFactor: replicationFactor,
                    configs: [("cleanup.policy", "compact"), ("segment.bytes", String(segmentBytes))]
                )
            ]) { KafkaUUID.random() }
        }
        for topic in created where !topic.result.isOK {
            logger.error(
                "could not create \(name)",
                metadata: ["error": "\(topic.result.error)", "message": "\(topic.result.message ?? "")"])
        }
    }

    /// How long a broker that is not the active controller keeps asking it to create the topic.
    static let creationDeadline: TimeInterval = 15

    /// On a broker of a KRaft cluster that is not the active controller: a CreateTopics sent to the active
    /// controller's controller listener (as Kafka's `AutoTopicCreationManager` does for internal topics), then a
    /// bounded wait until the replayed image shows the topic. Blocking.
    private func createThroughActiveController(
        _ quorum: MetadataService.Quorum, replicationFactor: Int16, logger: Logger
    ) throws {
        let request = CreateTopicsRequest(
            topics: [
                .init(
                    name: name, numPartitions: partitionCount, replicationFactor: replicationFactor,
                    configs: [
                        .init(name: "cleanup.policy", value: "compact"),
                        .init(name: "segment.bytes", value: String(segmentBytes)),
                    ])
            ], timeoutMs: Int32(Self.creationDeadline * 1000))
        let deadline = Date().addingTimeInterval(Self.creationDeadline)
        var lastFailure = "no active controller known"
        while Date() < deadline, topic == nil {
            let status = quorum.driver.status
            if let leader = status.role.leaderID, leader != nodeID, quorum.driver.peers.knows(leader) {
                let remaining = max(0.1, deadline.timeIntervalSinceNow)
                let sent = quorum.driver.peers.forward(
                    request, version: 7, to: leader, timeout: .milliseconds(Int64(remaining * 1000)))
                switch BlockingWait.result(of: sent, timeoutSeconds: remaining + 1) {
                case .success(let response):
                    let error = ErrorCode(
                        rawValue: response.topics.first?.errorCode ?? ErrorCode.unknownServerError.rawValue)
                    if error == .none || error == .topicAlreadyExists {
                        // Committed on the controller: this broker's image shows it a replay later.
                        while topic == nil, Date() < deadline { Thread.sleep(forTimeInterval: 0.01) }
                        return
                    }
                    lastFailure = "node \(leader) answered \(error)"
                case .failure(let error):
                    lastFailure = "CreateTopics to node \(leader) failed: \(error)"
                }
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        guard topic == nil else { return }
        logger.error("could not create \(name)", metadata: ["error": "\(lastFailure)"])
        throw MetadataCommandError(code: .coordinatorNotAvailable, message: "\(name) not created: \(lastFailure)")
    }

    /// How long a coordinator's write waits for the ISR (Kafka's `offsets.commit.timeout.ms`, default 5000).
    static let replicationTimeout: Duration = .seconds(5)

    /// Appends `records` (key, value) to partition `partition` as one batch through its `PartitionReplica` with
    /// acks=all semantics, as Kafka's coordinators write: refused below the partition's `min.insync.replicas`, and
    /// answered only once the high watermark has passed the batch (every in-sync replica has it), so a write a
    /// coordinator acknowledged survives the loss of its broker. As the producer's transactional batch when
    /// `transaction` is given. The outcome is what a coordinator answers (Kafka's mapping): NOT_COORDINATOR when this
    /// node does not lead the partition or stops leading it while waiting, PRODUCER_FENCED when the transaction's
    /// producer is stale, COORDINATOR_NOT_AVAILABLE for any other failure — too few in-sync replicas, or the ISR
    /// not reached within `replicationTimeout`.
    func append(
        _ records: [(key: ByteBuffer, value: ByteBuffer?)], to partition: Int32, in replicas: ReplicaManager,
        now: Int64,
        transaction: (producerID: ProducerID, epoch: Int16)? = nil, replicationTimeout: Duration = replicationTimeout,
        logger: Logger
    ) -> ErrorCode {
        guard let replica = replicas.replica(for: TopicPartition(name, partition)) else { return .notCoordinator }
        var options = RecordBatchBuilder.Options()
        if let transaction {
            options.producerID = transaction.producerID
            options.producerEpoch = transaction.epoch
            options.isTransactional = true
        }
        var builder = RecordBatchBuilder(options: options)
        for record in records {
            builder.append(timestamp: now, key: record.key, value: record.value)
        }
        do {
            guard replica.checkProduce(acks: -1).0 == .none else { return .coordinatorNotAvailable }
            let outcome = replica.appendAsLeader(try builder.build().buffer, now: now, origin: .coordinator)
            if transaction != nil, outcome.error == .invalidProducerEpoch || outcome.error == .producerFenced {
                return .producerFenced
            }
            guard outcome.error == .none else {
                logger.error(
                    "append to \(name) failed",
                    metadata: [
                        "partition": "\(partition)", "error": "\(outcome.error)",
                        "message": "\(outcome.errorMessage ?? "")",
                    ])
                return outcome.error == .notLeaderOrFollower ? .notCoordinator : .coordinatorNotAvailable
            }
            guard
                replica.awaitHighWatermark(
                    outcome.nextOffset, leaderEpoch: outcome.leaderEpoch, timeout: replicationTimeout)
            else {
                return replica.isLeader && replica.leaderEpoch == outcome.leaderEpoch
                    ? .coordinatorNotAvailable : .notCoordinator
            }
            return .none
        } catch {
            logger.error("building a \(name) batch failed", metadata: ["error": "\(error)"])
            return .coordinatorNotAvailable
        }
    }

    /// Calls `body` with every batch of partition `partition` of this topic, in order. Blocking.
    func forEachBatch(
        of partition: Int32, in replicas: ReplicaManager, _ body: (_ batch: RecordBatch) throws -> Void
    ) throws {
        guard let replica = replicas.replica(for: TopicPartition(name, partition)) else { return }
        let log = replica.log
        var offset = log.logStartOffset
        while offset < log.logEndOffset {
            let read = try log.read(from: offset, maximumBytes: 1 << 20, upperBound: log.logEndOffset)
            guard let slice = read.slice else { break }
            let bytes = try log.bytes(of: slice)
            let batches = try RecordBatchSequence(bytes, mode: .fetch).batches()
            guard !batches.isEmpty else { break }
            for batch in batches {
                try body(batch)
                offset = batch.nextOffset
            }
        }
    }

    /// What the current image asks of a coordinator that serves `served`: the partitions this node now leads and
    /// must load (at their leader epoch), and the served ones it no longer leads (at the epoch leadership moved on
    /// to; nil when the partition or the topic is gone). A partition led here whose replica does not lead yet (the
    /// image not applied to the replicas yet) is left for a later pass: `complete` is false then.
    func leadershipChanges(served: CoordinatorPartitions, in replicas: ReplicaManager) -> LeadershipChanges {
        var changes = LeadershipChanges()
        guard let topic else {
            changes.unload = served.entries.keys.sorted().map { ($0, nil) }
            return changes
        }
        changes.partitionCount = Int32(topic.partitions.count)
        var present = Set<Int32>()
        for partition in topic.partitions {
            present.insert(partition.index)
            let servedEpoch = served.epoch(of: partition.index)
            if partition.leader == nodeID {
                guard servedEpoch != partition.leaderEpoch else { continue }
                guard let replica = replicas.replica(for: TopicPartition(name, partition.index)),
                    replica.topicID == topic.topicID, replica.isLeader, replica.leaderEpoch == partition.leaderEpoch
                else {
                    changes.complete = false
                    continue
                }
                changes.load.append((partition.index, partition.leaderEpoch))
            } else if servedEpoch != nil {
                changes.unload.append((partition.index, partition.leaderEpoch))
            }
        }
        for partition in served.entries.keys.sorted() where !present.contains(partition) {
            changes.unload.append((partition, nil))
        }
        return changes
    }
}

/// See `InternalTopic.leadershipChanges`.
struct LeadershipChanges {
    /// The topic's partition count (nil when the topic is gone).
    var partitionCount: Int32?
    var load: [(partition: Int32, epoch: LeaderEpoch)] = []
    var unload: [(partition: Int32, epoch: LeaderEpoch?)] = []
    /// False when a partition led here could not be loaded yet and a later pass must look again.
    var complete = true
}

/// Which broker coordinates a group or transactional id, or the error to answer with.
enum CoordinatorLookup {
    case success(MetadataImage.Broker)
    case failure(ErrorCode)
}
