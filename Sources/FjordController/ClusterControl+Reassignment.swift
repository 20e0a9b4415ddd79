import KafkaProtocol

/// Partition reassignment (KIP-455): AlterPartitionReassignments starts, replaces or cancels the move of a
/// partition's replicas, ListPartitionReassignments shows the moves in progress, and the AlterPartition that brings
/// the last new replica into the ISR completes a move (`PartitionReassignment` has the two stages).
///
/// As Kafka's `ReplicationControlManager`, per partition: an unknown topic or partition answers
/// UNKNOWN_TOPIC_OR_PARTITION; a target with no replica, a broker twice or an unregistered broker answers
/// INVALID_REPLICA_ASSIGNMENT; a cancellation (null replicas) with no move in progress answers
/// NO_REASSIGNMENT_IN_PROGRESS, and one whose revert would need an unclean election (every ISR member is a replica
/// being added) is refused unless the topic allows unclean elections. A target equal to the current replicas
/// writes nothing. Leaving replicas lose their place with a new leader epoch, so that their fetches are fenced; a
/// leader that is not among the replicas that stay hands over to the first in-sync one of them.
///
/// Not here: a move completed by a broker's change of state (Kafka also completes one when a fenced replica that
/// was being removed leaves the ISR), replication throttles, and log directories.
extension ClusterControl {
    public func alterPartitionReassignments(_ request: AlterPartitionReassignmentsRequest) -> ControllerResult<
        AlterPartitionReassignmentsResponse
    > {
        var records = [MetadataRecord]()
        var response = AlterPartitionReassignmentsResponse(errorMessage: nil)
        for topic in request.topics {
            var answer = AlterPartitionReassignmentsResponse.ReassignableTopicResponse(name: topic.name)
            for partition in topic.partitions {
                var result = AlterPartitionReassignmentsResponse.ReassignablePartitionResponse(
                    partitionIndex: partition.partitionIndex, errorMessage: nil)
                switch reassign(topic.name, partition.partitionIndex, to: partition.replicas) {
                case .success(let record):
                    if let record { records.append(.partitionChange(record)) }
                case .failure(let refusal):
                    result.errorCode = refusal.error.rawValue
                    result.errorMessage = refusal.message
                }
                answer.partitions.append(result)
            }
            response.responses.append(answer)
        }
        return ControllerResult(records: records, response: response)
    }

    /// The moves in progress: of the named partitions (unknown ones are left out, as Kafka does), or of every
    /// partition when `topics` is nil.
    public func listPartitionReassignments(_ request: ListPartitionReassignmentsRequest)
        -> ListPartitionReassignmentsResponse
    {
        var response = ListPartitionReassignmentsResponse(errorMessage: nil)
        let wanted: [(name: String, indexes: [Int32]?)] =
            request.topics?.map { ($0.name, $0.partitionIndexes) } ?? image.topicNames.map { ($0, nil) }
        for (name, indexes) in wanted {
            guard let topic = image.topicsByName[name] else { continue }
            let moving = topic.partitions.filter { partition in
                partition.isReassigning && (indexes?.contains(partition.index) ?? true)
            }
            guard !moving.isEmpty else { continue }
            response.topics.append(
                .init(
                    name: name,
                    partitions: moving.map {
                        .init(
                            partitionIndex: $0.index, replicas: $0.replicas, addingReplicas: $0.addingReplicas,
                            removingReplicas: $0.removingReplicas)
                    }))
        }
        return response
    }

    /// The record that starts, replaces or cancels (`target` nil) one partition's move; nil when nothing changes.
    func reassign(_ topicName: String, _ index: Int32, to target: [Int32]?) -> Result<
        PartitionChangeRecord?, ItemResult
    > {
        guard let topic = image.topicsByName[topicName] else {
            return .failure(ItemResult(.unknownTopicOrPartition, "Unable to find a topic named \(topicName)."))
        }
        guard let position = topic.position(ofPartition: index) else {
            return .failure(ItemResult(.unknownTopicOrPartition, "Unable to find partition \(topicName):\(index)."))
        }
        let partition = topic.partitions[position]
        let unclean = LeaderElection.isUncleanEnabled(
            for: topic, in: image, staticDefault: uncleanLeaderElectionDefault)
        guard let target else {
            let ongoing = PartitionReassignment(ongoing: partition)
            guard ongoing.isInProgress else {
                return .failure(ItemResult(.noReassignmentInProgress, "No partition reassignment is in progress."))
            }
            let replicas = ongoing.originalReplicas
            var isr = partition.inSyncReplicas.filter { !ongoing.adding.contains($0) }
            if isr.isEmpty {
                guard unclean, let first = replicas.first else {
                    return .failure(
                        ItemResult(
                            .invalidReplicaAssignment,
                            "Unable to revert partition assignment for \(topicName):\(index) because it would require an unclean leader election."
                        ))
                }
                isr = [first]
            }
            let revert = PartitionReassignment(replicas: replicas, adding: [], removing: [])
            return .success(change(partition, of: topic, to: revert, isr: isr, unclean: unclean))
        }
        if let problem = problem(withAssignment: target) {
            return .failure(ItemResult(.invalidReplicaAssignment, problem))
        }
        let move = PartitionReassignment(from: partition.replicas, to: target)
        return .success(change(partition, of: topic, to: move, isr: partition.inSyncReplicas, unclean: false))
    }

    /// Kafka's `validateManualPartitionAssignment`, without a replication factor to match.
    private func problem(withAssignment replicas: [Int32]) -> String? {
        guard !replicas.isEmpty else { return "The manual partition assignment includes an empty replica list." }
        var seen = Set<Int32>()
        for broker in replicas.sorted() {
            guard image.brokerRegistrations[broker] != nil else {
                return "The manual partition assignment includes broker \(broker), but no such broker is registered."
            }
            guard seen.insert(broker).inserted else {
                return "The manual partition assignment includes the broker \(broker) more than once."
            }
        }
        return nil
    }

    /// The record of a reassignment step (`PartitionChangeBuilder`): `assignment` as the replica lists and `isr` as
    /// the ISR, the move completed when the ISR allows it, a leader elected when the current one cannot stay (with
    /// `unclean`, any live replica when no ISR member is live). Nil when nothing changes.
    func change(
        _ partition: MetadataImage.Partition, of topic: MetadataImage.Topic, to assignment: PartitionReassignment,
        isr targetISR: [Int32], unclean: Bool
    ) -> PartitionChangeRecord? {
        var builder = PartitionChangeBuilder(partition, of: topic, image: image)
        builder.targetAssignment = assignment
        builder.targetISR = targetISR
        builder.uncleanAllowed = unclean
        return builder.build()
    }
}
