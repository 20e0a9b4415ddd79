import FjordRaft
import KafkaProtocol
import NIOCore

extension BrokerMetrics {
    /// The metadata quorum's gauges of a scrape (KRaft mode only; Kafka's `raft-metrics`): the leader, epoch and
    /// high watermark from the driver's status, read without waiting; on the leader, each voter's lag from the
    /// quorum description.
    ///
    /// The description comes from the driver between its rounds, and a scrape runs on an event loop that must not
    /// wait for one (a round may be fsyncing): each scrape asks for a fresh description and uses the one the
    /// previous request brought, so per-voter lags are as of the previous scrape (or the one before the first
    /// answer: none).
    func quorumGauges(driver: RaftDriver, eventLoop: any EventLoop) -> [ScrapeSeries: Int64] {
        let box = lastQuorumDescription
        driver.describe(on: eventLoop).whenSuccess { description in box.withLockedValue { $0 = description } }
        let description = box.withLockedValue { $0 }
        // The core's times are the driver's monotonic clock, not wall-clock ms.
        let nowMs = RaftDriver.monotonicMilliseconds()
        return Self.quorumGauges(
            status: driver.status, nodeID: driver.configuration.raft.nodeID, description: description, nowMs: nowMs)
    }

    /// The leader's commit latency (Kafka's `commit-latency-avg` / `-max`, ms, over the last two 30 s windows); no
    /// series while there is no sample in them (a follower, or a leader that committed nothing lately).
    static func commitLatencyGauges(_ stats: CommitLatencyTracker.Stats) -> [ScrapeSeries: Double] {
        guard let average = stats.averageMs, let maximum = stats.maxMs else { return [:] }
        return [
            ScrapeSeries("fjord_metadata_quorum_commit_latency_avg_ms"): average,
            ScrapeSeries("fjord_metadata_quorum_commit_latency_max_ms"): maximum,
        ]
    }

    /// The gauges from a status and a description (pure, so tests check them). Per-voter series only while this
    /// node leads and the description is of its own leadership in the current epoch (a follower's description has
    /// no progress to report).
    static func quorumGauges(status: RaftStatus, nodeID: NodeID, description: QuorumDescription?, nowMs: Int64)
        -> [ScrapeSeries: Int64]
    {
        var values = [ScrapeSeries: Int64]()
        values[ScrapeSeries("fjord_metadata_quorum_leader_id")] = Int64(status.role.leaderID ?? -1)
        values[ScrapeSeries("fjord_metadata_quorum_epoch")] = Int64(status.role.epoch)
        values[ScrapeSeries("fjord_metadata_quorum_is_leader")] = status.isLeader ? 1 : 0
        values[ScrapeSeries("fjord_metadata_quorum_high_watermark")] = status.highWatermark ?? -1
        values[ScrapeSeries("fjord_metadata_quorum_applied_end_offset")] = status.committedEndOffset
        guard status.isLeader, let description, description.leaderID == nodeID,
            description.leaderEpoch == status.role.epoch,
            let leaderEnd = description.voters.first(where: { $0.key.id == nodeID })?.logEndOffset
        else { return values }
        for voter in description.voters {
            let labels = ["voter": String(voter.key.id)]
            if let end = voter.logEndOffset {
                values[ScrapeSeries("fjord_metadata_quorum_voter_lag", labels)] = max(0, leaderEnd - end)
            }
            if let caughtUp = voter.lastCaughtUpTimestamp {
                values[ScrapeSeries("fjord_metadata_quorum_voter_caught_up_lag_ms", labels)] = max(0, nowMs - caughtUp)
            }
        }
        return values
    }
}
