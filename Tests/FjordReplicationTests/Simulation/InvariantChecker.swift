import FjordReplication
import KafkaProtocol

/// A broken invariant: which named check failed and what it saw. The simulation stops at the first one.
struct InvariantViolation: Error, Equatable, CustomStringConvertible {
    var invariant: String
    var message: String

    init(_ invariant: String, _ message: String) {
        self.invariant = invariant
        self.message = message
    }

    var description: String { "[\(invariant)] \(message)" }
}

/// What the invariants look at: each replica's log, high watermark and role, and the controller's partition.
/// Built by the simulation after every event, or by hand in the checker's own tests (a broken history).
struct ClusterSnapshot {
    struct Replica {
        var id: NodeID
        /// Up and registered with the controller in its current incarnation.
        var isLive: Bool
        var log: SimulatedLog
        var highWatermark: Int64
        var leading: Leading?
        var following: Following?
        var lastPowerLoss: Int64?
    }

    struct Leading {
        var epoch: LeaderEpoch
        var isr: Set<NodeID>
        var maximalISR: Set<NodeID>
        var replicas: [NodeID]
    }

    struct Following {
        var epoch: LeaderEpoch
        var leader: NodeID
        var hasFetchedRecords: Bool
    }

    var replicas: [Replica]
    var registration: PartitionRegistration

    func replica(_ id: NodeID) -> Replica? { replicas.first { $0.id == id } }
}

/// The safety invariants of replication, checked after every event:
/// - `isrWithinReplicas`: the controller's ISR ⊆ replicas and holds the leader; each leader's view likewise.
/// - `highWatermarkWithinLog`: no replica's high watermark is past its log end.
/// - `highWatermarkNeverDecreases`: on the leader of an epoch.
/// - `committedPrefixOnISR`: every live member of the controller's ISR holds exactly the same records (same epoch
///   per offset) below the largest high watermark of any live replica.
/// - `followerPrefixOfLeader`: a follower that has fetched records from the leader of its epoch holds a prefix of
///   that leader's log (no divergent suffix survives truncation).
/// - `acknowledgedRecordsSurvive`: an acks=all record acknowledged is in some replica's log at its offset, unless
///   every ISR member has lost power since (no unclean election: the partition is then offline).
struct InvariantChecker {
    /// The acks=all records acknowledged: offset → (record, time of the acknowledgment).
    private(set) var acknowledged: [Int64: (record: LogRecord, at: Int64)] = [:]
    /// Acknowledged records lost with every ISR member's power (allowed; counted).
    private(set) var excusedLosses: Set<Int64> = []
    private var highWatermarks: [NodeID: (epoch: LeaderEpoch, highWatermark: Int64)] = [:]

    mutating func acknowledged(_ record: LogRecord, at offset: Int64, now: Int64) throws(InvariantViolation) {
        if let earlier = acknowledged[offset], earlier.record != record {
            throw InvariantViolation(
                "acknowledgedRecordsSurvive",
                "offset \(offset) acknowledged twice: \(earlier.record) at \(earlier.at) ms, then \(record) at \(now) ms"
            )
        }
        acknowledged[offset] = (record, now)
    }

    mutating func check(_ snapshot: ClusterSnapshot) throws(InvariantViolation) {
        try checkISR(snapshot)
        try checkHighWatermarks(snapshot)
        try checkCommittedPrefix(snapshot)
        try checkFollowerPrefixes(snapshot)
    }

    func checkISR(_ snapshot: ClusterSnapshot) throws(InvariantViolation) {
        let registration = snapshot.registration
        var valid = registration.leader == -1 || registration.isr.contains(registration.leader)
        for id in registration.isr where !registration.replicas.contains(id) { valid = false }
        guard valid else { throw InvariantViolation("isrWithinReplicas", "controller: \(registration)") }
        for replica in snapshot.replicas where replica.isLive {
            guard let leading = replica.leading else { continue }
            valid = leading.isr.contains(replica.id)
            for id in leading.maximalISR where !leading.replicas.contains(id) { valid = false }
            for id in leading.isr where !leading.maximalISR.contains(id) { valid = false }
            guard valid else {
                throw InvariantViolation(
                    "isrWithinReplicas",
                    "leader \(replica.id) of epoch \(leading.epoch): ISR \(leading.isr.sorted()), maximal "
                        + "\(leading.maximalISR.sorted()), replicas \(leading.replicas)")
            }
        }
    }

    mutating func checkHighWatermarks(_ snapshot: ClusterSnapshot) throws(InvariantViolation) {
        for replica in snapshot.replicas where replica.isLive {
            if replica.highWatermark > replica.log.logEndOffset {
                throw InvariantViolation(
                    "highWatermarkWithinLog",
                    "replica \(replica.id): high watermark \(replica.highWatermark) past its log end "
                        + "\(replica.log.logEndOffset)")
            }
            guard let leading = replica.leading else { continue }
            if let last = highWatermarks[replica.id], last.epoch == leading.epoch,
                replica.highWatermark < last.highWatermark
            {
                throw InvariantViolation(
                    "highWatermarkNeverDecreases",
                    "leader \(replica.id) of epoch \(leading.epoch): high watermark \(last.highWatermark) → "
                        + "\(replica.highWatermark)")
            }
            highWatermarks[replica.id] = (leading.epoch, replica.highWatermark)
        }
    }

    func checkCommittedPrefix(_ snapshot: ClusterSnapshot) throws(InvariantViolation) {
        var referenceIndex: Int?
        for index in snapshot.replicas.indices where snapshot.replicas[index].isLive {
            if referenceIndex == nil
                || snapshot.replicas[index].highWatermark > snapshot.replicas[referenceIndex!].highWatermark
            {
                referenceIndex = index
            }
        }
        guard let referenceIndex, snapshot.replicas[referenceIndex].highWatermark > 0 else { return }
        let reference = snapshot.replicas[referenceIndex]
        let committed = reference.highWatermark
        for member in snapshot.replicas where member.isLive && snapshot.registration.isr.contains(member.id) {
            guard member.log.agrees(with: reference.log, below: committed) else {
                throw InvariantViolation(
                    "committedPrefixOnISR",
                    "ISR member \(member.id) (log end \(member.log.logEndOffset)) differs below \(committed), the "
                        + "high watermark of \(reference.id): first difference at "
                        + "\(Self.firstDifference(member.log, reference.log, below: committed))")
            }
        }
    }

    func checkFollowerPrefixes(_ snapshot: ClusterSnapshot) throws(InvariantViolation) {
        for follower in snapshot.replicas where follower.isLive {
            guard let following = follower.following, following.hasFetchedRecords,
                let leader = snapshot.replica(following.leader), leader.isLive, leader.leading?.epoch == following.epoch
            else { continue }
            let length = follower.log.logEndOffset
            guard follower.log.agrees(with: leader.log, below: length) else {
                throw InvariantViolation(
                    "followerPrefixOfLeader",
                    "follower \(follower.id) (log end \(length)) of leader \(leader.id) in epoch \(following.epoch) "
                        + "(log end \(leader.log.logEndOffset)) differs at "
                        + "\(Self.firstDifference(follower.log, leader.log, below: length))")
            }
        }
    }

    /// Checks every acknowledged record at or after `from` (the lowest offset some replica just lost); the
    /// simulation calls it after each truncation and power loss, and at the end for all.
    mutating func checkAcknowledged(_ snapshot: ClusterSnapshot, from: Int64 = 0) throws(InvariantViolation) {
        for (offset, entry) in acknowledged where offset >= from && !excusedLosses.contains(offset) {
            if snapshot.replicas.contains(where: { $0.log.record(at: offset) == entry.record }) { continue }
            let isr = snapshot.registration.isr
            let allLostPower = isr.allSatisfy { id in
                snapshot.replica(id).flatMap(\.lastPowerLoss).map { $0 >= entry.at } ?? false
            }
            if allLostPower {
                excusedLosses.insert(offset)
                continue
            }
            throw InvariantViolation(
                "acknowledgedRecordsSurvive",
                "\(entry.record) at offset \(offset), acknowledged at \(entry.at) ms, is on no replica; ISR "
                    + "\(isr), logs end at \(snapshot.replicas.map { "\($0.id): \($0.log.logEndOffset)" })")
        }
    }

    static func firstDifference(_ a: SimulatedLog, _ b: SimulatedLog, below length: Int64) -> String {
        for offset in 0..<length where a.record(at: offset) != b.record(at: offset) {
            return "offset \(offset): \(a.record(at: offset).map(\.description) ?? "none") vs "
                + "\(b.record(at: offset).map(\.description) ?? "none")"
        }
        return "none"
    }
}
