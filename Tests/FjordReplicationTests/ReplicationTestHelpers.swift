import FjordReplication
import KafkaProtocol

/// Shorthands of the scripted tests: a leader of replicas 1, 2, 3 (1 leads) and follower fetches.
enum Scripted {
    static func registration(
        leader: NodeID = 1, leaderEpoch: LeaderEpoch = 5, partitionEpoch: Int32 = 10, replicas: [NodeID] = [1, 2, 3],
        isr: [NodeID] = [1, 2, 3]
    ) -> PartitionRegistration {
        PartitionRegistration(
            leader: leader, leaderEpoch: leaderEpoch, partitionEpoch: partitionEpoch, replicas: replicas, isr: isr)
    }

    /// A log ending at `end` whose epochs are `epochs` (epoch, start).
    static func log(end: Int64, highWatermark: Int64 = 0, epochs: [(LeaderEpoch, Int64)] = [(0, 0)]) -> LocalLogState {
        LocalLogState(
            logStartOffset: 0, logEndOffset: end, highWatermark: highWatermark,
            epochs: LeaderEpochHistory(entries: end == 0 ? [] : epochs.map { .init(epoch: $0.0, startOffset: $0.1) }))
    }

    static func leader(
        isr: [NodeID] = [1, 2, 3], minISR: Int = 2, lagMs: Int64 = 1_000, logEnd: Int64 = 0, now: Int64 = 0
    ) -> PartitionLeader {
        PartitionLeader(
            localID: 1, registration: registration(isr: isr), log: log(end: logEnd),
            configuration: ReplicationConfiguration(replicaLagTimeMaxMs: lagMs, minInsyncReplicas: minISR), now: now)
    }

    static func fetch(
        _ replica: NodeID, offset: Int64, lastEpoch: LeaderEpoch? = 5, currentEpoch: LeaderEpoch? = 5,
        brokerEpoch: Int64 = -1
    ) -> FollowerFetch {
        FollowerFetch(
            replicaID: replica, brokerEpoch: brokerEpoch, currentLeaderEpoch: currentEpoch, fetchOffset: offset,
            lastFetchedEpoch: lastEpoch, logStartOffset: 0)
    }
}

extension PartitionLeader {
    /// A follower fetch at `now`; the outputs.
    @discardableResult
    mutating func fetch(_ replica: NodeID, offset: Int64, now: Int64, lastEpoch: LeaderEpoch? = 5) -> [LeaderOutput] {
        step(.followerFetch(Scripted.fetch(replica, offset: offset, lastEpoch: lastEpoch), now: now))
    }

    @discardableResult
    mutating func append(to end: Int64, now: Int64) -> [LeaderOutput] { step(.appended(logEndOffset: end, now: now)) }
}

extension [LeaderOutput] {
    var proposals: [AlterPartitionProposal] {
        compactMap { if case .sendAlterPartition(let proposal) = $0 { proposal } else { nil } }
    }

    var completions: [UInt64: ErrorCode] {
        var result: [UInt64: ErrorCode] = [:]
        for case .completeProduce(let id, let error) in self { result[id] = error }
        return result
    }

    var fetchAnswer: FetchAnswer? {
        for case .answerFetch(_, let answer) in self { return answer }
        return nil
    }
}
