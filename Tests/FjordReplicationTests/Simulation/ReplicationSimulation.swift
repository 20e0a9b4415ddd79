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
    private(set) var now: Int64 = 0
    var generator: SeededGenerator
    var queue = EventQueue()
    var replicas: [NodeID: SimulatedReplica] = [:]
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
        generator = SeededGenerator(seed: seed ^ 0x5245_504C_5349_4D00)  // "REPLSIM": apart from the plan's draws
        controller = SimulatedController(replicas: parameters.replicaIDs)
        liveness = LivenessMonitor(settleMs: parameters.settleMs, boundMs: parameters.livenessBoundMs)
        trace = tracing ? [] : nil
        for id in parameters.replicaIDs {
            var replica = SimulatedReplica(id: id)
            replica.brokerEpoch = controller.brokerEpochs[id]
            replicas[id] = replica
            scheduleTimers(id)
        }
        for id in parameters.replicaIDs { try applyMetadata(id, controller.registration) }
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
            try handle(event)
            try checkAfterEvent()
        }
        now = max(now, time)
    }

    /// The whole run, then the end-of-run checks.
    mutating func runToEnd() throws(InvariantViolation) {
        try run(until: parameters.endMs)
        try checkAtEnd()
    }

    private mutating func handle(_ event: SimulationEvent) throws(InvariantViolation) {
        statistics.events += 1
        switch event {
        case .deliver(let message, let from, let fromIncarnation, let to, let toIncarnation):
            try deliver(message, from: from, fromIncarnation: fromIncarnation, to: to, toIncarnation: toIncarnation)
        case .fetchTimer(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return }
            sendFetchIfDue(id)
            let interval = replicas[id]!.isSlow ? parameters.slowFetchIntervalMs : parameters.fetchIntervalMs
            queue.schedule(.fetchTimer(id, incarnation: incarnation), at: now + draw(interval))
        case .leaderTick(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return }
            try leaderTick(id)
            queue.schedule(.leaderTick(id, incarnation: incarnation), at: now + draw(parameters.leaderTickMs))
        case .heartbeatTimer(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return }
            let replica = replicas[id]!
            send(
                .heartbeat(
                    brokerEpoch: replica.brokerEpoch, incarnation: incarnation,
                    lostData: replica.recoveredFromPowerLoss), from: id,
                to: SimulationParameters.controllerID)
            queue.schedule(.heartbeatTimer(id, incarnation: incarnation), at: now + parameters.heartbeatIntervalMs)
        case .flush(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return }
            replicas[id]!.log.flush()
            queue.schedule(.flush(id, incarnation: incarnation), at: now + draw(parameters.flushIntervalMs))
        case .controllerTick:
            if controller.expireSessions(now: now, sessionTimeoutMs: parameters.sessionTimeoutMs) {
                let registration = controller.registration
                record("controller: \(registration)", milestone: true)
                publishMetadata()
            }
            queue.schedule(.controllerTick, at: now + parameters.controllerTickMs)
        case .produce:
            guard producing else { return }
            try produce()
            queue.schedule(.produce, at: now + draw(parameters.produceIntervalMs))
        case .fault(let action):
            record("FAULT \(action)", milestone: true)
            try carryOut(action)
        case .stopProducing:
            producing = false
            liveness.stop()
        }
    }

    func isCurrent(_ id: NodeID, _ incarnation: Int) -> Bool {
        guard let replica = replicas[id] else { return false }
        return replica.isUp && replica.incarnation == incarnation
    }

    mutating func draw(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &generator) }

    mutating func scheduleTimers(_ id: NodeID) {
        let incarnation = replicas[id]!.incarnation
        queue.schedule(.heartbeatTimer(id, incarnation: incarnation), at: now)
        queue.schedule(.flush(id, incarnation: incarnation), at: now + draw(parameters.flushIntervalMs))
        queue.schedule(.fetchTimer(id, incarnation: incarnation), at: now + draw(parameters.fetchIntervalMs))
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
                message, from: from, fromIncarnation: replicas[from]?.incarnation ?? 0, to: to,
                toIncarnation: replicas[to]?.incarnation ?? 0),
            at: now + delay)
    }

    mutating func publishMetadata() {
        for id in parameters.replicaIDs {
            send(.metadata(controller.registration), from: SimulationParameters.controllerID, to: id)
        }
    }

    /// The replica the controller names leader, if it is live and knows it.
    var currentLeader: NodeID? {
        let id = controller.registration.leader
        guard let replica = replicas[id], replica.isLive,
            replica.leader?.leaderEpoch == controller.registration.leaderEpoch
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
