import KafkaProtocol

/// acks=all completion (Kafka's `DelayedProduce` with `checkEnoughReplicasReachOffset`).
extension PartitionLeader {
    /// Answers the waiting produces the high watermark has passed: NONE, or NOT_ENOUGH_REPLICAS_AFTER_APPEND when
    /// the maximal ISR is below min.insync.replicas by then.
    mutating func completeProduces(now: Int64, into outputs: inout [LeaderOutput]) {
        let done = waitingProduces.prefix { $0.requiredOffset <= highWatermark }
        guard !done.isEmpty else { return }
        let error: ErrorCode =
            isrState.maximalISR.count >= effectiveMinInsyncReplicas ? .none : .notEnoughReplicasAfterAppend
        for waiting in done { outputs.append(.completeProduce(id: waiting.id, error)) }
        waitingProduces.removeFirst(done.count)
    }

    /// Answers REQUEST_TIMED_OUT to the waiting produces whose deadline has passed.
    mutating func expireProduces(now: Int64, into outputs: inout [LeaderOutput]) {
        guard waitingProduces.contains(where: { $0.deadline <= now }) else { return }
        for waiting in waitingProduces where waiting.deadline <= now {
            outputs.append(.completeProduce(id: waiting.id, .requestTimedOut))
        }
        waitingProduces.removeAll { $0.deadline <= now }
    }
}
