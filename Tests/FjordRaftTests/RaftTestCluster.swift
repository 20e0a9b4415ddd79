import FjordRaft
import KafkaProtocol
import NIOCore

/// A hand-driven cluster for scripted scenarios: nodes, a message queue the test delivers explicitly, and a disk
/// that persists appends at once (unless `autoPersist` is off). Every output is kept so that a test can check
/// what came out and in which order. (The randomized simulation lives in Simulation/; this is the scripted kind.)
struct RaftTestCluster {
    struct Envelope {
        var from: NodeID
        var to: NodeID
        var message: RaftMessage
    }

    var nodes: [NodeID: RaftNode] = [:]
    var now: Int64 = 0
    var queue: [Envelope] = []
    /// Nodes cut off: messages from or to them vanish.
    var isolated: Set<NodeID> = []
    /// Nodes whose process is gone while their host answers: a request to one fails at once (connection refused),
    /// which the sender learns as `.requestFailed`. They are not stepped.
    var refusing: Set<NodeID> = []
    var autoPersist = true
    /// Every output each node produced, in order.
    var history: [NodeID: [RaftOutput]] = [:]
    /// The batches each node handed out as committed, in order.
    var committed: [NodeID: [RaftBatch]] = [:]
    var configurations: [NodeID: RaftConfiguration] = [:]

    static let clusterID = "fjord-raft-test"

    static func configuration(
        _ id: NodeID, voters: [NodeID], configure: (NodeID, inout RaftConfiguration) -> Void = { _, _ in }
    ) -> RaftConfiguration {
        var configuration = RaftConfiguration(
            nodeID: id, directoryID: directory(id),
            voters: voters.map { ReplicaKey(id: $0, directoryID: directory($0)) },
            clusterID: clusterID)
        configure(id, &configuration)
        return configuration
    }

    static func directory(_ id: NodeID) -> KafkaUUID { KafkaUUID(high: 0xD1, low: UInt64(id)) }

    init(
        voters: [NodeID], observers: [NodeID] = [], persisted: [NodeID: RaftPersistentState] = [:], seed: UInt64 = 0,
        configure: (NodeID, inout RaftConfiguration) -> Void = { _, _ in }
    ) {
        for id in voters + observers {
            let configuration = Self.configuration(id, voters: voters, configure: configure)
            configurations[id] = configuration
            nodes[id] = RaftNode(
                configuration: configuration, persisted: persisted[id] ?? .empty, randomSeed: UInt64(id) * 7919 + seed,
                now: 0)
        }
    }

    /// Steps one node, queues what it sends, records commits, and persists what it appended if `autoPersist`.
    @discardableResult
    mutating func step(_ id: NodeID, _ input: RaftInput) -> [RaftOutput] {
        let outputs = nodes[id]!.step(input)
        history[id, default: []] += outputs
        var wrote = false
        for output in outputs {
            switch output {
            case .send(let message, let to): queue.append(Envelope(from: id, to: to, message: message))
            case .commit(_, let batches): committed[id, default: []] += batches
            case .appendLog, .truncateLog: wrote = true
            default: break
            }
        }
        if wrote, autoPersist { step(id, .persisted(through: nodes[id]!.logEndOffset)) }
        return outputs
    }

    /// Moves time forward and ticks every node (in id order).
    mutating func tick(by milliseconds: Int64) {
        now += milliseconds
        for id in nodes.keys.sorted() where !refusing.contains(id) { step(id, .tick(now: now)) }
    }

    /// Delivers one envelope: dropped if an end is isolated, refused back to its sender if it is a request to a
    /// refusing node.
    private mutating func deliver(_ envelope: Envelope) {
        guard !isolated.contains(envelope.from), !isolated.contains(envelope.to), nodes[envelope.to] != nil else {
            return
        }
        if refusing.contains(envelope.to) {
            guard envelope.message.isRequest, !refusing.contains(envelope.from) else { return }
            step(envelope.from, .requestFailed(to: envelope.to, correlationID: envelope.message.correlationID))
            return
        }
        step(envelope.to, .received(envelope.message, from: envelope.from))
    }

    /// Delivers queued messages (and what they cause) until the queue is empty.
    mutating func deliverAll(limit: Int = 10_000) {
        var delivered = 0
        while !queue.isEmpty, delivered < limit {
            let envelope = queue.removeFirst()
            delivered += 1
            deliver(envelope)
        }
    }

    /// Ticks in `stepMs` steps for `milliseconds`, delivering everything after each tick.
    mutating func run(for milliseconds: Int64, stepMs: Int64 = 10) {
        var elapsed: Int64 = 0
        while elapsed < milliseconds {
            tick(by: stepMs)
            deliverAll()
            elapsed += stepMs
        }
    }

    /// Runs until some node leads (at most `milliseconds`).
    mutating func runUntilLeader(within milliseconds: Int64 = 20_000) -> NodeID? {
        var elapsed: Int64 = 0
        while elapsed < milliseconds {
            if let leader = leader, nodes[leader]!.highWatermark ?? 0 > 0 { return leader }
            tick(by: 10)
            deliverAll()
            elapsed += 10
        }
        return leader
    }

    var leader: NodeID? {
        nodes.filter { !isolated.contains($0.key) && !refusing.contains($0.key) && $0.value.role.name == .leader }.map(
            \.key
        ).sorted().last
    }

    /// The messages queued from `from` (all of them when nil) matching `filter`.
    func queued(from: NodeID? = nil, _ filter: (RaftMessage) -> Bool = { _ in true }) -> [Envelope] {
        queue.filter { (from == nil || $0.from == from) && filter($0.message) }
    }

    /// The data records of a node's committed batches, as strings.
    func committedData(_ id: NodeID) -> [String] {
        (committed[id] ?? []).flatMap(\.records).compactMap {
            if case .data(let bytes) = $0 { String(buffer: bytes) } else { nil }
        }
    }
}

extension RaftMessage {
    var isVoteRequest: Bool { if case .voteRequest = self { true } else { false } }
    var isFetchRequest: Bool { if case .fetchRequest = self { true } else { false } }
    var voteRequest: VoteRequest? { if case .voteRequest(let request) = self { request } else { nil } }
    var voteResponse: VoteResponse? { if case .voteResponse(let response) = self { response } else { nil } }
    var fetchRequest: FetchRequest? { if case .fetchRequest(let request) = self { request } else { nil } }
    var fetchResponse: FetchResponse? { if case .fetchResponse(let response) = self { response } else { nil } }
}

/// A batch of data records, for preloaded logs.
func dataBatch(_ base: Int64, epoch: Int32, _ values: [String]) -> RaftBatch {
    RaftBatch(
        baseOffset: base, epoch: epoch, appendTimeMs: 0, records: values.map { .data(ByteBuffer(string: $0)) })
}

extension RaftTestCluster {
    /// Delivers the first queued message (dropping it if an end is isolated); false when the queue is empty.
    @discardableResult
    mutating func deliverNext() -> Bool {
        guard !queue.isEmpty else { return false }
        deliver(queue.removeFirst())
        return true
    }

    /// Restarts a node from what it persisted, as a driver would after a crash.
    mutating func restart(_ id: NodeID, persisted: RaftPersistentState) {
        nodes[id] = RaftNode(configuration: configurations[id]!, persisted: persisted, randomSeed: 42, now: now)
    }

    /// The outputs of `id` that are `.roleChanged`, as role names.
    func roleNames(_ id: NodeID) -> [RaftRoleSummary.Name] {
        (history[id] ?? []).compactMap { if case .roleChanged(let role) = $0 { role.name } else { nil } }
    }
}
