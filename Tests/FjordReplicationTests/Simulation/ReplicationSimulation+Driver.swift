import FjordReplication
import KafkaProtocol

/// The driver: what a broker does with the core's outputs (append, truncate, send), and the controller's side of
/// the messages.
extension ReplicationSimulation {
    /// Delivers `message` unless it is lost on arrival; whether anything the invariants read may have changed.
    mutating func deliver(
        _ message: SimulatedMessage, from: NodeID, fromIncarnation: Int, to: NodeID, toIncarnation: Int
    ) throws(InvariantViolation) -> Bool {
        // A crashed sender's connection is gone with what it still carried; a restarted receiver gets nothing meant
        // for its former self; a link cut since the sending loses it on arrival.
        if replicas.contains(from), replicas[from].incarnation != fromIncarnation { return false }
        if network.isCut(from: from, to: to) { return false }
        record("\(from)→\(to) \(message)")
        if to == SimulationParameters.controllerID { return controllerReceives(message, from: from) }
        guard isCurrent(to, toIncarnation) else { return false }
        return try replicaReceives(message, at: to, from: from)
    }

    /// Whether the partition changed.
    private mutating func controllerReceives(_ message: SimulatedMessage, from: NodeID) -> Bool {
        let controllerID = SimulationParameters.controllerID
        let before = controller.registration
        switch message {
        case .heartbeat(let brokerEpoch, let incarnation, let lostData):
            let answered: Int64?
            if let brokerEpoch {
                answered = controller.heartbeat(from, brokerEpoch: brokerEpoch, now: now) ? brokerEpoch : nil
            } else {
                answered = controller.register(from, incarnation: incarnation, lostData: lostData, now: now)
                record("controller registers \(from)\(lostData ? " (lost data)" : "") as \(answered!)", milestone: true)
            }
            send(.heartbeatAnswer(brokerEpoch: answered, controller.registration), from: controllerID, to: from)
        case .alterPartition(let proposal):
            let answer = controller.alterPartition(proposal)
            record("controller: \(proposal) → \(answer)")
            send(.alterPartitionAnswer(proposal, answer), from: controllerID, to: from)
        default:
            preconditionFailure("the controller does not handle \(message)")
        }
        guard controller.registration != before else { return false }
        controllerChanged(from: before)
        return true
    }

    /// Whether anything the invariants read may have changed (a heartbeat answer or metadata that changes neither
    /// the registration nor the role does not).
    private mutating func replicaReceives(_ message: SimulatedMessage, at id: NodeID, from: NodeID)
        throws(InvariantViolation) -> Bool
    {
        switch message {
        case .heartbeatAnswer(let brokerEpoch, let registration):
            let before = (replicas[id].brokerEpoch, replicas[id].role.leaderEpoch, replicas[id].role.partitionEpoch)
            if replicas[id].brokerEpoch != brokerEpoch {
                replicas[id].brokerEpoch = brokerEpoch
                if brokerEpoch != nil { replicas[id].recoveredFromPowerLoss = false }
            }
            if replicas[id].isLive { try applyMetadata(id, registration) }
            return before != (replicas[id].brokerEpoch, replicas[id].role.leaderEpoch, replicas[id].role.partitionEpoch)
        case .metadata(let registration):
            let before = (replicas[id].role.leaderEpoch, replicas[id].role.partitionEpoch)
            if replicas[id].isLive { try applyMetadata(id, registration) }
            return before != (replicas[id].role.leaderEpoch, replicas[id].role.partitionEpoch)
        case .fetch(let fetch, let sequence):
            guard replicas[id].isLive else { return false }
            try serveFetch(fetch, sequence: sequence, at: id, from: from)
        case .fetchAnswer(let answer, let records, let sequence):
            guard replicas[id].isLive, replicas[id].fetchInFlight?.sequence == sequence else { return false }
            replicas[id].fetchInFlight = nil
            try handleFetchAnswer(answer, records: records, at: id)
        case .listOffsets(let epoch):
            guard let leader = replicas[id].leader, leader.leaderEpoch == epoch else { return false }
            send(.listOffsetsAnswer(logStartOffset: 0, logEndOffset: leader.logEndOffset), from: id, to: from)
        case .listOffsetsAnswer(let start, let end):
            guard case .follower(var follower) = replicas[id].role else { return false }
            let outputs = follower.step(
                .leaderOffsets(logStartOffset: start, logEndOffset: end, log: replicas[id].log.state))
            replicas[id].role = .follower(follower)
            try carryOut(outputs, follower: id, records: [], positions: nil)
            scheduleFetch(id, after: fetchInterval(id))
        case .alterPartitionAnswer(let proposal, let answer):
            guard case .leader(var leader) = replicas[id].role else { return false }
            let outputs = leader.step(.alterPartitionAnswered(proposal, answer, now: now))
            if leader.isrState.inFlight == nil { replicas[id].alterPartitionSentAt = nil }
            replicas[id].role = .leader(leader)
            try carryOut(outputs, leader: id)
        default:
            preconditionFailure("a broker does not handle \(message)")
        }
        return true
    }

    /// The controller's partition as this broker learns it: the core decides the role; a new leader records its
    /// epoch in its log (KIP-101), a new follower starts fetching.
    mutating func applyMetadata(_ id: NodeID, _ registration: PartitionRegistration) throws(InvariantViolation) {
        var replica = replicas[id]
        let before = (replica.role.leaderEpoch, replica.leader != nil)
        let outputs = replica.role.apply(
            registration, localID: id, log: replica.log.state, configuration: parameters.configuration, now: now)
        let after = (replica.role.leaderEpoch, replica.leader != nil)
        if before != after {
            record(
                "\(id) becomes \(after.1 ? "leader" : "follower") of epoch \(after.0.map(String.init) ?? "-")",
                milestone: true)
            replica.fetchInFlight = nil
            replica.alterPartitionSentAt = nil
            if let leader = replica.leader {
                replica.log.assignEpoch(leader.leaderEpoch)
                replica.log.highWatermark = leader.highWatermark
            }
            replicas[id] = replica
            if replica.follower != nil { scheduleFetch(id, after: fetchInterval(id)) }
            replica = replicas[id]
        } else if let leader = replica.leader, leader.isrState.inFlight == nil {
            replica.alterPartitionSentAt = nil
        }
        replicas[id] = replica
        try carryOut(outputs, leader: id)
    }

    // MARK: Leader

    mutating func carryOut(_ outputs: [LeaderOutput], leader id: NodeID) throws(InvariantViolation) {
        for output in outputs {
            switch output {
            case .answerFetch:
                preconditionFailure("fetch answers are sent by serveFetch")
            case .highWatermarkAdvanced(let highWatermark):
                replicas[id].log.highWatermark = highWatermark
            case .sendAlterPartition(let proposal):
                record("\(id) sends \(proposal)")
                replicas[id].alterPartitionSentAt = now
                send(.alterPartition(proposal), from: id, to: SimulationParameters.controllerID)
            case .completeProduce(let produceID, let error):
                try complete(produceID, error)
            }
        }
    }

    mutating func serveFetch(_ fetch: FollowerFetch, sequence: UInt64, at id: NodeID, from: NodeID)
        throws(InvariantViolation)
    {
        guard case .leader(var leader) = replicas[id].role else {
            // Kafka's checks on a broker that does not lead: the epoch first, then NOT_LEADER_OR_FOLLOWER.
            let epoch = replicas[id].role.leaderEpoch ?? -1
            let current = fetch.currentLeaderEpoch ?? epoch
            let error: ErrorCode =
                current < epoch ? .fencedLeaderEpoch : current > epoch ? .unknownLeaderEpoch : .notLeaderOrFollower
            send(.fetchAnswer(.error(error), records: [], sequence: sequence), from: id, to: from)
            return
        }
        let outputs = leader.step(.followerFetch(fetch, now: now))
        replicas[id].role = .leader(leader)
        // The answer goes with the fetch's sequence number and the records it names.
        for output in outputs {
            guard case .answerFetch(let replica, let answer) = output else {
                try carryOut([output], leader: id)
                continue
            }
            var records: [LogRecord] = []
            if case .records(let start, _) = answer {
                let log = replicas[id].log
                let end = min(log.logEndOffset, start + Int64(parameters.fetchMaxRecords))
                if start < end { records = Array(log.records[Int(start)..<Int(end)]) }
            }
            send(.fetchAnswer(answer, records: records, sequence: sequence), from: id, to: replica)
        }
    }

    mutating func leaderTick(_ id: NodeID) throws(InvariantViolation) {
        guard replicas[id].isLive, case .leader(var leader) = replicas[id].role else { return }
        let outputs = leader.step(.tick(now: now))
        replicas[id].role = .leader(leader)
        try carryOut(outputs, leader: id)
        if let proposal = leader.isrState.inFlight, !outputs.contains(.sendAlterPartition(proposal)),
            let sentAt = replicas[id].alterPartitionSentAt, now - sentAt >= parameters.alterPartitionRetryMs
        {
            try carryOut([.sendAlterPartition(proposal)], leader: id)
        }
    }

    // MARK: Producers

    /// A producer sends a batch of 1-3 records, acks=all or acks=1, to the broker its metadata names (mostly the
    /// controller's leader; now and then any broker that believes it leads, as a client with stale metadata would).
    mutating func produce() throws(InvariantViolation) {
        var believers: [NodeID] = []
        for id in ids where replicas[id].isLive && replicas[id].leader != nil { believers.append(id) }
        let target: NodeID
        if generator.next(below: 100) < 85 || believers.isEmpty {
            target = controller.registration.leader
        } else {
            target = believers[generator.next(below: believers.count)]
        }
        let acksAll = generator.next(below: 100) < parameters.acksAllPercent
        let count = 1 + generator.next(below: 3)
        guard replicas.contains(target), replicas[target].isLive, case .leader(var leader) = replicas[target].role
        else {
            statistics.notLeader += 1
            try liveness.refused(acksAll: acksAll, "no live leader at \(target)", now: now)
            return
        }
        if acksAll, leader.checkProduce(requiredAcks: -1) != .none {
            statistics.notEnoughReplicas += 1
            try liveness.refused(acksAll: true, "NOT_ENOUGH_REPLICAS from \(target): ISR \(leader.isr)", now: now)
            return
        }
        var records: [LogRecord] = []
        for _ in 0..<count {
            records.append(LogRecord(epoch: leader.leaderEpoch, id: nextRecordID))
            nextRecordID += 1
        }
        let replica = replicas[target]
        let first = replica.log.logEndOffset
        replicas[target].log.append(records)
        let end = replicas[target].log.logEndOffset
        var outputs = leader.step(.appended(logEndOffset: end, now: now))
        if acksAll {
            let id = nextProduceID
            nextProduceID += 1
            pendingProduces[id] = PendingProduce(
                node: target, incarnation: replica.incarnation, firstOffset: first, records: records)
            liveness.issued(id, now: now)
            outputs += leader.step(
                .awaitAcks(id: id, requiredOffset: end, deadline: now + parameters.produceTimeoutMs, now: now))
        } else {
            statistics.recordsAcknowledgedOne += records.count
            for (index, record) in records.enumerated() { acksOneRecords.append((first + Int64(index), record)) }
        }
        replicas[target].role = .leader(leader)
        try carryOut(outputs, leader: target)
    }

    mutating func complete(_ produceID: UInt64, _ error: ErrorCode) throws(InvariantViolation) {
        guard let produce = pendingProduces.removeValue(forKey: produceID) else { return }
        switch error {
        case .none:
            statistics.recordsAcknowledgedAll += produce.records.count
            for (index, record) in produce.records.enumerated() {
                try checker.acknowledged(record, at: produce.firstOffset + Int64(index), now: now)
            }
        case .notEnoughReplicasAfterAppend: statistics.notEnoughReplicasAfterAppend += 1
        case .requestTimedOut: statistics.timedOut += 1
        default: statistics.notLeader += 1
        }
        try liveness.completed(produceID, error, now: now)
    }

    // MARK: Follower

    mutating func sendFetchIfDue(_ id: NodeID) {
        let replica = replicas[id]
        guard replica.isLive, let follower = replica.follower,
            let fetch = follower.nextFetch(brokerEpoch: replica.brokerEpoch ?? -1)
        else { return }
        if let inFlight = replica.fetchInFlight, now - inFlight.sentAt < parameters.fetchTimeoutMs {
            scheduleFetch(id, after: inFlight.sentAt + parameters.fetchTimeoutMs - now)
            return
        }
        scheduleFetch(id, after: parameters.fetchTimeoutMs)
        let sequence = replica.nextFetchSequence
        replicas[id].nextFetchSequence += 1
        replicas[id].fetchInFlight = (sequence, now)
        send(.fetch(fetch, sequence: sequence), from: id, to: follower.leader)
    }

    mutating func handleFetchAnswer(_ answer: FetchAnswer, records: [LogRecord], at id: NodeID)
        throws(InvariantViolation)
    {
        guard case .follower(var follower) = replicas[id].role else { return }
        let outputs = follower.step(.fetchAnswered(answer, log: replicas[id].log.state))
        replicas[id].role = .follower(follower)
        var positions: LeaderPositions?
        if case .records(_, let carried) = answer { positions = carried }
        try carryOut(outputs, follower: id, records: records, positions: positions)
        let backingOff = outputs.contains { if case .backOff = $0 { true } else { false } }
        scheduleFetch(id, after: backingOff ? parameters.fetchBackoffMs : fetchInterval(id))
    }

    mutating func carryOut(
        _ outputs: [FollowerOutput], follower id: NodeID, records: [LogRecord],
        positions: LeaderPositions?
    ) throws(InvariantViolation) {
        for output in outputs {
            guard case .follower(var follower) = replicas[id].role else { return }
            var more: [FollowerOutput] = []
            switch output {
            case .appendRecords(let from):
                precondition(from == replicas[id].log.logEndOffset, "append at \(from) to a log ending elsewhere")
                replicas[id].log.append(records)
                more = follower.step(.appended(log: replicas[id].log.state, positions: positions!))
            case .truncate(let offset):
                let end = replicas[id].log.logEndOffset
                if offset < end {
                    statistics.truncations += 1
                    statistics.recordsTruncated += Int(end - offset)
                    record("\(id) truncates from \(end) to \(offset)", milestone: true)
                }
                replicas[id].log.truncate(to: offset)
                more = follower.step(.truncated(log: replicas[id].log.state))
                replicas[id].role = .follower(follower)
                try checker.checkAcknowledged(snapshot(), from: offset)
            case .truncateFully(let offset):
                preconditionFailure("the simulated leaders never move their log start (asked to start at \(offset))")
            case .highWatermarkAdvanced(let highWatermark):
                replicas[id].log.highWatermark = highWatermark
            case .askLeaderOffsets:
                send(.listOffsets(currentLeaderEpoch: follower.leaderEpoch), from: id, to: follower.leader)
            case .fetch, .backOff:
                break
            }
            replicas[id].role = .follower(follower)
            if !more.isEmpty { try carryOut(more, follower: id, records: [], positions: positions) }
        }
    }
}
