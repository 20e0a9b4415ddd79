import FjordController
import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle

/// A controller's registration with the active controller (KIP-919, Kafka's `ControllerRegistrationManager`): once
/// this node's image has caught up with the metadata log (and, on a new cluster, the active controller has written
/// the bootstrap metadata.version: `MetadataVersionBootstrap`, run here while this node leads a log without one),
/// it sends ControllerRegistration (controller id, the
/// incarnation id random per process start, zkMigrationReady false, its controller listeners with the bound ports,
/// the features it supports) to the quorum's leader over the controller connection; the leader commits a
/// `RegisterControllerRecord` before it answers. After a leader change, or whenever the image stops holding this
/// incarnation with these listeners, it registers again (`ControllerRegistrationState` decides when).
///
/// `run()` polls every 20 ms and sends at most one request at a time; it ends when cancelled. The state is one
/// value behind one lock (a leaf), never held across a request.
final class ControllerRegistrationManager: Service, Sendable {
    /// The registration this incarnation sends.
    let request: ControllerRegistrationRequest
    private let driver: RaftDriver
    private let peers: ControllerPeers
    private let publisher: MetadataPublisher
    private let requestTimeout: TimeAmount
    private let logger: Logger
    private let bootstrap: MetadataVersionBootstrap?
    private let state: NIOLockedValueBox<ControllerRegistrationState>
    private let pollInterval: Duration = .milliseconds(20)

    init(
        request: ControllerRegistrationRequest, driver: RaftDriver, peers: ControllerPeers,
        publisher: MetadataPublisher, requestTimeout: TimeAmount, logger: Logger,
        bootstrap: MetadataVersionBootstrap? = nil, state: ControllerRegistrationState = ControllerRegistrationState()
    ) {
        self.bootstrap = bootstrap
        self.request = request
        self.driver = driver
        self.peers = peers
        self.publisher = publisher
        self.requestTimeout = requestTimeout
        self.logger = logger
        self.state = NIOLockedValueBox(state)
    }

    var current: ControllerRegistrationState { state.withLockedValue { $0 } }

    func run() async throws {
        var announced = false
        while !Task.isCancelled {
            let image = publisher.image
            let status = driver.status
            if let bootstrap, status.isLeader, status.isCaughtUp,
                image.finalizedFeatures[MetadataVersion.featureName] == nil
            {
                await bootstrap.writeIfMissing()
                continue
            }
            let registration = ControllerRegistrationState.registration(of: request, in: image)
            if registration == .current, !announced {
                logger.info("this controller's registration is in the metadata log")
            }
            announced = registration == .current
            let now = BrokerSessions.nowMs()
            if current.isDue(
                now: now, caughtUp: status.isCaughtUp, versionSupportsIt: image.supportsControllerRegistration,
                registration: registration)
            {
                state.withLockedValue { $0.sent() }
                let error = await send()
                state.withLockedValue { $0.answered(error, now: BrokerSessions.nowMs()) }
                continue
            }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                return
            }
        }
    }

    /// Sends the registration to the active controller; its error code, or nil when none was reached.
    private func send() async -> ErrorCode? {
        guard let leader = driver.status.role.leaderID else { return nil }
        // Over the network even when this node leads (as Kafka's channel manager does): the controller listener's
        // handler runs the command on its thread pool, where blocking on the commit is allowed.
        guard peers.knows(leader) else { return nil }
        let response: ControllerRegistrationResponse
        do {
            response = try await peers.forward(
                request, version: 0, to: leader, timeout: requestTimeout, purpose: .lifecycle
            ).get()
        } catch {
            logger.debug("controller registration failed", metadata: ["to": "\(leader)", "error": "\(error)"])
            return nil
        }
        let error = ErrorCode(rawValue: response.errorCode)
        if error == .none {
            logger.info(
                "registered with the active controller",
                metadata: ["controller": "\(leader)", "incarnation": "\(request.incarnationID)"])
        } else {
            logger.warning(
                "the active controller refused this controller's registration",
                metadata: ["error": "\(error)", "reason": "\(response.errorMessage ?? "")"])
        }
        return error
    }
}
