import FjordRaft
import KafkaProtocol
import NIOCore

/// Everything the driver owns besides the disk: the core, the answers it owes, and the snapshot bookkeeping.
/// Held in `RaftDriver.state` and touched only by the driver's rounds (one at a time, on its thread).
struct RaftDriverState: Sendable {
    /// A proposal waiting for its batch to commit.
    struct Proposal: Sendable {
        var epoch: Int32
        var lastOffset: Int64
        var reply: EventLoopPromise<Int64>
    }

    /// An inbound request the core may still answer: the id it was given and the one its sender used.
    struct InboundReply: Sendable {
        var originalCorrelationID: Int32
        var deadline: Int64
        var reply: EventLoopPromise<RaftMessage?>
    }

    var node: RaftNode
    /// Proposals by the offset of their last record.
    var proposals: [Int64: Proposal] = [:]
    /// Inbound requests by the driver-unique correlation id the core saw.
    var inbound: [Int32: InboundReply] = [:]
    var nextInboundID: Int32 = 0
    /// The log end reported to the core as fsynced.
    var reportedPersistedEnd: Int64
    /// Bytes of data records committed since the latest snapshot.
    var bytesSinceSnapshot: Int64 = 0
    /// The epoch and append time of the last committed batch (a snapshot's id and header).
    var lastCommittedEpoch: Int32
    var lastCommittedAppendTime: Int64
    /// The voter set and kraft.version a snapshot must carry (KIP-853), from the latest snapshot or log record.
    var voters: VotersRecord?
    var kraftVersion: KRaftVersionRecord?
    /// The log end at start-up, and whether the applied state has reached it (or the log was cut below it).
    let startupLogEnd: Int64
    var isCaughtUp = false
    /// Append-to-commit times of the batches this node appended as leader.
    var commitLatency = CommitLatencyTracker()

    init(node: RaftNode, persisted: RaftPersistentState) {
        self.node = node
        reportedPersistedEnd = node.persistedLogEndOffset
        startupLogEnd = node.logEndOffset
        lastCommittedEpoch = persisted.snapshot?.id.epoch ?? 0
        lastCommittedAppendTime = persisted.snapshot?.lastContainedLogTimestamp ?? 0
        voters = persisted.snapshot?.voters
        if voters != nil { kraftVersion = KRaftVersionRecord(version: 0, kRaftVersion: 1) }
    }

    /// Whether the applied state now covers what was committed when the node started: a high watermark is known
    /// and everything up to the start-up log end (or the log end, if the log was cut since) is applied.
    var reachedStartupEnd: Bool {
        node.highWatermark != nil && node.committedEndOffset >= min(startupLogEnd, node.logEndOffset)
    }

    /// Gives an inbound request a correlation id unique in this driver, so the core's answer finds its way back.
    mutating func admitInbound(_ message: RaftMessage, reply: EventLoopPromise<RaftMessage?>, deadline: Int64)
        -> RaftMessage
    {
        nextInboundID = nextInboundID == .max ? 0 : nextInboundID + 1
        let id = nextInboundID
        inbound[id]?.reply.succeed(nil)
        inbound[id] = InboundReply(originalCorrelationID: message.correlationID, deadline: deadline, reply: reply)
        return message.withCorrelationID(id)
    }

    /// Answers the inbound requests the core left unanswered past their deadline with nil.
    mutating func expireInbound(now: Int64) {
        for (id, entry) in inbound where entry.deadline <= now {
            inbound[id] = nil
            entry.reply.succeed(nil)
        }
    }
}
