import FjordStorage
import KafkaProtocol
import NIOConcurrencyHelpers

/// Incremental fetch sessions (KIP-227): the broker remembers, per session, which partitions a client fetches
/// and at which offsets, so later requests list only what changed and responses only partitions with news.
///
/// Bounded: at most `capacity` sessions (Kafka: `max.incremental.fetch.session.cache.slots`, default 1000); when
/// full, the least recently used session is evicted, and its client gets FETCH_SESSION_ID_NOT_FOUND next time
/// and starts over with a full fetch.
///
/// Its sessions are one value behind one lock (`state`), a leaf held only for a lookup or a small change.
final class FetchSessionCache: Sendable {
    /// What a session knows about one partition: the client's position and what was last reported.
    struct CachedPartition: Sendable, Equatable {
        var topicPartition: TopicPartition
        var topicID: KafkaUUID
        var fetchOffset: Int64
        var maxBytes: Int32
        var currentLeaderEpoch: LeaderEpoch
        /// The epoch of the last batch the client read (Fetch v12+, KIP-320), -1 when not sent: the leader checks it
        /// against its epochs and answers a DivergingEpoch when the client's log went past where that epoch ended.
        var lastFetchedEpoch: LeaderEpoch = -1
        /// A follower's own log start (v5+), -1 from consumers.
        var replicaLogStartOffset: Int64 = -1
        var lastHighWatermark: Int64 = -1
        var lastStableOffset: Int64 = -1
        var lastLogStartOffset: Int64 = -1
    }

    /// A session: its id, the epoch the next request must carry, and its partitions in request order.
    struct Session: Sendable {
        var id: Int32
        var nextEpoch: Int32
        var partitions: [CachedPartition]
        var lastUsed: UInt64
    }

    enum Lookup: Sendable {
        case found(Session)
        case notFound
        case wrongEpoch(expected: Int32)
    }

    /// The sessions, and the clock of their last use (for LRU eviction).
    private struct State: Sendable {
        var sessions: [Int32: Session] = [:]
        var tick: UInt64 = 0
        var generator = SystemRandomNumberGenerator()
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { state.withLockedValue { $0.sessions.count } }

    func lookup(id: Int32, epoch: Int32) -> Lookup {
        state.withLockedValue { state in
            guard let session = state.sessions[id] else { return .notFound }
            guard session.nextEpoch == epoch else { return .wrongEpoch(expected: session.nextEpoch) }
            return .found(session)
        }
    }

    /// Finds the session a request of `epoch` continues and moves its epoch on at once, as Kafka does when the
    /// request arrives: a second request with the same epoch (a duplicate, or one sent before the first was
    /// answered) gets INVALID_FETCH_SESSION_EPOCH.
    func claim(id: Int32, epoch: Int32) -> Lookup {
        state.withLockedValue { state in
            guard var session = state.sessions[id] else { return .notFound }
            guard session.nextEpoch == epoch else { return .wrongEpoch(expected: session.nextEpoch) }
            state.tick += 1
            session.nextEpoch = Self.epoch(after: session.nextEpoch)
            session.lastUsed = state.tick
            state.sessions[id] = session
            return .found(session)
        }
    }

    /// Session epochs run 1...Int32.max, then wrap to 1.
    static func epoch(after epoch: Int32) -> Int32 { epoch == Int32.max ? 1 : epoch + 1 }

    /// Stores a new session (the next request must carry epoch 1) and returns it, or nil when the cache has no room
    /// (capacity 0).
    func create(partitions: [CachedPartition]) -> Session? {
        state.withLockedValue { state in
            guard capacity > 0 else { return nil }
            if state.sessions.count >= capacity,
                let oldest = state.sessions.values.min(by: { $0.lastUsed < $1.lastUsed })
            {
                state.sessions.removeValue(forKey: oldest.id)
            }
            var id: Int32
            repeat { id = Int32.random(in: 1...Int32.max, using: &state.generator) } while state.sessions[id] != nil
            state.tick += 1
            let session = Session(id: id, nextEpoch: 1, partitions: partitions, lastUsed: state.tick)
            state.sessions[id] = session
            return session
        }
    }

    /// Stores what a session's response reported for its partitions (the epoch moved on when the request was
    /// claimed and stays as it is).
    func update(_ session: Session) {
        state.withLockedValue { state in
            guard var stored = state.sessions[session.id] else { return }
            state.tick += 1
            stored.partitions = session.partitions
            stored.lastUsed = state.tick
            state.sessions[session.id] = stored
        }
    }

    func remove(id: Int32) {
        _ = state.withLockedValue { $0.sessions.removeValue(forKey: id) }
    }
}
