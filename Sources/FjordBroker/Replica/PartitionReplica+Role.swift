import FjordController
import FjordReplication
import FjordStorage
import KafkaProtocol
import NIOCore

/// The partition's replication role on this broker (`ReplicaRole`: leader, follower or none), held in
/// `PartitionReplicaState` under the replica's `state` lock with the rest of the replica's state, and changed only
/// here (the controller's registration) and by the leader's own inputs (appends, follower fetches).
///
/// The high watermark consumers read (`state.highWatermark`) is the role's: a leader's is the smallest log end of
/// its ISR (a partition with one replica: its own log end), a follower's the leader's as last learned.
extension PartitionReplica {
    /// The replication core's clock: monotonic milliseconds (lag times and deadlines must not jump with the wall
    /// clock).
    static func replicationNow() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    /// The log as the replication core reads it, with the high watermark the replica has now.
    func localLogState(highWatermark: Int64) -> LocalLogState {
        LocalLogState(
            logStartOffset: log.logStartOffset, logEndOffset: log.logEndOffset, highWatermark: highWatermark,
            epochs: log.leaderEpochHistory)
    }

    /// The replication settings of this partition (`replica.lag.time.max.ms`, the topic's `min.insync.replicas`).
    static func replicationConfiguration(_ config: EffectiveTopicConfig, lagTimeMaxMs: Int64)
        -> ReplicationConfiguration
    {
        ReplicationConfiguration(replicaLagTimeMaxMs: lagTimeMaxMs, minInsyncReplicas: config.minInsyncReplicas)
    }

    /// Applies the controller's registration of this partition. Blocking (the metadata path, never an event loop):
    /// a new leader's epoch is written to the leader-epoch checkpoint at its log end before it serves, and a replica
    /// that starts leading rebuilds its producer state from its log (a follower's appends do not maintain it).
    /// Holds `appendLock` so that no append runs under the old role while the new one starts. Returns what the
    /// former leader leaves to answer (its waiting acks=all produces). `ineligible`: the brokers fenced or shutting
    /// down now, which a leader neither waits for nor proposes for the ISR.
    @discardableResult
    func applyRegistration(
        _ registration: PartitionRegistration, localID: NodeID, config: EffectiveTopicConfig, lagTimeMaxMs: Int64,
        ineligible: Set<NodeID> = [], now: Int64
    ) -> [LeaderOutput] {
        let configuration = Self.replicationConfiguration(config, lagTimeMaxMs: lagTimeMaxMs)
        let (outputs, configChanged) = appendLock.withLock { () -> ([LeaderOutput], Bool) in
            let highWatermark = state.withLockedValue { $0.highWatermark }
            let local = localLogState(highWatermark: highWatermark)
            let change = state.withLockedValue { state -> RoleChange in
                let previousEpoch = state.role.leaderEpoch
                let wasLeader = state.isLeader
                let wasFollower = if case .follower = state.role { true } else { false }
                var outputs = state.role.apply(
                    registration, localID: localID, log: local, configuration: configuration, now: now)
                if case .leader(var leader) = state.role {
                    // Same registration, new topic settings (min.insync.replicas): the leader takes them now.
                    outputs += leader.reconfigure(configuration, now: now)
                    if leader.ineligibleReplicas != ineligible {
                        outputs += leader.step(.replicasIneligible(ineligible, now: now))
                    }
                    state.role = .leader(leader)
                }
                let configChanged = state.config != config
                state.config = config
                state.adoptRole()
                let newLeaderEpoch = state.isLeader && (!wasLeader || previousEpoch != state.leaderEpoch)
                return RoleChange(
                    outputs: outputs, configChanged: configChanged,
                    startedLeading: newLeaderEpoch ? state.leaderEpoch : nil, wasFollower: wasFollower)
            }
            if let epoch = change.startedLeading {
                // KIP-101: the epoch starts at the log end now, not at its first append.
                try? log.assignLeaderEpoch(epoch, startOffset: log.logEndOffset)
                // A follower's appends did not keep the producer state: rebuilt from the log (a new replica built
                // it when it opened the log).
                if change.wasFollower, let replayed = try? ProducerStateManager.replayed(from: log) {
                    for transaction in replayed.aborted { try? log.addAbortedTransaction(transaction) }
                    state.withLockedValue { $0.producerState = replayed.state }
                }
            }
            return (change.outputs, change.configChanged)
        }
        if configChanged { log.configuration = config.logConfiguration }
        wakeAll()
        return outputs
    }

    /// The leader's answer to a follower's fetch of this partition, with its effects applied (the follower's
    /// progress, ISR expansion, a higher high watermark — which wakes waiting consumers). NOT_LEADER_OR_FOLLOWER when
    /// this broker does not lead it.
    func answerFollowerFetch(_ fetch: FollowerFetch, now: Int64) -> (FetchAnswer, [LeaderOutput]) {
        // DeleteRecords and retention move the log start without telling the core: it learns it here, before it
        // places the follower's offset.
        let logStart = log.logStartOffset
        let (answer, outputs) = state.withLockedValue { state -> (FetchAnswer, [LeaderOutput]) in
            guard case .leader(var leader) = state.role else { return (.error(.notLeaderOrFollower), []) }
            state.role = .none  // uniquely referenced while it changes (no copy of its collections)
            _ = leader.step(.logStartOffsetMoved(logStart))
            var outputs = leader.step(.followerFetch(fetch, now: now))
            state.role = .leader(leader)
            state.highWatermark = max(state.highWatermark, leader.highWatermark)
            var answer = FetchAnswer.error(.notLeaderOrFollower)
            outputs.removeAll { output in
                guard case .answerFetch(let replica, let found) = output, replica == fetch.replicaID else {
                    return false
                }
                answer = found
                return true
            }
            return (answer, outputs)
        }
        if outputs.contains(where: { if case .highWatermarkAdvanced = $0 { true } else { false } }) { wakeAll() }
        return (answer, outputs)
    }
}

extension PartitionReplica {
    /// Kafka's check before appending a produce (`PartitionLeader.checkProduce`): NOT_ENOUGH_REPLICAS for acks=all
    /// while this leader's ISR is below `min.insync.replicas`; NONE otherwise (also when not leading: the append
    /// then answers NOT_LEADER_OR_FOLLOWER).
    func checkProduce(acks: Int16) -> (ErrorCode, isr: Int, required: Int) {
        state.withLockedValue { state in
            guard case .leader(let leader) = state.role else { return (.none, 0, 0) }
            return (leader.checkProduce(requiredAcks: acks), leader.isr.count, leader.effectiveMinInsyncReplicas)
        }
    }

    /// Whether this leader's ISR is below `min.insync.replicas` (an acks=all produce whose records the high
    /// watermark passed is then answered NOT_ENOUGH_REPLICAS_AFTER_APPEND, as Kafka's
    /// `checkEnoughReplicasReachOffset`).
    var isUnderMinISR: Bool {
        state.withLockedValue { state in
            guard case .leader(let leader) = state.role else { return false }
            return leader.isUnderMinISR
        }
    }

    /// KIP-392: the replica a consumer in `clientRack` should fetch `fetchOffset` from instead of this leader, nil
    /// to be served here (also when this replica does not lead).
    func preferredReadReplica(
        selector: ReadReplicaSelector, clientRack: String, fetchOffset: Int64, rackOf: (NodeID) -> String?
    ) -> NodeID? {
        let now = Self.replicationNow()
        return state.withLockedValue { state in
            guard case .leader(let leader) = state.role else { return nil }
            return selector.preferredReadReplica(
                of: leader, clientRack: clientRack, fetchOffset: fetchOffset, now: now, rackOf: rackOf)
        }
    }

    /// Whether this replica follows a live leader (a consumer may read from it, KIP-392); not while the partition
    /// has no leader.
    var isFollower: Bool {
        state.withLockedValue { if case .follower(let follower) = $0.role { follower.leader >= 0 } else { false } }
    }

    /// The leader's periodic check (ISR expiry, Kafka's `maybeShrinkIsr`, and the high watermark once a lagging
    /// follower outside the ISR stops holding it); nothing on a follower.
    func tickLeader(now: Int64) -> [LeaderOutput] {
        stepLeader(.tick(now: now))
    }

    /// The brokers fenced or in controlled shutdown changed: a leader stops waiting for those among its followers
    /// (and stops proposing them for the ISR).
    func replicasBecameIneligible(_ ineligible: Set<NodeID>, now: Int64) -> [LeaderOutput] {
        let unchanged = state.withLockedValue { state in
            if case .leader(let leader) = state.role { leader.ineligibleReplicas == ineligible } else { true }
        }
        return unchanged ? [] : stepLeader(.replicasIneligible(ineligible, now: now))
    }

    /// Steps a leader's core under the state lock; a higher high watermark wakes waiting produces and consumers.
    private func stepLeader(_ input: LeaderInput) -> [LeaderOutput] {
        let outputs = state.withLockedValue { state -> [LeaderOutput] in
            guard case .leader(var leader) = state.role else { return [] }
            let outputs = leader.step(input)
            state.role = .leader(leader)
            state.highWatermark = max(state.highWatermark, leader.highWatermark)
            return outputs
        }
        if outputs.contains(where: { if case .highWatermarkAdvanced = $0 { true } else { false } }) { wakeAll() }
        return outputs
    }

    /// The controller's answer to this leader's AlterPartition `proposal`; a higher high watermark (the ISR
    /// shrank to those caught up) wakes waiting consumers.
    func alterPartitionAnswered(_ proposal: AlterPartitionProposal, _ answer: AlterPartitionAnswer, now: Int64)
        -> [LeaderOutput]
    {
        stepLeader(.alterPartitionAnswered(proposal, answer, now: now))
    }
}

/// What `applyRegistration` changed, as seen under the state lock.
private struct RoleChange {
    var outputs: [LeaderOutput]
    var configChanged: Bool
    /// The new leader epoch when this replica started leading one.
    var startedLeading: LeaderEpoch?
    var wasFollower: Bool
}

extension PartitionReplicaState {
    /// Brings the fields readers use (leadership, leader epoch, high watermark) in line with `role`.
    mutating func adoptRole() {
        switch role {
        case .leader(let leader):
            isLeader = true
            leaderEpoch = leader.leaderEpoch
            highWatermark = max(highWatermark, leader.highWatermark)
        case .follower(let follower):
            isLeader = false
            leaderEpoch = follower.leaderEpoch
            highWatermark = follower.highWatermark
        case .none:
            isLeader = false
        }
    }

    /// A leader appended up to `logEndOffset`: the core advances the high watermark (at once with no followers in
    /// the ISR). Returns the leader's outputs (completed acks=all produces, a new high watermark).
    mutating func leaderAppended(logEndOffset: Int64, now: Int64) -> [LeaderOutput] {
        guard case .leader(var leader) = role else { return [] }
        role = .none  // the leader's collections uniquely referenced while it changes: no copy per append
        let outputs = leader.step(.appended(logEndOffset: logEndOffset, now: now))
        role = .leader(leader)
        highWatermark = max(highWatermark, leader.highWatermark)
        return outputs
    }
}
