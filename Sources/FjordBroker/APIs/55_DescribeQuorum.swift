// DescribeQuorum v0-v2, on the controller and broker listeners. The leader reports every voter's and observer's
// progress; another node answers NOT_LEADER_OR_FOLLOWER with the leader it knows, as Kafka's controllers do. v1
// adds the fetch and caught-up times, v2 directory ids and the nodes' controller listeners.
import FjordRaft
import Glibc
import KafkaProtocol
import NIOCore

/// The metadata quorum as operators see it (`fjord metadata-quorum describe`, kafka-metadata-quorum.sh).
struct DescribeQuorumHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...2
    let driver: RaftDriver
    /// The controller listeners of the voters, listed in v2's `nodes`.
    let endpoints: [NodeID: HostAndPort]
    let listenerName: String

    func handle(_ request: DescribeQuorumRequest, context: RequestContext) -> EventLoopFuture<DescribeQuorumResponse> {
        guard request.topics.count == 1, request.topics[0].partitions.count == 1 else {
            return context.eventLoop.makeSucceededFuture(
                DescribeQuorumResponse(errorCode: ErrorCode.invalidRequest.rawValue))
        }
        let topic = request.topics[0]
        guard topic.topicName == RaftWire.topicName, topic.partitions[0].partitionIndex == RaftWire.partitionIndex
        else {
            return context.eventLoop.makeSucceededFuture(
                answer(
                    partition: .init(
                        partitionIndex: topic.partitions[0].partitionIndex,
                        errorCode: ErrorCode.unknownTopicOrPartition.rawValue), topicName: topic.topicName))
        }
        return driver.describe(on: context.eventLoop).map { description in
            answer(partition: partition(description), topicName: RaftWire.topicName)
        }
    }

    private func answer(partition: DescribeQuorumResponse.PartitionData, topicName: String) -> DescribeQuorumResponse {
        DescribeQuorumResponse(
            topics: [DescribeQuorumResponse.TopicData(topicName: topicName, partitions: [partition])],
            nodes: endpoints.keys.sorted().map { id in
                DescribeQuorumResponse.Node(
                    nodeID: id,
                    listeners: [
                        DescribeQuorumResponse.Listener(
                            name: listenerName, host: endpoints[id]!.host, port: UInt16(clamping: endpoints[id]!.port))
                    ])
            })
    }

    private func partition(_ description: QuorumDescription) -> DescribeQuorumResponse.PartitionData {
        let isLeader = description.leaderID == driver.configuration.raft.nodeID && driver.status.isLeader
        guard isLeader else {
            return DescribeQuorumResponse.PartitionData(
                partitionIndex: RaftWire.partitionIndex, errorCode: ErrorCode.notLeaderOrFollower.rawValue,
                leaderID: description.leaderID ?? -1, leaderEpoch: description.leaderEpoch, highWatermark: -1)
        }
        return DescribeQuorumResponse.PartitionData(
            partitionIndex: RaftWire.partitionIndex, leaderID: description.leaderID ?? -1,
            leaderEpoch: description.leaderEpoch, highWatermark: description.highWatermark ?? -1,
            currentVoters: description.voters.map { replicaState($0, toWallClock: wallClockOffset) },
            observers: description.observers.map { replicaState($0, toWallClock: wallClockOffset) })
    }

    /// The core keeps times on the monotonic clock; Kafka reports them as wall-clock milliseconds since the epoch
    /// (kafka-metadata-quorum.sh prints "ms ago" from them). Adding this converts one to the other.
    private var wallClockOffset: Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let wallMilliseconds = Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
        return wallMilliseconds - RaftDriver.monotonicMilliseconds()
    }

    private func replicaState(_ replica: QuorumDescription.Replica, toWallClock offset: Int64)
        -> DescribeQuorumResponse.ReplicaState
    {
        DescribeQuorumResponse.ReplicaState(
            replicaID: replica.key.id, replicaDirectoryID: replica.key.wireDirectoryID,
            logEndOffset: replica.logEndOffset ?? -1,
            lastFetchTimestamp: replica.lastFetchTimestamp.map { $0 + offset } ?? -1,
            lastCaughtUpTimestamp: replica.lastCaughtUpTimestamp.map { $0 + offset } ?? -1)
    }
}
