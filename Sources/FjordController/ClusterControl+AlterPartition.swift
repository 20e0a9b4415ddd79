import KafkaProtocol

/// AlterPartition (API 56, KIP-497): a partition's leader asks the controller to change the partition's ISR (it
/// shrank a follower that fell behind, or expanded one that caught up). The controller validates the request
/// against the partition as the image has it and, if it is accepted, writes one `PartitionChangeRecord`; the leader
/// learns the outcome from the answer (and every broker from the record).
///
/// The checks, in Kafka's order (`ReplicationControlManager.validateAlterPartitionData`), per partition:
/// 1. unknown partition: UNKNOWN_TOPIC_OR_PARTITION (an unknown topic: UNKNOWN_TOPIC_ID from v2, which names
///    topics by id, else UNKNOWN_TOPIC_OR_PARTITION);
/// 2. a leader or partition epoch newer than the image's: NOT_CONTROLLER (this controller is behind: the leader
///    should find the active one);
/// 3. an older leader epoch: FENCED_LEADER_EPOCH;
/// 4. the sender is not the leader: INVALID_REQUEST;
/// 5. an older partition epoch: INVALID_UPDATE_VERSION (another change came first: the leader waits for it);
/// 6. an ISR with a non-replica, a duplicate, or without the leader; RECOVERING with more than the leader, or
///    RECOVERED → RECOVERING: INVALID_REQUEST;
/// 7. an ISR member that is unregistered, fenced, in controlled shutdown, or of another broker epoch than the
///    request names (-1: not checked): INELIGIBLE_REPLICA from v2, OPERATION_NOT_ATTEMPTED before.
/// The sender's own broker epoch is checked first, for the whole request: STALE_BROKER_EPOCH.
///
/// An accepted change keeps the leader and its epoch (from metadata.version 3.6-IV0 an ISR shrink no longer bumps
/// the leader epoch, KAFKA-15021; before, it does) and bumps the partition epoch; a leader that says RECOVERED
/// after an unclean election (KIP-704) ends its RECOVERING state; a change with the same ISR and recovery state
/// writes nothing. The answer carries the partition as it is after the change.
///
/// An ISR that holds every replica a reassignment keeps completes it (`ClusterControl+Reassignment`): the record
/// also drops the leaving replicas, with a new leader epoch; when the leader itself leaves, the answer is
/// NEW_LEADER_ELECTED (FENCED_LEADER_EPOCH before v2) though the change is written, as Kafka answers.
///
/// Not here yet: eligible leader replicas (KIP-966: an ISR shrinking below min.insync.replicas moves the removed
/// members to the ELR).
extension ClusterControl {
    /// Kafka's `LeaderRecoveryState`: RECOVERED (0) after a clean election, RECOVERING (1) after an unclean one.
    static let leaderRecovered: Int8 = 0
    static let leaderRecovering: Int8 = 1

    public func alterPartition(_ request: AlterPartitionRequest, version: Int16) -> ControllerResult<
        AlterPartitionResponse
    > {
        var response = AlterPartitionResponse()
        guard let sender = image.brokerRegistrations[request.brokerID], sender.epoch == request.brokerEpoch else {
            response.errorCode = ErrorCode.staleBrokerEpoch.rawValue
            return ControllerResult(records: [], response: response)
        }
        var records = [MetadataRecord]()
        for topicData in request.topics {
            var answer = AlterPartitionResponse.TopicData()
            answer.topicName = topicData.topicName
            answer.topicID = topicData.topicID
            let topic = version >= 2 ? image.topic(id: topicData.topicID) : image.topicsByName[topicData.topicName]
            guard let topic else {
                let code: ErrorCode = version >= 2 ? .unknownTopicID : .unknownTopicOrPartition
                answer.partitions = topicData.partitions.map { Self.partitionAnswer($0.partitionIndex, code) }
                response.topics.append(answer)
                continue
            }
            for partitionData in topicData.partitions {
                let isr =
                    version >= 3
                    ? partitionData.newIsrWithEpochs
                    : partitionData.newIsr.map { AlterPartitionRequest.BrokerState(brokerID: $0, brokerEpoch: -1) }
                guard let partition = topic.partitions.first(where: { $0.index == partitionData.partitionIndex }) else {
                    answer.partitions.append(
                        Self.partitionAnswer(partitionData.partitionIndex, .unknownTopicOrPartition))
                    continue
                }
                let refusal = validate(
                    partitionData, isr: isr, against: partition, from: request.brokerID, version: version)
                if let refusal {
                    answer.partitions.append(Self.partitionAnswer(partitionData.partitionIndex, refusal))
                    continue
                }
                let targetISR = isr.map(\.brokerID)
                if let completion = completeReassignment(
                    partition, of: topic, isr: targetISR, data: partitionData, from: request.brokerID,
                    version: version)
                {
                    records.append(.partitionChange(completion.record))
                    answer.partitions.append(completion.answer)
                    continue
                }
                var after = partition
                let recovers = partitionData.leaderRecoveryState != partition.leaderRecoveryState
                if targetISR != partition.inSyncReplicas || recovers {
                    var change = PartitionChangeRecord(partitionID: partition.index, topicID: topic.topicID)
                    if targetISR != partition.inSyncReplicas { change.isr = targetISR }
                    if recovers { change.leaderRecoveryState = partitionData.leaderRecoveryState }
                    let shrinks = partition.inSyncReplicas.contains { !targetISR.contains($0) }
                    if shrinks && image.metadataVersion.level < MetadataVersion.noEpochBumpOnIsrShrink {
                        change.leader = partition.leader
                        after.leaderEpoch += 1
                    }
                    records.append(.partitionChange(change))
                    after.inSyncReplicas = targetISR
                    after.partitionEpoch += 1
                }
                after.leaderRecoveryState = partitionData.leaderRecoveryState
                answer.partitions.append(Self.acceptedAnswer(after))
            }
            response.topics.append(answer)
        }
        return ControllerResult(records: records, response: response)
    }

    /// The record and answer of an accepted ISR change that completes the partition's reassignment; nil when none
    /// is in progress or this ISR does not complete it.
    private func completeReassignment(
        _ partition: MetadataImage.Partition, of topic: MetadataImage.Topic, isr: [Int32],
        data: AlterPartitionRequest.PartitionData, from sender: NodeID, version: Int16
    ) -> (record: PartitionChangeRecord, answer: AlterPartitionResponse.PartitionData)? {
        let ongoing = PartitionReassignment(ongoing: partition)
        guard ongoing.completed(withISR: isr) != nil,
            var record = change(partition, of: topic, to: ongoing, isr: isr, unclean: false)
        else { return nil }
        if record.leaderRecoveryState == -1 && data.leaderRecoveryState != partition.leaderRecoveryState {
            record.leaderRecoveryState = data.leaderRecoveryState
        }
        if record.leader != LeaderElection.noLeaderChange && record.leader != sender {
            return (record, Self.partitionAnswer(partition.index, version > 1 ? .newLeaderElected : .fencedLeaderEpoch))
        }
        var image = self.image
        image.replay(.partitionChange(record))
        guard let after = image.topic(id: topic.topicID)?.partitions.first(where: { $0.index == partition.index })
        else { return nil }
        return (record, Self.acceptedAnswer(after))
    }

    /// The answer to an accepted change: the partition as it is after it.
    private static func acceptedAnswer(_ after: MetadataImage.Partition) -> AlterPartitionResponse.PartitionData {
        var accepted = AlterPartitionResponse.PartitionData()
        accepted.partitionIndex = after.index
        accepted.leaderID = after.leader
        accepted.leaderEpoch = after.leaderEpoch
        accepted.isr = after.inSyncReplicas
        accepted.leaderRecoveryState = after.leaderRecoveryState
        accepted.partitionEpoch = after.partitionEpoch
        return accepted
    }

    /// The refusal of one partition's change, nil when it may be applied (the checks 2–7 above).
    private func validate(
        _ data: AlterPartitionRequest.PartitionData, isr: [AlterPartitionRequest.BrokerState],
        against partition: MetadataImage.Partition, from sender: NodeID, version: Int16
    ) -> ErrorCode? {
        if data.leaderEpoch > partition.leaderEpoch || data.partitionEpoch > partition.partitionEpoch {
            return .notController
        }
        if data.leaderEpoch < partition.leaderEpoch { return .fencedLeaderEpoch }
        if sender != partition.leader { return .invalidRequest }
        if data.partitionEpoch < partition.partitionEpoch { return .invalidUpdateVersion }
        let members = isr.map(\.brokerID)
        guard Set(members).count == members.count, members.allSatisfy(partition.replicas.contains),
            members.contains(partition.leader)
        else { return .invalidRequest }
        if data.leaderRecoveryState == Self.leaderRecovering && members.count > 1 { return .invalidRequest }
        // A recovered leader never goes back to RECOVERING; only an unclean election sets it.
        if data.leaderRecoveryState == Self.leaderRecovering && partition.leaderRecoveryState == Self.leaderRecovered {
            return .invalidRequest
        }
        let ineligible = isr.contains { member in
            guard let registration = image.brokerRegistrations[member.brokerID] else { return true }
            return registration.inControlledShutdown || registration.isFenced
                || (member.brokerEpoch != -1 && member.brokerEpoch != registration.epoch)
        }
        if ineligible { return version >= 2 ? .ineligibleReplica : .operationNotAttempted }
        return nil
    }

    private static func partitionAnswer(_ index: Int32, _ code: ErrorCode) -> AlterPartitionResponse.PartitionData {
        var answer = AlterPartitionResponse.PartitionData()
        answer.partitionIndex = index
        answer.errorCode = code.rawValue
        return answer
    }
}
