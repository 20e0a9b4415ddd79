import KafkaProtocol

/// A partition's leader state for one leader epoch (Kafka's `Partition` as leader, without its log): the epochs,
/// the assignment and the ISR, the leader's log end and the start of its epoch, each follower's progress, the high
/// watermark and the acks=all produces waiting for it. Pure: the driver feeds it `LeaderInput`s (with the time) and
/// carries out the `LeaderOutput`s in order.
///
/// Rules (Kafka 4):
/// - The high watermark is the smallest log end offset over the maximal ISR (plus followers caught up and eligible
///   to join), never decreases, and advances only while the committed ISR has at least `min.insync.replicas`
///   members (KIP-966) — capped at the replication factor.
/// - A follower leaves the ISR when it has not caught up within `replica.lag.time.max.ms`; it joins when its log
///   end reaches both the high watermark and the start of this leader epoch. At most one AlterPartition is in
///   flight (`ISRState`).
/// - acks=all: refused with NOT_ENOUGH_REPLICAS before the append when the ISR is too small; answered when the high
///   watermark passes the batch, with NOT_ENOUGH_REPLICAS_AFTER_APPEND if the ISR is too small by then.
public struct PartitionLeader: Sendable {
    public let localID: NodeID
    public let leaderEpoch: LeaderEpoch
    public internal(set) var partitionEpoch: Int32
    public internal(set) var replicas: [NodeID]
    public internal(set) var isrState: ISRState
    public internal(set) var logStartOffset: Int64
    public internal(set) var logEndOffset: Int64
    public internal(set) var highWatermark: Int64
    /// The leader's log end when it took over: the first offset of its epoch.
    public let epochStartOffset: Int64
    /// The leader's epoch history, with this epoch assigned at `epochStartOffset`.
    public let epochs: LeaderEpochHistory
    public internal(set) var followers: [NodeID: FollowerProgress] = [:]
    /// acks=all produces waiting for the high watermark, by required offset.
    public internal(set) var waitingProduces: [WaitingProduce] = []
    public private(set) var configuration: ReplicationConfiguration
    /// Brokers fenced or in controlled shutdown (`LeaderInput.replicasIneligible`): not waited for, not proposed.
    public internal(set) var ineligibleReplicas: Set<NodeID> = []

    /// An acks=all produce waiting for the high watermark to reach `requiredOffset`.
    public struct WaitingProduce: Sendable, Hashable {
        public var id: UInt64
        public var requiredOffset: Int64
        public var deadline: Int64
    }

    /// Takes over as leader of `registration` (whose leader must be `localID`) with the local log as it is: the new
    /// epoch starts at the log end (KIP-101: recorded before any append, so a follower from a later epoch of a
    /// short-lived leader still finds its divergence), ISR followers count as caught up now, others as never.
    public init(
        localID: NodeID, registration: PartitionRegistration, log: LocalLogState,
        configuration: ReplicationConfiguration, now: Int64
    ) {
        precondition(registration.leader == localID, "\(localID) cannot lead \(registration)")
        self.localID = localID
        self.configuration = configuration
        leaderEpoch = registration.leaderEpoch
        partitionEpoch = registration.partitionEpoch
        replicas = registration.replicas
        isrState = .committed(isr: Set(registration.isr))
        logStartOffset = log.logStartOffset
        logEndOffset = log.logEndOffset
        highWatermark = min(log.highWatermark, log.logEndOffset)
        epochStartOffset = log.logEndOffset
        var epochs = log.epochs
        epochs.assign(epoch: registration.leaderEpoch, startOffset: log.logEndOffset)
        self.epochs = epochs
        for replica in registration.replicas where replica != localID {
            followers[replica] = FollowerProgress(takingOverAt: now, inSync: registration.isr.contains(replica))
        }
        _ = maybeAdvanceHighWatermark(now: now)
    }

    /// The committed ISR.
    public var isr: Set<NodeID> { isrState.isr }

    /// `min.insync.replicas`, capped at the replication factor (Kafka's `effectiveMinIsr`).
    public var effectiveMinInsyncReplicas: Int { min(configuration.minInsyncReplicas, replicas.count) }

    /// Whether the committed ISR is below `min.insync.replicas` (the high watermark is then held).
    public var isUnderMinISR: Bool { isr.count < effectiveMinInsyncReplicas }

    /// Checked before appending a produce: NOT_ENOUGH_REPLICAS for acks=all (`requiredAcks` -1) while the ISR is
    /// below `min.insync.replicas`; NONE otherwise (acks=0 and acks=1 never wait for followers).
    public func checkProduce(requiredAcks: Int16) -> ErrorCode {
        requiredAcks == -1 && isUnderMinISR ? .notEnoughReplicas : .none
    }

    public mutating func step(_ input: LeaderInput) -> [LeaderOutput] {
        var outputs: [LeaderOutput] = []
        switch input {
        case .tick(let now):
            maybeShrinkISR(now: now, into: &outputs)
            // A follower outside the ISR that was caught up holds the high watermark only for
            // `replica.lag.time.max.ms`: once that passes nothing else may come to re-evaluate it (a stopped
            // follower fetches no more), so the periodic check does.
            advanceHighWatermark(now: now, into: &outputs)
            expireProduces(now: now, into: &outputs)
        case .replicasIneligible(let ineligible, let now):
            ineligibleReplicas = ineligible
            advanceHighWatermark(now: now, into: &outputs)
        case .appended(let end, let now):
            precondition(end >= logEndOffset, "leader log end went back from \(logEndOffset) to \(end)")
            logEndOffset = end
            advanceHighWatermark(now: now, into: &outputs)
        case .logStartOffsetMoved(let start):
            logStartOffset = max(logStartOffset, start)
        case .followerFetch(let fetch, let now):
            handleFollowerFetch(fetch, now: now, into: &outputs)
        case .alterPartitionAnswered(let proposal, let answer, let now):
            handleAlterPartitionAnswer(proposal, answer, now: now, into: &outputs)
        case .partitionChanged(let registration, let now):
            handlePartitionChange(registration, now: now, into: &outputs)
        case .awaitAcks(let id, let requiredOffset, let deadline, let now):
            let waiting = WaitingProduce(id: id, requiredOffset: requiredOffset, deadline: deadline)
            let index = waitingProduces.firstIndex { $0.requiredOffset > requiredOffset } ?? waitingProduces.endIndex
            waitingProduces.insert(waiting, at: index)
            completeProduces(now: now, into: &outputs)
        }
        return outputs
    }

    /// The topic's settings changed (`min.insync.replicas`, `replica.lag.time.max.ms`): they apply from now; a
    /// lower minimum may let the high watermark advance.
    public mutating func reconfigure(_ configuration: ReplicationConfiguration, now: Int64) -> [LeaderOutput] {
        guard configuration != self.configuration else { return [] }
        self.configuration = configuration
        var outputs: [LeaderOutput] = []
        advanceHighWatermark(now: now, into: &outputs)
        return outputs
    }

    /// Leadership ends (a new epoch, another leader, the partition gone): every waiting produce is answered
    /// NOT_LEADER_OR_FOLLOWER.
    public mutating func resign() -> [LeaderOutput] {
        defer { waitingProduces = [] }
        return waitingProduces.map { .completeProduce(id: $0.id, .notLeaderOrFollower) }
    }

    // MARK: High watermark

    /// Kafka's `maybeIncrementLeaderHW`: the smallest log end over the maximal ISR and the followers caught up
    /// enough to join it and eligible to (neither fenced nor shutting down), if larger than the current high watermark and the ISR is not below min.insync.replicas.
    mutating func maybeAdvanceHighWatermark(now: Int64) -> Bool {
        guard !isUnderMinISR else { return false }
        let maximal = isrState.maximalISR
        var candidate = logEndOffset
        for (replica, progress) in followers where progress.logEndOffset < candidate {
            let waitsForIt =
                maximal.contains(replica)
                || (!ineligibleReplicas.contains(replica)
                    && progress.isCaughtUp(
                        leaderLogEndOffset: logEndOffset, now: now, maxLagMs: configuration.replicaLagTimeMaxMs))
            if waitsForIt { candidate = progress.logEndOffset }
        }
        guard candidate > highWatermark else { return false }
        highWatermark = candidate
        return true
    }

    mutating func advanceHighWatermark(now: Int64, into outputs: inout [LeaderOutput]) {
        if maybeAdvanceHighWatermark(now: now) {
            outputs.append(.highWatermarkAdvanced(highWatermark))
            completeProduces(now: now, into: &outputs)
        }
    }

    // MARK: Followers

    /// Answers the fetch first; a valid one then records the follower's position, may start adding it to the ISR
    /// and may advance the high watermark. The answer carries the high watermark as of after this fetch (Kafka
    /// sends the one before): the follower learns it a round sooner, and it never exceeds what the ISR has.
    mutating func handleFollowerFetch(_ fetch: FollowerFetch, now: Int64, into outputs: inout [LeaderOutput]) {
        let answer = validate(fetch)
        guard case .records(let from, var positions) = answer, var progress = followers[fetch.replicaID] else {
            outputs.append(.answerFetch(replica: fetch.replicaID, answer))
            return
        }
        let previousEnd = progress.logEndOffset
        progress.recordFetch(
            offset: fetch.fetchOffset, logStartOffset: fetch.logStartOffset, leaderLogEndOffset: logEndOffset,
            now: now, brokerEpoch: fetch.brokerEpoch)
        followers[fetch.replicaID] = progress
        var effects: [LeaderOutput] = []
        maybeExpandISR(fetch.replicaID, into: &effects)
        if previousEnd != progress.logEndOffset { advanceHighWatermark(now: now, into: &effects) }
        positions.highWatermark = highWatermark
        outputs.append(.answerFetch(replica: fetch.replicaID, .records(from: from, positions)))
        outputs.append(contentsOf: effects)
    }

    /// Kafka's checks of a follower fetch, in Kafka's order: the current leader epoch (FENCED_LEADER_EPOCH when the
    /// follower's is older, UNKNOWN_LEADER_EPOCH when newer), the replica (UNKNOWN_LEADER_EPOCH if not assigned,
    /// NOT_LEADER_OR_FOLLOWER for a stale broker epoch), then the last fetched epoch against the epoch history
    /// (OFFSET_OUT_OF_RANGE when it cannot be placed; a diverging epoch when the follower's last epoch ended
    /// earlier here, or is unknown here), then the fetch offset against the log's range.
    public func validate(_ fetch: FollowerFetch) -> FetchAnswer {
        if let current = fetch.currentLeaderEpoch {
            if current < leaderEpoch { return .error(.fencedLeaderEpoch) }
            if current > leaderEpoch { return .error(.unknownLeaderEpoch) }
        }
        guard let progress = followers[fetch.replicaID] else {
            return .error(fetch.currentLeaderEpoch == nil ? .notLeaderOrFollower : .unknownLeaderEpoch)
        }
        if fetch.brokerEpoch != -1, progress.brokerEpoch > fetch.brokerEpoch { return .error(.notLeaderOrFollower) }
        let positions = LeaderPositions(
            highWatermark: highWatermark, logStartOffset: logStartOffset, logEndOffset: logEndOffset)
        if let lastFetchedEpoch = fetch.lastFetchedEpoch {
            switch epochs.check(
                lastFetchedEpoch: lastFetchedEpoch, fetchOffset: fetch.fetchOffset, logStartOffset: logStartOffset,
                logEndOffset: logEndOffset)
            {
            case .valid: break
            case .outOfRange: return .error(.offsetOutOfRange)
            case .diverging(let end): return .divergingEpoch(end, positions)
            }
        }
        guard fetch.fetchOffset >= logStartOffset, fetch.fetchOffset <= logEndOffset else {
            return .error(.offsetOutOfRange)
        }
        return .records(from: fetch.fetchOffset, positions)
    }
}
