import FjordStorage
import KafkaProtocol
import NIOConcurrencyHelpers

/// Incremental fetch sessions (KIP-227): the broker remembers, per session, which partitions a client fetches
/// and at which offsets, so later requests list only what changed and responses only partitions with news.
///
/// Bounded: at most `capacity` sessions (Kafka: `max.incremental.fetch.session.cache.slots`, default 1000); when
/// full, the least recently used session is evicted, and its client gets FETCH_SESSION_ID_NOT_FOUND next time
/// and starts over with a full fetch.
final class FetchSessionCache: @unchecked Sendable {
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

    enum Lookup {
        case found(Session)
        case notFound
        case wrongEpoch(expected: Int32)
    }

    let capacity: Int
    private let lock = NIOLock()
    private var sessions: [Int32: Session] = [:]
    private var tick: UInt64 = 0
    private var generator = SystemRandomNumberGenerator()

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { lock.withLock { sessions.count } }

    func lookup(id: Int32, epoch: Int32) -> Lookup {
        lock.withLock {
            guard let session = sessions[id] else { return .notFound }
            guard session.nextEpoch == epoch else { return .wrongEpoch(expected: session.nextEpoch) }
            return .found(session)
        }
    }

    /// Stores a new session and returns its id, or 0 when the cache has no room (capacity 0).
    func create(partitions: [CachedPartition]) -> Int32 {
        lock.withLock {
            guard capacity > 0 else { return 0 }
            if sessions.count >= capacity, let oldest = sessions.values.min(by: { $0.lastUsed < $1.lastUsed }) {
                sessions.removeValue(forKey: oldest.id)
            }
            var id: Int32
            repeat { id = Int32.random(in: 1...Int32.max, using: &generator) } while sessions[id] != nil
            tick += 1
            sessions[id] = Session(id: id, nextEpoch: 1, partitions: partitions, lastUsed: tick)
            return id
        }
    }

    /// Replaces a session's state after its response was built, moving its epoch on.
    func update(_ session: Session) {
        lock.withLock {
            guard sessions[session.id] != nil else { return }
            tick += 1
            var updated = session
            updated.nextEpoch = session.nextEpoch == Int32.max ? 1 : session.nextEpoch + 1
            updated.lastUsed = tick
            sessions[session.id] = updated
        }
    }

    func remove(id: Int32) {
        _ = lock.withLock { sessions.removeValue(forKey: id) }
    }
}
