import FjordRaft
import KafkaProtocol

/// The liveness invariant (`livenessUnderHealthyMajority`): whenever a majority of voters is up, every pair of them
/// connected both ways and the network calm (no loss), a proposal made from then on is committed within
/// `boundMs` (which includes electing a leader), and again within every `boundMs` after that for as long as the
/// condition lasts. A change of the healthy majority (a node crashes, restarts, a link is cut) starts the wait over.
struct LivenessMonitor {
    let boundMs: Int64
    /// The voters that currently form a healthy majority, nil when there is none.
    private(set) var healthyMajority: [NodeID]?
    /// Progress is due by `anchor + boundMs`: the start of the window or the last progress in it.
    private(set) var anchor: Int64 = 0
    private var proposalTimes: [UInt64: Int64] = [:]
    /// How many times progress was required and made (a run that never checks proves nothing).
    private(set) var progressChecks = 0
    /// The longest wait for progress seen (how close runs come to the bound).
    private(set) var longestWaitMs: Int64 = 0

    init(boundMs: Int64) {
        self.boundMs = boundMs
    }

    mutating func update(healthyMajority majority: [NodeID]?, now: Int64) {
        guard majority != healthyMajority else { return }
        healthyMajority = majority
        anchor = now
    }

    mutating func proposed(_ sequence: UInt64, at time: Int64) { proposalTimes[sequence] = time }

    /// A proposal made inside the window committed: the next one is due within the bound from now.
    mutating func committed(_ entry: LogEntry, now: Int64) {
        guard case .data(let bytes) = entry.record, let payload = ClientPayload(bytes),
            let proposedAt = proposalTimes.removeValue(forKey: payload.sequence)
        else { return }
        if healthyMajority != nil, proposedAt >= anchor {
            longestWaitMs = max(longestWaitMs, now - anchor)
            anchor = now
            progressChecks += 1
        }
    }

    /// `describe` says what the healthy voters are doing, for the failure message.
    func check(now: Int64, describe: () -> String) throws(InvariantViolation) {
        guard let healthyMajority, now - anchor > boundMs else { return }
        throw InvariantViolation(
            "livenessUnderHealthyMajority",
            "voters \(healthyMajority) have been up, connected and on a calm network since \(anchor) ms, but no "
                + "proposal made since then committed within \(boundMs) ms (now \(now) ms): \(describe())")
    }
}
