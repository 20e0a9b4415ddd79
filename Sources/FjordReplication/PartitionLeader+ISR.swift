import KafkaProtocol

/// ISR changes: proposing a shrink or an expansion (one AlterPartition at a time), applying the controller's
/// answer, and applying partition metadata the controller wrote within this leader epoch.
extension PartitionLeader {
    /// Kafka's `maybeExpandIsr`, after a fetch of `replica`: an assigned replica outside the ISR joins once its log
    /// end reaches the high watermark and the start of this leader epoch (so it has everything a later leader
    /// must have), unless its broker is fenced or shutting down (the controller would refuse it: INELIGIBLE_REPLICA).
    mutating func maybeExpandISR(_ replica: NodeID, into outputs: inout [LeaderOutput]) {
        guard case .committed(let isr) = isrState, !isr.contains(replica), replicas.contains(replica),
            !ineligibleReplicas.contains(replica),
            let progress = followers[replica],
            progress.logEndOffset >= highWatermark, progress.logEndOffset >= epochStartOffset
        else { return }
        let proposal = makeProposal(isr: isr.union([replica]))
        isrState = .pendingExpand(committed: isr, joining: replica, sent: proposal)
        outputs.append(.sendAlterPartition(proposal))
    }

    /// The ISR followers that are not caught up (`FollowerProgress.isCaughtUp`); empty while an AlterPartition is in
    /// flight.
    public func outOfSyncReplicas(now: Int64) -> Set<NodeID> {
        guard case .committed(let isr) = isrState else { return [] }
        return isr.filter { replica in
            guard replica != localID else { return false }
            guard let progress = followers[replica] else { return true }
            return !progress.isCaughtUp(
                leaderLogEndOffset: logEndOffset, now: now, maxLagMs: configuration.replicaLagTimeMaxMs)
        }
    }

    /// Kafka's `maybeShrinkIsr`: proposes the ISR without the followers that fell behind. The high watermark keeps
    /// waiting for them until the controller commits the change.
    mutating func maybeShrinkISR(now: Int64, into outputs: inout [LeaderOutput]) {
        let leaving = outOfSyncReplicas(now: now)
        guard !leaving.isEmpty, case .committed(let isr) = isrState else { return }
        let proposal = makeProposal(isr: isr.subtracting(leaving))
        isrState = .pendingShrink(committed: isr, leaving: leaving, sent: proposal)
        outputs.append(.sendAlterPartition(proposal))
    }

    func makeProposal(isr: Set<NodeID>) -> AlterPartitionProposal {
        let members = isr.sorted().map { id in
            AlterPartitionProposal.Member(brokerID: id, brokerEpoch: followers[id]?.brokerEpoch ?? -1)
        }
        return AlterPartitionProposal(
            leader: localID, leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, newISR: members)
    }

    /// Kafka's handling of an AlterPartition answer. An answer to anything but the change in flight is stale and
    /// ignored. Accepted: the ISR and partition epoch as written (unless they are for another leader epoch or older
    /// than what this leader knows). INELIGIBLE_REPLICA and OPERATION_NOT_ATTEMPTED (not applied, says the
    /// controller): back to the last committed ISR. FENCED_LEADER_EPOCH, INVALID_UPDATE_VERSION, NEW_LEADER_ELECTED,
    /// INVALID_REQUEST, UNKNOWN_TOPIC_OR_PARTITION: the change stays pending until newer metadata arrives. Anything
    /// else is retried.
    mutating func handleAlterPartitionAnswer(
        _ proposal: AlterPartitionProposal, _ answer: AlterPartitionAnswer, now: Int64,
        into outputs: inout [LeaderOutput]
    ) {
        guard isrState.inFlight == proposal else { return }
        switch answer {
        case .accepted(let answeredLeaderEpoch, let answeredPartitionEpoch, let newISR):
            guard answeredLeaderEpoch == leaderEpoch, answeredPartitionEpoch >= partitionEpoch else { return }
            partitionEpoch = answeredPartitionEpoch
            isrState = .committed(isr: Set(newISR))
            afterISRChange(now: now, into: &outputs)
        case .rejected(let error):
            switch error {
            case .ineligibleReplica, .operationNotAttempted:
                isrState = .committed(isr: isrState.isr)
            case .fencedLeaderEpoch, .invalidUpdateVersion, .newLeaderElected, .invalidRequest,
                .unknownTopicOrPartition, .unknownTopicID:
                break
            default:
                outputs.append(.sendAlterPartition(proposal))
            }
        }
    }

    /// Kafka's `makeLeader` within the same leader epoch: metadata newer than this leader's replaces the assignment
    /// and the committed ISR (ending any pending change); followers newly assigned start unknown. An equal partition
    /// epoch is the same registration (Kafka re-applies it, which drops a change in flight; nothing is gained).
    mutating func handlePartitionChange(
        _ registration: PartitionRegistration, now: Int64, into outputs: inout [LeaderOutput]
    ) {
        precondition(
            registration.leader == localID && registration.leaderEpoch == leaderEpoch,
            "a change of leader or leader epoch is a new PartitionLeader, not \(registration)")
        guard registration.partitionEpoch > partitionEpoch else { return }
        partitionEpoch = registration.partitionEpoch
        replicas = registration.replicas
        isrState = .committed(isr: Set(registration.isr))
        for replica in registration.replicas where replica != localID && followers[replica] == nil {
            followers[replica] = FollowerProgress(takingOverAt: now, inSync: false)
        }
        for replica in followers.keys where !registration.replicas.contains(replica) {
            followers[replica] = nil
        }
        afterISRChange(now: now, into: &outputs)
    }

    /// A committed ISR change may let the high watermark advance (the ISR shrank to those caught up), or leave the
    /// ISR below min.insync.replicas: then the waiting acks=all produces fail with NOT_ENOUGH_REPLICAS_AFTER_APPEND
    /// at once (Kafka 4 holds the high watermark and lets them time out).
    mutating func afterISRChange(now: Int64, into outputs: inout [LeaderOutput]) {
        advanceHighWatermark(now: now, into: &outputs)
        if isUnderMinISR {
            for waiting in waitingProduces {
                outputs.append(.completeProduce(id: waiting.id, .notEnoughReplicasAfterAppend))
            }
            waitingProduces = []
        }
    }
}
