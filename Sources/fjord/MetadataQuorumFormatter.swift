import FjordClient
import Foundation
import KafkaProtocol

/// How `fjord metadata-quorum describe` prints the quorum: `--status` and `--replication` exactly as Kafka's
/// `kafka-metadata-quorum.sh describe` (`MetadataQuorumCommand`) prints them, and a JSON form of each.
///
/// Pure functions of the quorum, the cluster id and the time, so the output is tested without a cluster.
enum MetadataQuorumFormatter {
    /// The voter with the smallest log end (the first of them on a tie, as Java's `Stream.min`) and how far it is
    /// behind the leader: Kafka's MaxFollowerLag and MaxFollowerLagTimeMs (0 when the leader itself is the
    /// furthest behind, -1 when a caught-up time is unknown).
    static func maxFollowerLag(_ quorum: MetadataQuorumDescription) -> (lag: Int64, timeMs: Int64) {
        guard let leader = quorum.leader,
            let furthest = quorum.voters.reduce(nil, { (best: MetadataQuorumDescription.Replica?, next) in
                guard let best else { return next }
                return next.logEndOffset < best.logEndOffset ? next : best
            })
        else { return (-1, -1) }
        let lag = leader.logEndOffset - furthest.logEndOffset
        if furthest.nodeID == leader.nodeID { return (lag, 0) }
        guard let leaderCaughtUp = leader.lastCaughtUpTimestamp, let caughtUp = furthest.lastCaughtUpTimestamp else {
            return (lag, -1)
        }
        return (lag, leaderCaughtUp - caughtUp)
    }

    /// `--status`: the labels padded to 24 columns, voters and observers as Kafka's `Node.toString`.
    static func status(_ quorum: MetadataQuorumDescription, clusterID: String?) -> String {
        let (lag, lagTime) = maxFollowerLag(quorum)
        let lines: [(String, String)] = [
            ("ClusterId:", clusterID ?? "unknown"),
            ("LeaderId:", "\(quorum.leaderID)"),
            ("LeaderEpoch:", "\(quorum.leaderEpoch)"),
            ("HighWatermark:", "\(quorum.highWatermark)"),
            ("MaxFollowerLag:", "\(lag)"),
            ("MaxFollowerLagTimeMs:", "\(lagTime)"),
            ("CurrentVoters:", nodeList(quorum.voters, quorum)),
            ("CurrentObservers:", nodeList(quorum.observers, quorum)),
        ]
        return lines.map { label, value in label.padding(toLength: 24, withPad: " ", startingAt: 0) + value }
            .joined(separator: "\n")
    }

    /// `[{"id": 1, "directoryId": null, "endpoints": ["CONTROLLER://127.0.0.1:9093"]}, ...]`: no endpoints key
    /// when the node's listeners are unknown, `null` for an unknown directory id.
    static func nodeList(_ replicas: [MetadataQuorumDescription.Replica], _ quorum: MetadataQuorumDescription)
        -> String
    {
        let nodes = replicas.map { replica in
            var text = "{\"id\": \(replica.nodeID), \"directoryId\": "
            text += replica.directoryID.map { "\"\($0)\"" } ?? "null"
            let endpoints = quorum.nodes[replica.nodeID] ?? []
            if !endpoints.isEmpty {
                text += ", \"endpoints\": [" + endpoints.map { "\"\($0)\"" }.joined(separator: ", ") + "]"
            }
            return text + "}"
        }
        return "[" + nodes.joined(separator: ", ") + "]"
    }

    /// One row of `--replication`: the leader first, then the other voters, then the observers.
    struct Row: Equatable {
        var replica: MetadataQuorumDescription.Replica
        var lag: Int64
        var status: String
    }

    static func rows(_ quorum: MetadataQuorumDescription) -> [Row] {
        let leaderEnd = quorum.leader?.logEndOffset ?? 0
        func row(_ replica: MetadataQuorumDescription.Replica, _ status: String) -> Row {
            Row(replica: replica, lag: leaderEnd - replica.logEndOffset, status: status)
        }
        return quorum.voters.filter { $0.nodeID == quorum.leaderID }.map { row($0, "Leader") }
            + quorum.voters.filter { $0.nodeID != quorum.leaderID }.map { row($0, "Follower") }
            + quorum.observers.map { row($0, "Observer") }
    }

    /// `--replication` as Kafka's `ToolsUtils.prettyPrintTable`: each cell padded to its column's width and followed
    /// by a tab. Timestamps are epoch ms, or "N ms ago" with `humanReadable` (relative to `nowMs`); -1 when unknown.
    static func replication(_ quorum: MetadataQuorumDescription, humanReadable: Bool, nowMs: Int64) -> String {
        func time(_ value: Int64?) -> String {
            guard let value else { return "-1" }
            return humanReadable ? "\(max(nowMs - value, 0)) ms ago" : "\(value)"
        }
        let header = ["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp",
            "Status"]
        let cells = rows(quorum).map { row in
            [
                "\(row.replica.nodeID)", (row.replica.directoryID ?? .zero).description,
                "\(row.replica.logEndOffset)", "\(row.lag)", time(row.replica.lastFetchTimestamp),
                time(row.replica.lastCaughtUpTimestamp), row.status,
            ]
        }
        var widths = header.map(\.count)
        for line in cells {
            for (index, cell) in line.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        return ([header] + cells).map { line in
            line.enumerated().map { index, cell in cell.padding(toLength: widths[index], withPad: " ", startingAt: 0) }
                .joined(separator: "\t") + "\t"
        }.joined(separator: "\n")
    }

    // MARK: JSON

    static func statusJSON(_ quorum: MetadataQuorumDescription, clusterID: String?) -> JSONValue {
        let (lag, lagTime) = maxFollowerLag(quorum)
        func nodes(_ replicas: [MetadataQuorumDescription.Replica]) -> JSONValue {
            .array(
                replicas.map { replica in
                    .object([
                        ("id", .int(replica.nodeID)), ("directory_id", .optional(replica.directoryID?.description)),
                        ("endpoints", .array((quorum.nodes[replica.nodeID] ?? []).map { .string("\($0)") })),
                    ])
                })
        }
        return .object([
            ("cluster_id", .optional(clusterID)), ("leader_id", .int(quorum.leaderID)),
            ("leader_epoch", .int(quorum.leaderEpoch)), ("high_watermark", .int(quorum.highWatermark)),
            ("max_follower_lag", .int(lag)), ("max_follower_lag_time_ms", .int(lagTime)),
            ("voters", nodes(quorum.voters)), ("observers", nodes(quorum.observers)),
        ])
    }

    static func replicationJSON(_ quorum: MetadataQuorumDescription) -> JSONValue {
        .object([
            (
                "replicas",
                .array(
                    rows(quorum).map { row in
                        .object([
                            ("node_id", .int(row.replica.nodeID)),
                            ("directory_id", .optional(row.replica.directoryID?.description)),
                            ("log_end_offset", .int(row.replica.logEndOffset)), ("lag", .int(row.lag)),
                            ("last_fetch_timestamp", .optional(row.replica.lastFetchTimestamp)),
                            ("last_caught_up_timestamp", .optional(row.replica.lastCaughtUpTimestamp)),
                            ("status", .string(row.status.lowercased())),
                        ])
                    })
            )
        ])
    }
}
