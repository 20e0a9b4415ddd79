import FjordController
import KafkaProtocol

/// Whether this controller must (re)register with the active controller, and when (Kafka's
/// `ControllerRegistrationManager`, KIP-919, as a pure value: the caller supplies the time and what the image
/// shows, carries out the request and reports its answer).
///
/// A controller registers once its metadata image has caught up with the log and the finalized metadata.version
/// supports controller registration (3.7-IV0), and again whenever the image stops holding a registration of this
/// incarnation with these listeners — none (a log that lost an uncommitted one after a leader change), another
/// incarnation's, or stale listeners. One request at a time. An acknowledged registration is committed, so the
/// image shows it shortly; if it still does not after `imageWaitMs`, it is sent again. A request that reached no
/// active controller (no leader known, no answer, NOT_CONTROLLER) is retried after `retryBackoffMs`; any other
/// refusal after an exponential backoff from `retryBackoffMs` doubling up to `maximumBackoffMs` (Kafka: 100 ms
/// doubling to 120 s).
struct ControllerRegistrationState: Sendable, Equatable {
    /// What the image says of this controller.
    enum Registration: Sendable, Equatable {
        /// The image holds this incarnation with the listeners this controller registers.
        case current
        /// Not registered, or as another incarnation or with other listeners.
        case missingOrStale
    }

    let retryBackoffMs: Int64
    let maximumBackoffMs: Int64
    let imageWaitMs: Int64
    /// A request is out (`sent`), its answer not reported yet.
    private(set) var isPending = false
    /// Refusals in a row, for the backoff (cleared by an acknowledgement).
    private(set) var failures = 0
    /// Acknowledged registrations, for the log and tests.
    private(set) var acknowledged = 0
    /// The last error the active controller answered (nil after an acknowledgement).
    private(set) var lastError: ErrorCode?
    private var nextAttemptMs: Int64 = .min

    init(retryBackoffMs: Int64 = 100, maximumBackoffMs: Int64 = 120_000, imageWaitMs: Int64 = 5_000) {
        self.retryBackoffMs = retryBackoffMs
        self.maximumBackoffMs = maximumBackoffMs
        self.imageWaitMs = imageWaitMs
    }

    /// Whether a registration should leave now.
    /// Whether a registration should leave now. `versionSupportsIt`: the finalized metadata.version supports
    /// controller registration (`MetadataImage.supportsControllerRegistration`).
    func isDue(now: Int64, caughtUp: Bool, versionSupportsIt: Bool, registration: Registration) -> Bool {
        caughtUp && versionSupportsIt && registration == .missingOrStale && !isPending && now >= nextAttemptMs
    }

    /// A registration left.
    mutating func sent() {
        isPending = true
    }

    /// The answer: nil when no active controller was reached or none answered.
    mutating func answered(_ error: ErrorCode?, now: Int64) {
        isPending = false
        switch error {
        case .some(ErrorCode.none):
            acknowledged += 1
            failures = 0
            lastError = nil
            nextAttemptMs = now + imageWaitMs
        case nil, .some(ErrorCode.notController):
            lastError = error
            nextAttemptMs = now + retryBackoffMs
        case .some(let refusal):
            lastError = refusal
            let exponent = min(failures, 30)
            nextAttemptMs = now + min(maximumBackoffMs, retryBackoffMs << Int64(exponent))
            failures += 1
        }
    }

    /// What `image` says of `request`'s controller.
    static func registration(of request: ControllerRegistrationRequest, in image: MetadataImage) -> Registration {
        guard let registered = image.controllerRegistrations[request.controllerID],
            registered.incarnationID == request.incarnationID
        else { return .missingOrStale }
        let wanted = request.listeners.map {
            BrokerRegistration.Endpoint(
                name: $0.name, host: $0.host, port: Int32($0.port), securityProtocol: $0.securityProtocol)
        }
        return registered.endpoints == wanted ? .current : .missingOrStale
    }
}
