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
        var currentLeaderEpoch: Int32
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

    /// Stores a new session and returns its id, or 0 when the cache has no room (capacity 0).
    func create(partitions: [CachedPartition]) -> Int32 {
        state.withLockedValue { state in
            guard capacity > 0 else { return 0 }
            if state.sessions.count >= capacity,
                let oldest = state.sessions.values.min(by: { $0.lastUsed < $1.lastUsed })
            {
                state.sessions.removeValue(forKey: oldest.id)
            }
            var id: Int32
            repeat { id = Int32.random(in: 1...Int32.max, using: &state.generator) } while state.sessions[id] != nil
            state.tick += 1
            state.sessions[id] = Session(id: id, nextEpoch: 1, partitions: partitions, lastUsed: state.tick)
            return id
        }
    }

    /// Replaces a session's state after its response was built, moving its epoch on.
    func update(_ session: Session) {
        state.withLockedValue { state in
            guard state.sessions[session.id] != nil else { return }
            state.tick += 1
            var updated = session
            updated.nextEpoch = session.nextEpoch == Int32.max ? 1 : session.nextEpoch + 1
            updated.lastUsed = state.tick
            state.sessions[session.id] = updated
        }
    }

    func remove(id: Int32) {
        _ = state.withLockedValue { $0.sessions.removeValue(forKey: id) }
    }
}
