import KafkaProtocol

/// Elections someone asks for, and the ones the active controller runs on its own (KIP-460; Kafka's
/// `ReplicationControlManager.electLeaders`, `maybeBalancePartitionLeaders` and `maybeElectUncleanLeaders`):
/// - ElectLeaders (API 43): a preferred election moves a partition's leadership to its first replica when that
///   replica is live and in the ISR; an unclean one gives a leaderless partition any live replica. Per partition:
///   ELECTION_NOT_NEEDED when the preferred replica already leads (preferred) or a leader exists (unclean);
///   PREFERRED_LEADER_NOT_AVAILABLE / ELIGIBLE_LEADERS_NOT_AVAILABLE when no replica qualifies;
///   UNKNOWN_TOPIC_OR_PARTITION. No partitions named (null) means every partition, and then the partitions that
///   need no election are left out of the answer.
/// - Leader balancing (`auto.leader.rebalance.enable`): a preferred election for every partition not led by its
///   preferred replica, at most `maxElectionsPerRun` per run.
/// - Unclean elections for leaderless partitions of the topics whose `unclean.leader.election.enable` is on, for
///   the topics that turned it on after their partition lost its leader.
extension ClusterControl {
    /// Kafka's `ElectionType`.
    public enum ElectionType: Int8, Sendable {
        case preferred = 0
        case unclean = 1
    }

    /// Kafka's `MAX_ELECTIONS_PER_IMBALANCE`: the most elections one balancing or unclean run writes.
    public static let maxElectionsPerRun = 1_000

    public func electLeaders(_ request: ElectLeadersRequest, version: Int16) -> ControllerResult<ElectLeadersResponse> {
        var response = ElectLeadersResponse()
        // v0 has no election type: it is preferred.
        guard let type = version == 0 ? .preferred : ElectionType(rawValue: request.electionType) else {
            response.errorCode = ErrorCode.invalidRequest.rawValue
            return ControllerResult(records: [], response: response)
        }
        var records = [MetadataRecord]()
        // Each record is computed on the image as the previous ones leave it: a partition named twice is elected once.
        var scratch = image
        func elect(_ topicName: String, _ partition: Int32) -> ElectLeadersResponse.PartitionResult {
            let (code, message, record) = electLeader(topicName, partition, type: type, on: scratch)
            if let record {
                records.append(.partitionChange(record))
                scratch.replay(.partitionChange(record))
            }
            return ElectLeadersResponse.PartitionResult(
                partitionID: partition, errorCode: code.rawValue, errorMessage: message)
        }
        if let named = request.topicPartitions {
            response.replicaElectionResults = named.map { topic in
                ElectLeadersResponse.ReplicaElectionResult(
                    topic: topic.topic, partitionResult: topic.partitions.map { elect(topic.topic, $0) })
            }
        } else {
            response.replicaElectionResults = image.topicNames.map { name in
                let indexes = image.topic(named: name)?.partitions.map(\.index) ?? []
                return ElectLeadersResponse.ReplicaElectionResult(
                    topic: name,
                    partitionResult: indexes.map { elect(name, $0) }.filter {
                        $0.errorCode != ErrorCode.electionNotNeeded.rawValue
                    })
            }
        }
        return ControllerResult(records: records, response: response)
    }

    /// One partition's election: the answer's code and message, and the record when the leadership moves.
    private func electLeader(_ topicName: String, _ index: Int32, type: ElectionType, on image: MetadataImage)
        -> (ErrorCode, String?, PartitionChangeRecord?)
    {
        guard let topic = image.topic(named: topicName) else {
            return (.unknownTopicOrPartition, "No such topic as \(topicName)", nil)
        }
        guard let position = topic.position(ofPartition: index) else {
            return (.unknownTopicOrPartition, "No such partition as \(topicName)-\(index)", nil)
        }
        let partition = topic.partitions[position]
        switch type {
        case .preferred where partition.hasPreferredLeader, .unclean where partition.leader >= 0:
            return (.electionNotNeeded, "Leader election not needed for \(topicName)-\(index)", nil)
        default: break
        }
        let kind: LeaderElection.Kind = type == .preferred ? .preferred : .unclean
        guard
            let record = election(on: image, removing: nil, adding: nil, kind: kind)
                .change(topicID: topic.topicID, partition: index), record.leader != LeaderElection.noLeaderChange
        else {
            return type == .preferred
                ? (
                    .preferredLeaderNotAvailable,
                    "The preferred leader of \(topicName)-\(index) is not a live member of its ISR", nil
                )
                : (.eligibleLeadersNotAvailable, "No live replica of \(topicName)-\(index) can lead", nil)
        }
        return (.none, nil, record)
    }

    /// Whether some partition is led by another replica than its preferred one (so a balancing run may be due).
    public var hasImbalancedLeaders: Bool {
        image.topicsByName.values.contains { topic in
            topic.partitions.contains { $0.leader >= 0 && !$0.hasPreferredLeader }
        }
    }

    /// A balancing run: preferred elections for partitions not led by their preferred replica, where it can lead.
    public func balanceLeaders(maxElections: Int = maxElectionsPerRun) -> ControllerResult<Int> {
        let imbalanced = image.partitions { $0.leader >= 0 && !$0.hasPreferredLeader }
        let records = elections(for: imbalanced, kind: .preferred, maxElections: maxElections)
        return ControllerResult(records: records, response: records.count)
    }

    /// An unclean run: leaderless partitions of topics with `unclean.leader.election.enable` get any live replica.
    public func electUncleanLeaders(maxElections: Int = maxElectionsPerRun) -> ControllerResult<Int> {
        let leaderless = image.leaderlessPartitions.filter { target in
            guard let topic = image.topic(id: target.topicID) else { return false }
            return LeaderElection.isUncleanEnabled(
                for: topic, in: image, staticDefault: uncleanLeaderElectionDefault)
        }
        let records = elections(for: leaderless, kind: .unclean, maxElections: maxElections)
        return ControllerResult(records: records, response: records.count)
    }

    private func elections(
        for partitions: [(topicID: KafkaUUID, partition: Int32)], kind: LeaderElection.Kind, maxElections: Int
    ) -> [MetadataRecord] {
        let election = election(on: image, removing: nil, adding: nil, kind: kind)
        var records = [MetadataRecord]()
        for target in partitions where records.count < maxElections {
            guard let record = election.change(topicID: target.topicID, partition: target.partition),
                record.leader != LeaderElection.noLeaderChange
            else { continue }
            records.append(.partitionChange(record))
        }
        return records
    }
}
