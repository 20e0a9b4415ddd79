import FjordController
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// The broker side of cluster membership (KIP-631): registers this broker incarnation with the active controller
/// (BrokerRegistration over the controller connection), then heartbeats with its current metadata offset
/// (BrokerHeartbeat); it asks to stay fenced until its own image holds its registration, and on graceful shutdown
/// asks to shut down and waits until the controller has moved its leaderships (`controlledShutdown`).
///
/// `run()` sends what `BrokerLifecycleState` says is due; it ends when cancelled or once the controller allowed
/// the shutdown. The state is one value behind one lock (a leaf), never held across a request.
final class BrokerLifecycle: Service, Sendable {
    /// The registration this incarnation sends (its incarnation id is random per process start).
    let registration: BrokerRegistrationRequest
    private let driver: RaftDriver
    private let peers: ControllerPeers
    private let publisher: MetadataPublisher
    private let requestTimeout: TimeAmount
    private let logger: Logger
    private let state: NIOLockedValueBox<BrokerLifecycleState>
    /// How often `run()` checks whether a request is due.
    private let pollInterval: Duration = .milliseconds(20)

    init(
        registration: BrokerRegistrationRequest, heartbeatIntervalMs: Int64, driver: RaftDriver,
        peers: ControllerPeers, publisher: MetadataPublisher, requestTimeout: TimeAmount, logger: Logger
    ) {
        self.registration = registration
        self.driver = driver
        self.peers = peers
        self.publisher = publisher
        self.requestTimeout = requestTimeout
        self.logger = logger
        state = NIOLockedValueBox(BrokerLifecycleState(heartbeatIntervalMs: heartbeatIntervalMs))
    }

    var current: BrokerLifecycleState { state.withLockedValue { $0 } }

    func run() async throws {
        var lastError: ErrorCode?
        while !Task.isCancelled {
            let now = BrokerSessions.nowMs()
            let snapshot = current
            if snapshot.phase == .shutDown { return }
            if let action = snapshot.due(now: now) {
                await perform(action)
                let error = current.lastError
                if error != lastError, let error {
                    logger.warning("the controller refused this broker", metadata: ["error": "\(error)"])
                }
                lastError = error
                continue
            }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return
            }
        }
    }

    private func perform(_ action: BrokerLifecycleState.Action) async {
        switch action {
        case .register:
            let response = await send(registration, version: 4)
            let wasFenced = current.isUnfenced == false
            state.withLockedValue { $0.registrationAnswered(response, now: BrokerSessions.nowMs()) }
            if case .registered(let epoch) = current.phase, wasFenced {
                logger.info("registered with the controller", metadata: ["broker.epoch": "\(epoch)"])
            }
        case .heartbeat(let epoch, let wantShutDown):
            let image = publisher.image
            // Ask to stay fenced until this node's image holds its own registration: only then has it caught up.
            let caughtUp = image.brokerRegistrations[registration.brokerID]?.incarnationID == registration.incarnationID
            let request = BrokerHeartbeatRequest(
                brokerID: registration.brokerID, brokerEpoch: epoch, currentMetadataOffset: image.lastAppliedOffset,
                wantFence: !caughtUp, wantShutDown: wantShutDown)
            let response = await send(request, version: 1)
            let wasFenced = current.isFenced
            state.withLockedValue { $0.heartbeatAnswered(response, now: BrokerSessions.nowMs()) }
            let after = current
            if wasFenced != after.isFenced, case .registered = after.phase {
                logger.info(after.isFenced ? "fenced by the controller" : "unfenced by the controller")
            }
        }
    }

    /// Sends `request` to the active controller on the lifecycle connection; nil when no leader is known or no
    /// answer came.
    private func send<Request: KafkaRequest>(_ request: Request, version: Int16) async -> Request.Response? {
        guard let leader = driver.status.role.leaderID, peers.knows(leader) else { return nil }
        do {
            return try await peers.forward(
                request, version: version, to: leader, timeout: requestTimeout, purpose: .lifecycle
            ).get()
        } catch {
            logger.debug("lifecycle request failed", metadata: ["to": "\(leader)", "error": "\(error)"])
            return nil
        }
    }

    /// Whether this node's own image holds this incarnation's registration, unfenced: its Metadata answers then
    /// list it (a client told this node is the controller must find it among the brokers).
    private var imageShowsUnfenced: Bool {
        guard let own = publisher.image.brokerRegistrations[registration.brokerID] else { return false }
        return own.incarnationID == registration.incarnationID && !own.isFenced
    }

    /// Waits until the controller has unfenced this broker and this node's image shows it; false if cancelled or
    /// shut down first.
    func waitUntilUnfenced() async -> Bool {
        var polls = 0
        while !(current.isUnfenced && imageShowsUnfenced) {
            if Task.isCancelled || Task.isShuttingDownGracefully { return false }
            if polls % 250 == 0 {
                logger.info("waiting to be unfenced by the controller", metadata: ["phase": "\(current.phase)"])
            }
            polls += 1
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return false
            }
        }
        return true
    }

    /// Controlled shutdown: asks the controller to move this broker's leaderships and waits until it answers
    /// shouldShutDown, at most `timeout`. True when the controller allowed it; a broker not registered (or
    /// fenced) has nothing to move and returns at once.
    @discardableResult
    func controlledShutdown(timeout: Duration) async -> Bool {
        guard current.isUnfenced else { return true }
        state.withLockedValue { $0.beginControlledShutdown() }
        logger.info("controlled shutdown: waiting for the controller to move this broker's leaderships")
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if current.phase == .shutDown {
                logger.info("controlled shutdown: the controller allowed it")
                return true
            }
            if Task.isCancelled { return false }
            try? await Task.sleep(for: pollInterval)
        }
        logger.error("timed out waiting for the controller to approve controlled shutdown")
        return false
    }
}
