import KafkaProtocol

/// What a broker's lifecycle with the active controller is at, and what it sends next (Kafka's
/// `BrokerLifecycleManager`, as a pure value: the caller supplies the time and carries out the requests).
///
/// Phases and their edges:
/// - unregistered → registered: a BrokerRegistration answered without error (the broker epoch it returned);
/// - registered → unregistered: a heartbeat answered STALE_BROKER_EPOCH or BROKER_ID_NOT_REGISTERED (the
///   controller lost or replaced this incarnation: register again);
/// - registered → shutDown: a heartbeat answered shouldShutDown (after asking for a controlled shutdown).
///
/// A registered broker heartbeats every `heartbeatIntervalMs`; while fenced or in controlled shutdown it
/// heartbeats every `fastIntervalMs`, so it is unfenced as soon as it has caught up and stops as soon as the
/// controller lets it. A request that failed (no leader known, no answer, NOT_CONTROLLER) is retried after
/// `retryBackoffMs`.
struct BrokerLifecycleState: Sendable, Equatable {
    enum Phase: Sendable, Equatable {
        case unregistered
        case registered(brokerEpoch: Int64)
        case shutDown
    }

    /// What to send now.
    enum Action: Sendable, Equatable {
        case register
        case heartbeat(brokerEpoch: Int64, wantShutDown: Bool)
    }

    private(set) var phase = Phase.unregistered
    /// As the controller last answered: fenced until a heartbeat says otherwise.
    private(set) var isFenced = true
    /// The broker asked for a controlled shutdown (`beginControlledShutdown`).
    private(set) var wantsShutDown = false
    /// The last error the controller answered, for the log (nil after a success).
    private(set) var lastError: ErrorCode?
    private var nextContactMs: Int64 = .min
    let heartbeatIntervalMs: Int64
    let retryBackoffMs: Int64

    var fastIntervalMs: Int64 { min(heartbeatIntervalMs, 100) }

    /// The epoch of this broker's registration, nil while unregistered.
    var brokerEpoch: Int64? {
        if case .registered(let epoch) = phase { return epoch }
        return nil
    }

    init(heartbeatIntervalMs: Int64, retryBackoffMs: Int64 = 100) {
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.retryBackoffMs = retryBackoffMs
    }

    /// Registered and not fenced: the broker may serve.
    var isUnfenced: Bool {
        if case .registered = phase { return !isFenced }
        return false
    }

    /// The request due at `now`, if any (the caller sends it, then reports the answer).
    func due(now: Int64) -> Action? {
        guard now >= nextContactMs else { return nil }
        switch phase {
        case .unregistered: return .register
        case .registered(let epoch): return .heartbeat(brokerEpoch: epoch, wantShutDown: wantsShutDown)
        case .shutDown: return nil
        }
    }

    /// From now on heartbeats ask to shut down; the next one leaves at once.
    mutating func beginControlledShutdown() {
        wantsShutDown = true
        nextContactMs = .min
    }

    /// The answer to a registration (nil: it could not be sent or was not answered).
    mutating func registrationAnswered(_ response: BrokerRegistrationResponse?, now: Int64) {
        guard case .unregistered = phase else { return }
        guard let response else { return retry(now: now, error: nil) }
        let error = ErrorCode(rawValue: response.errorCode)
        guard error == .none else { return retry(now: now, error: error) }
        phase = .registered(brokerEpoch: response.brokerEpoch)
        isFenced = true
        lastError = nil
        // The first heartbeat leaves at once, as Kafka's does.
        nextContactMs = now
    }

    /// The answer to a heartbeat (nil: it could not be sent or was not answered).
    mutating func heartbeatAnswered(_ response: BrokerHeartbeatResponse?, now: Int64) {
        guard case .registered = phase else { return }
        guard let response else { return retry(now: now, error: nil) }
        let error = ErrorCode(rawValue: response.errorCode)
        switch error {
        case .none:
            lastError = nil
            isFenced = response.isFenced
            if response.shouldShutDown {
                phase = .shutDown
                return
            }
            nextContactMs = now + (isFenced || wantsShutDown ? fastIntervalMs : heartbeatIntervalMs)
        case .staleBrokerEpoch, .brokerIDNotRegistered:
            phase = .unregistered
            isFenced = true
            retry(now: now, error: error)
        default:
            retry(now: now, error: error)
        }
    }

    private mutating func retry(now: Int64, error: ErrorCode?) {
        lastError = error
        nextContactMs = now + retryBackoffMs
    }
}
