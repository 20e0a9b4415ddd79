import FjordController
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// The active controller's broker sessions: the one `BrokerHeartbeatTracker` of this node, handed to
/// `ClusterControl` by the BrokerRegistration and BrokerHeartbeat handlers and by the session-expiry timer.
///
/// The tracker is soft state (never replayed): when this node starts leading a new quorum epoch it is activated
/// afresh (`BrokerHeartbeatTracker.activate`), so every registered broker gets a whole session from that moment,
/// as Kafka does after a failover. Its lock is a leaf taken inside a metadata command (under `MetadataService`'s
/// command lock), held for the pure computation only.
final class BrokerSessions: Sendable {
    private struct State {
        var tracker: BrokerHeartbeatTracker
        /// The quorum epoch the tracker was activated for (nil: never active).
        var activeEpoch: Int32?
    }

    private let state: NIOLockedValueBox<State>
    /// `unclean.leader.election.enable` of this node's configuration: the elections that follow a broker's change
    /// of state may be unclean for topics that do not say otherwise.
    private let uncleanLeaderElectionDefault: Bool

    /// `sessionTimeoutMs`: Kafka's `broker.session.timeout.ms`.
    init(sessionTimeoutMs: Int64, uncleanLeaderElectionDefault: Bool = false) {
        state = NIOLockedValueBox(State(tracker: BrokerHeartbeatTracker(sessionTimeoutMs: sessionTimeoutMs)))
        self.uncleanLeaderElectionDefault = uncleanLeaderElectionDefault
    }

    private func control(_ image: MetadataImage) -> ClusterControl {
        ClusterControl(image: image, uncleanLeaderElectionDefault: uncleanLeaderElectionDefault)
    }

    /// Monotonic milliseconds: the clock the tracker's sessions are measured on.
    static func nowMs() -> Int64 { Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) }

    /// Runs `body` with the tracker, first activating it on `image` if this node leads a newer epoch than the one
    /// it was last activated for.
    func withTracker<T>(
        image: MetadataImage, epoch: Int32, now: Int64, _ body: (inout BrokerHeartbeatTracker) -> T
    ) -> T {
        state.withLockedValue { state in
            if state.activeEpoch != epoch {
                state.tracker.activate(image: image, now: now)
                state.activeEpoch = epoch
            }
            return body(&state.tracker)
        }
    }

    /// BrokerRegistration as a metadata command: the records and the wire answer.
    func register(
        _ request: BrokerRegistrationRequest, image: MetadataImage, epoch: Int32, nextOffset: Int64
    ) -> ControllerResult<ClusterControl.RegistrationReply> {
        let now = Self.nowMs()
        return withTracker(image: image, epoch: epoch, now: now) { tracker in
            control(image).registerBroker(request, nextOffset: nextOffset, tracker: &tracker, now: now)
        }
    }

    /// BrokerHeartbeat as a metadata command.
    func heartbeat(
        _ request: BrokerHeartbeatRequest, image: MetadataImage, epoch: Int32, nextOffset: Int64
    ) -> ControllerResult<ClusterControl.HeartbeatReply> {
        let now = Self.nowMs()
        return withTracker(image: image, epoch: epoch, now: now) { tracker in
            control(image).heartbeat(request, nextOffset: nextOffset, tracker: &tracker, now: now)
        }
    }

    /// A heartbeat's arrival, noted on the event loop before the heartbeat waits for the command lock: a broker of
    /// the registered epoch counts as alive from now (`BrokerHeartbeatTracker.noteContact`).
    func noteArrival(of request: BrokerHeartbeatRequest, image: MetadataImage, epoch: Int32) {
        guard image.brokerRegistrations[request.brokerID]?.epoch == request.brokerEpoch else { return }
        let now = Self.nowMs()
        withTracker(image: image, epoch: epoch, now: now) { tracker in
            tracker.noteContact(request.brokerID, image: image, now: now)
        }
    }

    /// Whether a broker's session has expired: checked before taking the command lock for `fenceExpired`.
    func hasExpired(image: MetadataImage, epoch: Int32) -> Bool {
        let now = Self.nowMs()
        return withTracker(image: image, epoch: epoch, now: now) { tracker in
            !tracker.expiredBrokers(image: image, now: now).isEmpty
        }
    }

    /// Session expiry as a metadata command: fences every broker whose session ran out; the answer lists them.
    func fenceExpired(image: MetadataImage, epoch: Int32) -> ControllerResult<[NodeID]> {
        let now = Self.nowMs()
        return withTracker(image: image, epoch: epoch, now: now) { tracker in
            control(image).fenceExpiredBrokers(tracker: &tracker, now: now)
        }
    }
}
