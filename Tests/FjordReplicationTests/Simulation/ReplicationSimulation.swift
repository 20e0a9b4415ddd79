import FjordReplication
import FjordTestSupport
import KafkaProtocol

/// A seeded, deterministic simulation of one partition's replication: 3 or 5 brokers, each a `SimulatedReplica`
/// whose role is FjordReplication's pure core (`ReplicaRole`: `PartitionLeader` / `PartitionFollower`), driven as a
/// broker would drive it; a `SimulatedController` that fences brokers whose sessions expire, elects leaders from the
/// ISR and validates AlterPartition; a `SimulatedNetwork` with delays, drops and cuts; producers appending with
/// acks=all and acks=1; and faults from `FaultPlan` — process crashes, power losses that take a log's unflushed
/// tail, restarts, isolated leaders, partitions, lagging followers, lossy weather. All randomness comes from one
/// `SeededGenerator`, so a seed replays exactly. `InvariantChecker` runs after every event, `LivenessMonitor` too.
struct ReplicationSimulation {
    let seed: UInt64
    let parameters: SimulationParameters
    /// `ids`, computed once (the checks read it after every event).
    let ids: [NodeID]
    private(set) var now: Int64 = 0
    var generator: SeededGenerator
    var queue = EventQueue()
    var replicas: ReplicaTable
    var controller: SimulatedController
    var network = SimulatedNetwork()
    var checker = InvariantChecker()
    var liveness: LivenessMonitor
    var statistics = SimulationStatistics()
    var producing = true
    var nextRecordID: UInt64 = 1
    var nextProduceID: UInt64 = 1
    /// acks=all produces waiting at a leader.
    var pendingProduces: [UInt64: PendingProduce] = [:]
    /// acks=1 records acknowledged (offset, record): how many survive is reported, not asserted.
    var acksOneRecords: [(offset: Int64, record: LogRecord)] = []
    private(set) var trace: [String]?
    private(set) var milestones: [String] = []
    static let traceLength = 200

    struct PendingProduce {
        var node: NodeID
        var incarnation: Int
        var firstOffset: Int64
        var records: [LogRecord]
    }

    init(seed: UInt64, parameters: SimulationParameters, faults: [(time: Int64, action: FaultAction)], tracing: Bool)
        throws(InvariantViolation)
    {
        self.seed = seed
        self.parameters = parameters
        ids = parameters.replicaIDs
        generator = SeededGenerator(seed: seed ^ 0x5245_504C_5349_4D00)  // "REPLSIM": apart from the plan's draws
        let controller = SimulatedController(replicas: parameters.replicaIDs)
        self.controller = controller
        liveness = LivenessMonitor(settleMs: parameters.settleMs, boundMs: parameters.livenessBoundMs)
        trace = tracing ? [] : nil
        replicas = ReplicaTable(
            parameters.replicaIDs.map { id in
                var replica = SimulatedReplica(id: id)
                replica.brokerEpoch = controller.brokerEpochs[id]
                return replica
            })
        for id in ids { scheduleTimers(id) }
        for id in ids { try applyMetadata(id, controller.registration) }
        for (time, action) in faults { queue.schedule(.fault(action), at: time) }
        queue.schedule(.controllerTick, at: parameters.controllerTickMs)
        queue.schedule(.produce, at: draw(parameters.produceIntervalMs))
        queue.schedule(.stopProducing, at: parameters.faultyDurationMs + parameters.producingAfterFaultsMs)
        try checkAfterEvent()
    }

    /// The seeded run: parameters and faults drawn from `seed`.
    static func seeded(_ seed: UInt64, tracing: Bool = false) throws(InvariantViolation) -> ReplicationSimulation {
        var draw = SeededGenerator(seed: seed)
        let parameters = SimulationParameters.random(using: &draw)
        let faults = FaultPlan.make(parameters: parameters, using: &draw)
        return try ReplicationSimulation(seed: seed, parameters: parameters, faults: faults, tracing: tracing)
    }

    /// Runs every event due up to `time`, checking the invariants after each.
    mutating func run(until time: Int64) throws(InvariantViolation) {
        while let next = queue.nextTime, next <= time {
            let (eventTime, event) = queue.pop()!
            now = eventTime
            // Events that change nothing the invariants read (timers that only send, messages lost or dropped,
            // heartbeats that change no registration) skip the full check; liveness still runs on time.
            if try handle(event) {
                try checkAfterEvent()
            } else {
                try liveness.check(now: now)
            }
        }
        now = max(now, time)
    }

    /// The whole run, then the end-of-run checks.
    mutating func runToEnd() throws(InvariantViolation) {
        try run(until: parameters.endMs)
        try checkAtEnd()
    }

    /// Carries out `event`; whether it may have changed what the invariants read.
    private mutating func handle(_ event: SimulationEvent) throws(InvariantViolation) -> Bool {
        statistics.events += 1
        switch event {
        case .deliver(let message, let from, let fromIncarnation, let to, let toIncarnation):
            return try deliver(
                message, from: from, fromIncarnation: fromIncarnation, to: to, toIncarnation: toIncarnation)
        case .fetchTimer(let id, let incarnation, let token):
            guard isCurrent(id, incarnation), replicas[id].fetchTimerToken == token else { return false }
            sendFetchIfDue(id)
            return false
        case .leaderTick(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return false }
            try leaderTick(id)
            queue.schedule(.leaderTick(id, incarnation: incarnation), at: now + draw(parameters.leaderTickMs))
        case .heartbeatTimer(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return false }
            let replica = replicas[id]
            send(
                .heartbeat(
                    brokerEpoch: replica.brokerEpoch, incarnation: incarnation,
                    lostData: replica.recoveredFromPowerLoss), from: id,
                to: SimulationParameters.controllerID)
            queue.schedule(.heartbeatTimer(id, incarnation: incarnation), at: now + parameters.heartbeatIntervalMs)
            return false
        case .flush(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return false }
            replicas[id].log.flush()
            queue.schedule(.flush(id, incarnation: incarnation), at: now + draw(parameters.flushIntervalMs))
            return false
        case .controllerTick:
            queue.schedule(.controllerTick, at: now + parameters.controllerTickMs)
            let before = controller.registration
            guard controller.expireSessions(now: now, sessionTimeoutMs: parameters.sessionTimeoutMs) else {
                return false
            }
            controllerChanged(from: before)
        case .produce:
            guard producing else { return false }
            try produce()
            queue.schedule(.produce, at: now + draw(parameters.produceIntervalMs))
        case .fault(let action):
            record("FAULT \(action)", milestone: true)
            try carryOut(action)
        case .stopProducing:
            producing = false
            liveness.stop()
        }
        return true
    }

    /// The controller changed the partition: count ISR changes, tell every broker.
    mutating func controllerChanged(from before: PartitionRegistration) {
        let registration = controller.registration
        if registration.isr != before.isr { statistics.isrChanges += 1 }
        record("controller: \(registration)", milestone: true)
        publishMetadata()
    }

    /// The replica's next fetch timer, `delay` from now; it replaces any other.
    mutating func scheduleFetch(_ id: NodeID, after delay: Int64) {
        replicas[id].fetchTimerToken += 1
        let replica = replicas[id]
        queue.schedule(
            .fetchTimer(id, incarnation: replica.incarnation, token: replica.fetchTimerToken), at: now + delay)
    }

    /// The pause before the next fetch after an answer (long for a lagging follower).
    mutating func fetchInterval(_ id: NodeID) -> Int64 {
        draw(replicas[id].isSlow ? parameters.slowFetchIntervalMs : parameters.fetchIntervalMs)
    }

    func isCurrent(_ id: NodeID, _ incarnation: Int) -> Bool {
        replicas.contains(id) && replicas[id].isUp && replicas[id].incarnation == incarnation
    }

    mutating func draw(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &generator) }

    mutating func scheduleTimers(_ id: NodeID) {
        let incarnation = replicas[id].incarnation
        queue.schedule(.heartbeatTimer(id, incarnation: incarnation), at: now)
        queue.schedule(.flush(id, incarnation: incarnation), at: now + draw(parameters.flushIntervalMs))
        queue.schedule(.leaderTick(id, incarnation: incarnation), at: now + draw(parameters.leaderTickMs))
    }

    /// Sends `message` over the network (node 0 is the controller, which never crashes).
    mutating func send(_ message: SimulatedMessage, from: NodeID, to: NodeID) {
        guard let delay = network.deliveryDelay(from: from, to: to, using: &generator) else {
            statistics.messagesLost += 1
            return
        }
        queue.schedule(
            .deliver(
                message, from: from, fromIncarnation: replicas.contains(from) ? replicas[from].incarnation : 0, to: to,
                toIncarnation: replicas.contains(to) ? replicas[to].incarnation : 0),
            at: now + delay)
    }

    mutating func publishMetadata() {
        for id in ids {
            send(.metadata(controller.registration), from: SimulationParameters.controllerID, to: id)
        }
    }

    /// The replica the controller names leader, if it is live and knows it.
    var currentLeader: NodeID? {
        let id = controller.registration.leader
        guard replicas.contains(id), replicas[id].isLive,
            replicas[id].leader?.leaderEpoch == controller.registration.leaderEpoch
        else { return nil }
        return id
    }

    /// Adds a line to the trace.
    mutating func record(_ line: @autoclosure () -> String, milestone: Bool = false) {
        guard trace != nil else { return }
        let text = "\(now) ms: \(line())"
        trace!.append(text)
        if trace!.count > Self.traceLength { trace!.removeFirst(trace!.count - Self.traceLength) }
        if milestone { milestones.append(text) }
    }
}

/// Counts of what a run did, printed with `REPLICATION_VERBOSE` and compared by the replay test.
struct SimulationStatistics: CustomStringConvertible, Equatable {
    var events = 0
    var messagesLost = 0
    var recordsAcknowledgedAll = 0
    var recordsAcknowledgedOne = 0
    var notEnoughReplicas = 0
    var notEnoughReplicasAfterAppend = 0
    var timedOut = 0
    var notLeader = 0
    var truncations = 0
    var recordsTruncated = 0
    var powerLosses = 0
    var isrChanges = 0
    var acksOneLost = 0

    var description: String {
        "\(events) events, \(recordsAcknowledgedAll) acks=all records acknowledged, \(recordsAcknowledgedOne) acks=1 "
            + "(\(acksOneLost) of them lost), refused: \(notEnoughReplicas) NOT_ENOUGH_REPLICAS, "
            + "\(notEnoughReplicasAfterAppend) after append, \(timedOut) timed out, \(notLeader) not leader; "
            + "\(truncations) truncations (\(recordsTruncated) records), \(powerLosses) power losses, "
            + "\(isrChanges) ISR changes, \(messagesLost) messages lost"
    }
}
