import KafkaProtocol

/// The liveness invariant (`livenessWhenHealthy`): once every replica has been up and registered, the network
/// calm and uncut and no follower slow for `settleMs` (time to fence, elect, catch up and rejoin the ISR), every
/// acks=all produce is accepted and acknowledged within `boundMs`. Any fault starts the wait over.
struct LivenessMonitor {
    let settleMs: Int64
    let boundMs: Int64
    private(set) var healthySince: Int64?
    private var waiting: [UInt64: Int64] = [:]
    private var stopped = false
    /// How many produces were required to succeed, and did (a run that never checks proves nothing).
    private(set) var progressChecks = 0
    private(set) var longestWaitMs: Int64 = 0

    init(settleMs: Int64, boundMs: Int64) {
        self.settleMs = settleMs
        self.boundMs = boundMs
    }

    mutating func update(healthy: Bool, now: Int64) {
        if healthy {
            if healthySince == nil { healthySince = now }
        } else {
            healthySince = nil
            waiting = [:]
        }
    }

    /// Producing ended: nothing more is required.
    mutating func stop() {
        stopped = true
        waiting = [:]
    }

    func isSettled(now: Int64) -> Bool {
        guard !stopped, let healthySince else { return false }
        return now - healthySince >= settleMs
    }

    mutating func issued(_ id: UInt64, now: Int64) {
        if isSettled(now: now) { waiting[id] = now }
    }

    mutating func refused(acksAll: Bool, _ reason: @autoclosure () -> String, now: Int64) throws(InvariantViolation) {
        guard acksAll, isSettled(now: now) else { return }
        throw InvariantViolation(
            "livenessWhenHealthy",
            "healthy since \(healthySince!) ms, yet a produce at \(now) ms was refused: \(reason())")
    }

    mutating func completed(_ id: UInt64, _ error: ErrorCode, now: Int64) throws(InvariantViolation) {
        guard let issuedAt = waiting.removeValue(forKey: id) else { return }
        guard error == .none else {
            throw InvariantViolation(
                "livenessWhenHealthy",
                "healthy since \(healthySince!) ms, yet the produce of \(issuedAt) ms failed with \(error)")
        }
        progressChecks += 1
        longestWaitMs = max(longestWaitMs, now - issuedAt)
    }

    func check(now: Int64) throws(InvariantViolation) {
        guard let (id, issuedAt) = waiting.min(by: { $0.value < $1.value }), now - issuedAt > boundMs else { return }
        throw InvariantViolation(
            "livenessWhenHealthy",
            "healthy since \(healthySince!) ms, yet produce \(id) of \(issuedAt) ms is not acknowledged at \(now) ms")
    }
}
