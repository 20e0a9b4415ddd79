import FjordRaft
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The one owner of this node's `RaftNode` (STYLE §10): a `Service` that feeds the core ticks from the monotonic
/// clock, the messages peers sent and answered, and the fsyncs it did, and carries the core's outputs out IN ORDER
/// (`RaftDriver+Outputs.swift`): `quorum-state` written and fsynced before anything after it is done (so a vote
/// or a new epoch is durable before the grant or the requests that depend on it leave), log appends, truncations
/// and snapshots on disk (`RaftLogStore`), sends, and committed batches applied to the metadata image.
///
/// Threads: events are queued from any thread (`enqueue`); `run()` waits for work or the next tick and runs each
/// round on the driver's own one-thread pool (`diskThread`), where the blocking writes and fsyncs happen — never on
/// an event loop, and never on the shared I/O pool, whose threads block in `MetadataService.execute` waiting for a
/// commit that this driver must be free to make. `state` is taken only by a round, one round at a time.
final class RaftDriver: Service, Sendable {
    struct Configuration: Sendable {
        var raft: RaftConfiguration
        /// How often time moves for the core (its timers are at least this coarse).
        var tickInterval: TimeAmount = .milliseconds(10)
        /// Take a snapshot once this many bytes of records were committed since the last one. Kafka:
        /// `metadata.log.max.record.bytes.between.snapshots`, default 20 MiB.
        var snapshotMaxNewRecordBytes: Int64 = 20 << 20
        /// How long an inbound request may wait for the core's answer before it is answered REQUEST_TIMED_OUT.
        var inboundAnswerTimeoutMs: Int64 = 5000
        /// Stop on graceful shutdown as well as on cancellation. A node whose broker side makes a controlled
        /// shutdown sets it false and cancels the driver after the broker has stopped: the broker's last heartbeats
        /// may need this node's quorum (Kafka too stops the broker before the controller).
        var stopsOnGracefulShutdown = true
    }

    private struct Inbox {
        var events: [RaftEvent] = []
        var waiter: CheckedContinuation<Void, Never>?
        var woken = false
        var stopping = false
    }

    let configuration: Configuration
    let store: RaftLogStore
    let peers: ControllerPeers
    let stateMachine: any RaftStateMachine
    let logger: Logger
    let state: NIOLockedValueBox<RaftDriverState>
    private let inbox = NIOLockedValueBox(Inbox())
    private let statusBox: NIOLockedValueBox<RaftStatus>
    private let diskThread: NIOThreadPool

    /// Loads what was fsynced (`RaftLogStore.load`), rebuilds the state machine from the latest snapshot and
    /// starts the core. Blocking: call before the listeners open.
    init(
        configuration: Configuration, store: RaftLogStore, peers: ControllerPeers, stateMachine: any RaftStateMachine,
        logger: Logger
    ) throws {
        self.configuration = configuration
        self.store = store
        self.peers = peers
        self.stateMachine = stateMachine
        self.logger = logger
        let persisted = try store.load()
        if let snapshot = persisted.snapshot {
            let checkpoint = try store.records(of: snapshot)
            try stateMachine.replace(withSnapshot: checkpoint.records, endOffset: snapshot.id.offset)
        }
        let node = RaftNode(
            configuration: configuration.raft, persisted: persisted, randomSeed: UInt64.random(in: 0...UInt64.max),
            now: Self.monotonicMilliseconds())
        state = NIOLockedValueBox(RaftDriverState(node: node, persisted: persisted))
        statusBox = NIOLockedValueBox(
            RaftStatus(
                role: node.role, highWatermark: node.highWatermark, committedEndOffset: node.committedEndOffset,
                isCaughtUp: false))
        diskThread = NIOThreadPool(numberOfThreads: 1)
        logger.info(
            "metadata quorum loaded",
            metadata: [
                "snapshot": "\(persisted.snapshot?.id.description ?? "none")", "batches": "\(persisted.log.count)",
                "epoch": "\(persisted.quorumState?.leaderEpoch ?? 0)", "voters": "\(node.voters)",
            ])
    }

    /// The quorum as of the driver's last round.
    var status: RaftStatus { statusBox.withLockedValue { $0 } }

    /// Microseconds of the monotonic clock, for the commit latency.
    static func monotonicMicroseconds() -> Int64 {
        Int64(NIODeadline.now().uptimeNanoseconds / 1_000)
    }

    /// Milliseconds of the monotonic clock: the only time the core sees.
    static func monotonicMilliseconds() -> Int64 {
        Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }

    // MARK: Intake (any thread)

    /// Queues an event for the next round and wakes the driver.
    func enqueue(_ event: RaftEvent) {
        let (waiter, accepted) = inbox.withLockedValue { inbox -> (CheckedContinuation<Void, Never>?, Bool) in
            guard !inbox.stopping else { return (nil, false) }
            inbox.events.append(event)
            defer { inbox.waiter = nil }
            return (inbox.waiter, true)
        }
        guard accepted else {
            Self.refuse(event)
            return
        }
        waiter?.resume()
    }

    /// Answers an event that arrives after the driver stopped.
    private static func refuse(_ event: RaftEvent) {
        switch event {
        case .response, .requestFailed: break
        case .request(_, _, let reply): reply.succeed(nil)
        case .propose(_, let reply): reply.fail(RaftDriverError(.stopped, "the metadata quorum stopped"))
        case .describe(let reply): reply.fail(RaftDriverError(.stopped, "the metadata quorum stopped"))
        }
    }

    private func wake() {
        let waiter = inbox.withLockedValue { inbox -> CheckedContinuation<Void, Never>? in
            inbox.woken = true
            defer { inbox.waiter = nil }
            return inbox.waiter
        }
        waiter?.resume()
    }

    /// Waits until events are queued or a tick is due; returns them (empty on a tick), or nil once stopping.
    private func nextEvents() async -> [RaftEvent]? {
        while true {
            let taken = inbox.withLockedValue { inbox -> [RaftEvent]?? in
                if inbox.stopping { return .some(nil) }
                if !inbox.events.isEmpty || inbox.woken {
                    inbox.woken = false
                    defer { inbox.events = [] }
                    return .some(inbox.events)
                }
                return .none
            }
            if let taken { return taken }
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = inbox.withLockedValue { inbox -> Bool in
                    if inbox.stopping || !inbox.events.isEmpty || inbox.woken { return true }
                    inbox.waiter = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    // MARK: Running

    func run() async throws {
        diskThread.start()
        defer { peers.close() }
        do {
            if configuration.stopsOnGracefulShutdown {
                try await withTaskCancellationOrGracefulShutdownHandler {
                    try await runRounds()
                } onCancelOrGracefulShutdown: {
                    self.stop()
                }
            } else {
                try await withTaskCancellationHandler {
                    try await runRounds()
                } onCancel: {
                    self.stop()
                }
            }
        } catch {
            stop()
            failEverything("the metadata quorum stopped: \(error)")
            try? await diskThread.shutdownGracefully()
            throw error
        }
        failEverything("the metadata quorum stopped")
        try? await diskThread.shutdownGracefully()
        logger.info("metadata quorum stopped")
    }

    private func runRounds() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await self.tickUntilStopped() }
            tasks.addTask { try await self.loop() }
            try await tasks.next()
            tasks.cancelAll()
            while (try? await tasks.next()) != nil {}
        }
    }

    private func tickUntilStopped() async {
        while !Task.isCancelled {
            try? await Task.sleep(nanoseconds: UInt64(configuration.tickInterval.nanoseconds))
            if inbox.withLockedValue({ $0.stopping }) { return }
            wake()
        }
    }

    /// Runs rounds until shutdown; then a leader resigns (its EndQuorumEpoch tells the others to elect at once
    /// instead of waiting out the fetch timeout) and the requests get a moment to leave.
    private func loop() async throws {
        while let events = await nextEvents() {
            try await diskThread.runIfActive { try self.round(events) }
        }
        if (try? await diskThread.runIfActive { try self.resign() }) == true {
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    private func stop() {
        let waiter = inbox.withLockedValue { inbox -> CheckedContinuation<Void, Never>? in
            inbox.stopping = true
            defer { inbox.waiter = nil }
            return inbox.waiter
        }
        waiter?.resume()
    }

    /// Fails the proposals and inbound requests still waiting, and whatever is still queued.
    private func failEverything(_ reason: String) {
        let queued = inbox.withLockedValue { inbox -> [RaftEvent] in
            inbox.stopping = true
            defer { inbox.events = [] }
            return inbox.events
        }
        for event in queued { Self.refuse(event) }
        state.withLockedValue { state in
            for proposal in state.proposals.values { proposal.reply.fail(RaftDriverError(.stopped, reason)) }
            state.proposals = [:]
            for entry in state.inbound.values { entry.reply.succeed(nil) }
            state.inbound = [:]
        }
    }

    // MARK: Rounds (the disk thread, one at a time)

    /// One round: time moves, then each queued event is fed to the core and its outputs carried out.
    private func round(_ events: [RaftEvent]) throws {
        try state.withLockedValue { state in
            let now = Self.monotonicMilliseconds()
            try feed(.tick(now: now), into: &state)
            state.expireInbound(now: now)
            for event in events {
                try handle(event, now: now, into: &state)
            }
            if !state.isCaughtUp, state.reachedStartupEnd {
                state.isCaughtUp = true
                try stateMachine.caughtUp()
                logger.info("metadata caught up", metadata: ["committed.end": "\(state.node.committedEndOffset)"])
            }
            statusBox.withLockedValue {
                $0 = RaftStatus(
                    role: state.node.role, highWatermark: state.node.highWatermark,
                    committedEndOffset: state.node.committedEndOffset, isCaughtUp: state.isCaughtUp,
                    commitLatency: state.commitLatency.stats(now: Self.monotonicMicroseconds()))
            }
        }
    }

    private func handle(_ event: RaftEvent, now: Int64, into state: inout RaftDriverState) throws {
        switch event {
        case .response(let message, let sender):
            try feed(.received(message, from: sender), into: &state)
        case .requestFailed(let node, let correlationID):
            try feed(.requestFailed(to: node, correlationID: correlationID), into: &state)
        case .request(let message, let sender, let reply):
            let admitted = state.admitInbound(
                message, reply: reply, deadline: now + configuration.inboundAnswerTimeoutMs)
            try feed(.received(admitted, from: sender), into: &state)
        case .propose(let records, let reply):
            try propose(records, reply: reply, now: now, into: &state)
        case .describe(let reply):
            reply.succeed(state.node.describeQuorum())
        }
    }

    /// Returns whether this node led and resigned.
    private func resign() throws -> Bool {
        try state.withLockedValue { state in
            guard state.node.role.name == .leader else { return false }
            logger.info("resigning the quorum's leadership (shutdown)")
            try feed(.resign, into: &state)
            return true
        }
    }

    private func propose(
        _ records: [ByteBuffer], reply: EventLoopPromise<Int64>, now: Int64, into state: inout RaftDriverState
    ) throws {
        switch state.node.propose(records, now: now) {
        case .accepted(_, let lastOffset, let epoch):
            state.proposals[lastOffset] = RaftDriverState.Proposal(epoch: epoch, lastOffset: lastOffset, reply: reply)
            // The batch's `.appendLog` comes out of the next step: take it now.
            try feed(.tick(now: now), into: &state)
        case .notLeader(let hint):
            reply.fail(
                RaftDriverError(
                    .notController, "not the active controller (leader: \(hint.map { "\($0)" } ?? "unknown"))"))
        case .notReady:
            reply.fail(RaftDriverError(.leaderNotReady, "the new leader's first batch has not committed yet"))
        case .invalid:
            reply.fail(RaftDriverError(.corrupt, "the records cannot be proposed (none, or larger than a fetch)"))
        }
    }
}
