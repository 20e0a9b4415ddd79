import FjordClient
import KafkaProtocol
import Testing

@testable import fjord

/// `fjord metadata-quorum describe`: the `--status` and `--replication` output of a described quorum, compared with
/// what `kafka-metadata-quorum.sh` prints for the same `QuorumInfo`.
@Suite struct MetadataQuorumFormatterTests {
    private let directory = KafkaUUID(high: 0x0102_0304_0506_0708, low: 0x090a_0b0c_0d0e_0f10)

    /// Leader 2 at offset 120; voter 1 behind by 20 (caught up 300 ms before the leader), voter 3 level; an
    /// observer 4 behind by 100.
    private func quorum() -> MetadataQuorumDescription {
        MetadataQuorumDescription(
            leaderID: 2, leaderEpoch: 7, highWatermark: 118,
            voters: [
                .init(nodeID: 1, logEndOffset: 100, lastFetchTimestamp: 1_000, lastCaughtUpTimestamp: 700),
                .init(
                    nodeID: 2, directoryID: directory, logEndOffset: 120, lastFetchTimestamp: 1_010,
                    lastCaughtUpTimestamp: 1_000),
                .init(nodeID: 3, logEndOffset: 120, lastFetchTimestamp: 1_005, lastCaughtUpTimestamp: 1_005),
            ],
            observers: [.init(nodeID: 4, logEndOffset: 20)],
            nodes: [
                1: [.init(name: "CONTROLLER", host: "127.0.0.1", port: 9191)],
                2: [.init(name: "CONTROLLER", host: "::1", port: 9192)],
            ])
    }

    @Test func statusPrintsKafkasLinesWithTheFurthestVoter() {
        let text = MetadataQuorumFormatter.status(quorum(), clusterID: "Q2mB3TtFRWKl0c5vd1yWFA")
        #expect(
            text == """
                ClusterId:              Q2mB3TtFRWKl0c5vd1yWFA
                LeaderId:               2
                LeaderEpoch:            7
                HighWatermark:          118
                MaxFollowerLag:         20
                MaxFollowerLagTimeMs:   300
                CurrentVoters:          [{"id": 1, "directoryId": null, "endpoints": ["CONTROLLER://127.0.0.1:9191"]}, \
                {"id": 2, "directoryId": "\(directory)", "endpoints": ["CONTROLLER://[::1]:9192"]}, \
                {"id": 3, "directoryId": null}]
                CurrentObservers:       [{"id": 4, "directoryId": null}]
                """)
    }

    @Test func lagTimeIsZeroWhenTheLeaderIsFurthestAndUnknownWithoutCaughtUpTimes() {
        var level = quorum()
        level.voters = level.voters.map { var voter = $0; voter.logEndOffset = 120; return voter }
        level.voters.swapAt(0, 1)  // the leader first: Java's Stream.min keeps the first of equal voters
        #expect(MetadataQuorumFormatter.maxFollowerLag(level) == (0, 0))
        var unknown = quorum()
        unknown.voters[0].lastCaughtUpTimestamp = nil
        #expect(MetadataQuorumFormatter.maxFollowerLag(unknown) == (20, -1))
    }

    @Test func replicationListsLeaderFollowersObserversAsKafkasTable() {
        let text = MetadataQuorumFormatter.replication(quorum(), humanReadable: false, nowMs: 2_000)
        let zero = KafkaUUID.zero.description
        let expected = [
            "NodeId\tDirectoryId           \tLogEndOffset\tLag\tLastFetchTimestamp\tLastCaughtUpTimestamp\tStatus  \t",
            "2     \t\(directory)\t120         \t0  \t1010              \t1000                 \tLeader  \t",
            "1     \t\(zero)\t100         \t20 \t1000              \t700                  \tFollower\t",
            "3     \t\(zero)\t120         \t0  \t1005              \t1005                 \tFollower\t",
            "4     \t\(zero)\t20          \t100\t-1                \t-1                   \tObserver\t",
        ]
        #expect(text.split(separator: "\n").map(String.init) == expected)
        let human = MetadataQuorumFormatter.replication(quorum(), humanReadable: true, nowMs: 2_000)
        #expect(human.contains("990 ms ago") && human.contains("1000 ms ago") && human.contains("-1 "))
    }

    @Test func jsonKeepsUnknownValuesAsNull() {
        let status = MetadataQuorumFormatter.statusJSON(quorum(), clusterID: nil).rendered
        #expect(status.hasPrefix(#"{"cluster_id":null,"leader_id":2,"leader_epoch":7,"high_watermark":118,"#))
        #expect(status.contains(#""max_follower_lag":20,"max_follower_lag_time_ms":300"#))
        let replication = MetadataQuorumFormatter.replicationJSON(quorum()).rendered
        #expect(
            replication.contains(
                #"{"node_id":4,"directory_id":null,"log_end_offset":20,"lag":100,"last_fetch_timestamp":null,"#
                    + #""last_caught_up_timestamp":null,"status":"observer"}"#))
    }
}
