import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// An acks=all produce waiting for its partitions' high watermarks (Kafka's `DelayedProduce`): each appended batch
/// is acknowledged once the high watermark — the smallest log end of the ISR — has passed it, so every in-sync
/// replica holds it. A partition whose leadership moved meanwhile answers NOT_LEADER_OR_FOLLOWER, one still waiting
/// when the request's `timeoutMs` runs out REQUEST_TIMED_OUT, one passed while the ISR is below
/// `min.insync.replicas` NOT_ENOUGH_REPLICAS_AFTER_APPEND (Kafka's `checkEnoughReplicasReachOffset`). A partition with no follower in its ISR is passed at
/// once (its leader's append moved the high watermark), so a single replica never waits here.
final class DelayedProduce: Sendable {
    /// One appended batch: its place in the response, its replica, the leader epoch it was appended in, and the
    /// offset the high watermark must reach (its last offset + 1).
    struct Wait: Sendable {
        var topic: Int
        var partition: Int
        var replica: PartitionReplica
        var leaderEpoch: LeaderEpoch
        var requiredOffset: Int64
    }

    private struct State {
        var response: ProduceResponse
        var remaining: Set<Int>
        var waiterIDs: [Int: UInt64] = [:]
        var done = false
    }

    private let waits: [Wait]
    private let promise: EventLoopPromise<ProduceResponse>
    private let state: NIOLockedValueBox<State>

    private init(waits: [Wait], response: ProduceResponse, promise: EventLoopPromise<ProduceResponse>) {
        self.waits = waits
        self.promise = promise
        state = NIOLockedValueBox(State(response: response, remaining: Set(waits.indices)))
    }

    /// `response` once every wait in `waits` is over (at once when none has to wait).
    static func complete(
        _ response: ProduceResponse, after waits: [Wait], timeoutMs: Int32, on eventLoop: any EventLoop
    ) -> EventLoopFuture<ProduceResponse> {
        let pending = waits.filter {
            !($0.replica.highWatermark >= $0.requiredOffset && $0.replica.isLeader && !$0.replica.isUnderMinISR)
        }
        guard !pending.isEmpty else { return eventLoop.makeSucceededFuture(response) }
        let delayed = DelayedProduce(waits: pending, response: response, promise: eventLoop.makePromise())
        let timeout = eventLoop.scheduleTask(in: .milliseconds(Int64(max(timeoutMs, 0)))) {
            delayed.expire()
        }
        delayed.promise.futureResult.whenComplete { _ in timeout.cancel() }
        for index in pending.indices { delayed.check(index) }
        return delayed.promise.futureResult
    }

    /// Registers for the next wake-up of the partition first, then looks: an advance between the two is not lost.
    /// A wake-up after this partition's outcome is settled (a race with another wake-up, or the timeout) registers
    /// nothing that stays: the waiter is taken back, so no closure outlives the produce.
    private func check(_ index: Int) {
        guard state.withLockedValue({ !$0.done && $0.remaining.contains(index) }) else { return }
        let wait = waits[index]
        let waiter = wait.replica.addWaiter { [self] in check(index) }
        let outcome: ErrorCode?
        if !wait.replica.isLeader || wait.replica.leaderEpoch != wait.leaderEpoch {
            outcome = .notLeaderOrFollower
        } else if wait.replica.highWatermark >= wait.requiredOffset {
            outcome = wait.replica.isUnderMinISR ? .notEnoughReplicasAfterAppend : ErrorCode.none
        } else {
            outcome = nil
        }
        let (finished, keepsWaiter) = state.withLockedValue { state -> (Bool, Bool) in
            guard !state.done, state.remaining.contains(index) else { return (false, false) }
            guard let outcome else {
                state.waiterIDs[index] = waiter
                return (false, true)
            }
            state.remaining.remove(index)
            state.waiterIDs[index] = nil
            if outcome != .none { fail(&state.response, wait, outcome) }
            if state.remaining.isEmpty { state.done = true }
            return (state.remaining.isEmpty, false)
        }
        if !keepsWaiter { wait.replica.removeWaiter(waiter) }
        if finished { promise.succeed(state.withLockedValue { $0.response }) }
    }

    private func expire() {
        let (response, waiters) = state.withLockedValue { state -> (ProduceResponse?, [(PartitionReplica, UInt64)]) in
            guard !state.done else { return (nil, []) }
            state.done = true
            for index in state.remaining { fail(&state.response, waits[index], .requestTimedOut) }
            let waiters = state.waiterIDs.map { (waits[$0.key].replica, $0.value) }
            state.waiterIDs = [:]
            return (state.response, waiters)
        }
        for (replica, id) in waiters { replica.removeWaiter(id) }
        if let response { promise.succeed(response) }
    }

    private func fail(_ response: inout ProduceResponse, _ wait: Wait, _ error: ErrorCode) {
        response.responses[wait.topic].partitionResponses[wait.partition].errorCode = error.rawValue
        response.responses[wait.topic].partitionResponses[wait.partition].errorMessage =
            switch error {
            case .requestTimedOut: "The in-sync replicas did not all acknowledge the records in time"
            case .notEnoughReplicasAfterAppend:
                "The records were written but the ISR is now below min.insync.replicas"
            default: "The leader changed"
            }
    }
}
