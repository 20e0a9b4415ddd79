import FjordRaft
import FjordTestSupport
import KafkaProtocol

/// A seeded, deterministic simulation of a FjordRaft cluster (in the spirit of Kafka's RaftEventSimulationTest and
/// of etcd's and TigerBeetle's simulators): every node is a `RaftNode` driven as the real driver drives it, over a
/// simulated clock, network and disk, with faults from a `FaultPlan`; all randomness comes from one
/// `SeededGenerator`, so a seed replays exactly. The invariants of `InvariantChecker` and `LivenessMonitor` are
/// checked after every event; the first violation stops the run.
///
/// The driver (RaftSimulation+Driver.swift) carries out each output in order: `.persistQuorumState` is durable at
/// once, `.appendLog` is unsynced until a simulated fsync reports `.persisted(through:)`, `.send` goes to the
/// network, `.commit` to the state machine; it ticks every few milliseconds and snapshots the state machine now and
/// then (`.snapshotTaken`). Clients propose to every node that believes it leads. (The broker's RaftDriver fsyncs
/// right after the outputs that appended; the simulation fsyncs after a random delay, which covers that and more.)
struct RaftSimulation {
    let seed: UInt64
    let parameters: SimulationParameters
    private(set) var now: Int64 = 0
    var generator: SeededGenerator
    var queue = EventQueue()
    var nodes: [NodeID: SimulatedNode] = [:]
    var network = SimulatedNetwork()
    var checker: InvariantChecker
    var liveness: LivenessMonitor
    var statistics = SimulationStatistics()
    /// The committed end every running node must have applied by the end of the run (set in the final calm phase).
    var catchUpTarget: Int64?
    var nextProposalSequence: UInt64 = 0
    /// Counts changes to what disks hold durably; with the committed end, the inputs of `committedDurable`, which
    /// is re-checked only when one of them moved (the same as checking after every event, for less).
    var durableChanges = 0
    var durabilityCheckedAt: (durableChanges: Int, committedEnd: Int64) = (-1, -1)
    /// The last events, when tracing (a failing seed is replayed with tracing on to show how it got there).
    private(set) var trace: [String]?
    /// Every fault, start, crash, role change, truncation and snapshot installation of the run, when tracing.
    private(set) var milestones: [String] = []
    static let traceLength = 300

    /// A cluster of `parameters` with every node started (empty disks) at time 0 and the given fault schedule.
    init(seed: UInt64, parameters: SimulationParameters, faults: [(time: Int64, action: FaultAction)], tracing: Bool)
        throws(InvariantViolation)
    {
        self.seed = seed
        self.parameters = parameters
        generator = SeededGenerator(seed: seed ^ 0x5241_4654_5349_4D00)  // "RAFTSIM": apart from the parameters' draw
        checker = InvariantChecker(voters: parameters.voterIDs, observers: parameters.observerIDs)
        liveness = LivenessMonitor(boundMs: parameters.livenessBoundMs)
        trace = tracing ? [] : nil
        for id in parameters.nodeIDs {
            nodes[id] = SimulatedNode(id: id, isVoter: parameters.voterIDs.contains(id))
            try start(id)
        }
        for (time, action) in faults { queue.schedule(.fault(action), at: time) }
        queue.schedule(.propose, at: Int64.random(in: parameters.proposalIntervalMs, using: &generator))
        updateLiveness()
    }

    /// The seeded run of the soak: parameters and faults drawn from `seed`, then a calm phase in which every node
    /// must catch up.
    static func seeded(_ seed: UInt64, tracing: Bool = false) throws(InvariantViolation) -> RaftSimulation {
        var draw = SeededGenerator(seed: seed)
        let parameters = SimulationParameters.random(using: &draw)
        let faults = FaultPlan.make(parameters: parameters, using: &draw)
        var simulation = try RaftSimulation(seed: seed, parameters: parameters, faults: faults, tracing: tracing)
        simulation.queue.schedule(.setCatchUpTarget, at: parameters.faultyDurationMs + parameters.livenessBoundMs)
        return simulation
    }

    /// Runs every event due up to `time` (inclusive), checking the invariants after each.
    mutating func run(until time: Int64) throws(InvariantViolation) {
        while let next = queue.nextTime, next <= time {
            let (eventTime, event) = queue.pop()!
            now = eventTime
            try handle(event)
            try checkAfterEvent()
        }
        now = max(now, time)
    }

    /// Runs until `condition` holds (checked after every event) or `deadline`; whether it held.
    mutating func run(until deadline: Int64, orUntil condition: (RaftSimulation) -> Bool) throws(InvariantViolation)
        -> Bool
    {
        while let next = queue.nextTime, next <= deadline {
            if condition(self) { return true }
            let (eventTime, event) = queue.pop()!
            now = eventTime
            try handle(event)
            try checkAfterEvent()
        }
        now = max(now, deadline)
        return condition(self)
    }

    /// The seeded run to its end: the faulty part, then the calm phase, then the end-of-run checks.
    mutating func runToEnd() throws(InvariantViolation) {
        try run(until: parameters.faultyDurationMs + parameters.finalCalmMs)
        try checkAtEnd()
    }

    private mutating func handle(_ event: SimulationEvent) throws(InvariantViolation) {
        statistics.events += 1
        switch event {
        case .tick(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return }
            try step(id, .tick(now: now))
            scheduleTick(id)
        case .deliver(let message, let from, let to):
            guard nodes[to]?.isUp == true, !network.isCut(from: from, to: to) else { return }
            statistics.messagesDelivered += 1
            record("\(from)→\(to) \(Self.summary(of: message))")
            try step(to, .received(message, from: from))
        case .fsyncCompleted(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return }
            try completeFsync(id)
        case .takeSnapshot(let id, let incarnation):
            guard isCurrent(id, incarnation) else { return }
            try takeSnapshot(id)
            queue.schedule(.takeSnapshot(id, incarnation: incarnation), at: now + draw(parameters.snapshotIntervalMs))
        case .propose:
            try proposeToLeaders()
            queue.schedule(.propose, at: now + draw(parameters.proposalIntervalMs))
        case .fault(let action):
            record("FAULT \(action)", milestone: true)
            try carryOut(action)
        case .setCatchUpTarget:
            catchUpTarget = checker.ledger.endOffset
        }
    }

    func isCurrent(_ id: NodeID, _ incarnation: Int) -> Bool {
        guard let node = nodes[id] else { return false }
        return node.isUp && node.incarnation == incarnation
    }

    mutating func draw(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &generator) }

    mutating func scheduleTick(_ id: NodeID) {
        queue.schedule(.tick(id, incarnation: nodes[id]!.incarnation), at: now + draw(parameters.tickIntervalMs))
    }

    /// The node that leads the highest epoch among the running ones, if any.
    var leader: NodeID? {
        nodes.values.filter { $0.isLeader }.max { $0.role!.epoch < $1.role!.epoch }?.id
    }

    /// Adds a line to the trace (ticks are left out: they are most events and say little).
    mutating func record(_ line: @autoclosure () -> String, milestone: Bool = false) {
        guard trace != nil else { return }
        let text = "\(now) ms: \(line())"
        trace!.append(text)
        if trace!.count > Self.traceLength { trace!.removeFirst(trace!.count - Self.traceLength) }
        if milestone { milestones.append(text) }
    }

    static func summary(of message: RaftMessage) -> String {
        let text = String(describing: message)
        return text.count > 220 ? String(text.prefix(220)) + "…" : text
    }
}
