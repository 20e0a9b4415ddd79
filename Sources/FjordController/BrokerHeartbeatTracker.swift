import KafkaProtocol

/// The active controller's soft state about broker sessions: when each broker last heartbeated, the metadata offset
/// it reported, whether the controller last decided it fenced, and where its controlled shutdown completes.
///
/// Not replayed and not in the log: a controller that becomes active calls `activate(image:now:)`, which gives every
/// registered broker a fresh session from that moment, as Kafka does after a failover — a broker is fenced only
/// after a whole session timeout without a heartbeat to the controller that fences it. Times are milliseconds from
/// the caller's monotonic clock; nothing here reads a clock.
public struct BrokerHeartbeatTracker: Sendable {
    /// One broker's session.
    public struct Session: Hashable, Sendable {
        public var lastContactMs: Int64
        /// The metadata offset the broker last reported (-1 before its first heartbeat).
        public var metadataOffset: Int64
        /// What the controller last decided: a fenced session never expires (there is nothing to fence).
        public var isFenced: Bool
        /// The offset of the last record that moved the broker into controlled shutdown, -1 when it is not
        /// shutting down: it may stop once every active broker has replayed that far.
        public var controlledShutdownOffset: Int64

        public var isShuttingDown: Bool { controlledShutdownOffset >= 0 }
    }

    /// A broker is fenced when it has not heartbeated for this long. Kafka: `broker.session.timeout.ms`, default
    /// 9000.
    public var sessionTimeoutMs: Int64
    public private(set) var sessions: [NodeID: Session]
    /// When this controller became active: the start of the session of a broker it has not heard from yet.
    public private(set) var activatedAtMs: Int64

    public init(sessionTimeoutMs: Int64 = 9000, now: Int64 = 0) {
        self.sessionTimeoutMs = sessionTimeoutMs
        sessions = [:]
        activatedAtMs = now
    }

    /// Starts over for a controller that just became active: every registered broker gets a session starting
    /// `now`, fenced as the image says.
    public mutating func activate(image: MetadataImage, now: Int64) {
        activatedAtMs = now
        sessions = [:]
        for registration in image.brokerRegistrations.values {
            sessions[registration.id] = Session(
                lastContactMs: now, metadataOffset: -1, isFenced: registration.isFenced, controlledShutdownOffset: -1)
        }
    }

    /// The session of `id`; a registered broker not heard from since activation has one starting at activation.
    public func session(_ id: NodeID, image: MetadataImage) -> Session? {
        if let session = sessions[id] { return session }
        guard let registration = image.brokerRegistrations[id] else { return nil }
        return Session(
            lastContactMs: activatedAtMs, metadataOffset: -1, isFenced: registration.isFenced,
            controlledShutdownOffset: -1)
    }

    /// Whether `id` has an unfenced session that has not timed out: another incarnation may not take its id then.
    public func hasValidSession(_ id: NodeID, image: MetadataImage, now: Int64) -> Bool {
        guard let session = session(id, image: image), !session.isFenced else { return false }
        return session.lastContactMs + sessionTimeoutMs >= now
    }

    /// The unfenced brokers whose last heartbeat is older than the session timeout, oldest first (then by id):
    /// the controller fences them (`ClusterControl.fenceExpiredBrokers`).
    public func expiredBrokers(image: MetadataImage, now: Int64) -> [NodeID] {
        image.brokerRegistrations.keys.compactMap { id -> (NodeID, Int64)? in
            guard let session = session(id, image: image), !session.isFenced,
                session.lastContactMs + sessionTimeoutMs < now
            else { return nil }
            return (id, session.lastContactMs)
        }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
    }

    /// The lowest metadata offset reported by an active broker (unfenced, not shutting down), or `Int64.max` when
    /// there is none: a broker's controlled shutdown completes once this reaches its shutdown offset.
    public func lowestActiveOffset(image: MetadataImage) -> Int64 {
        image.brokerRegistrations.keys.compactMap { id -> Int64? in
            guard let session = session(id, image: image), !session.isFenced, !session.isShuttingDown else {
                return nil
            }
            return session.metadataOffset
        }.min() ?? .max
    }

    /// Records a heartbeat (or a registration) of `id` at `now` with the state the controller decided.
    public mutating func touch(_ id: NodeID, now: Int64, metadataOffset: Int64, fenced: Bool) {
        var session =
            sessions[id]
            ?? Session(lastContactMs: now, metadataOffset: -1, isFenced: fenced, controlledShutdownOffset: -1)
        session.lastContactMs = now
        session.metadataOffset = metadataOffset
        session.isFenced = fenced
        // A fenced broker leaves controlled shutdown: on its next heartbeat it is told to stop at once.
        if fenced { session.controlledShutdownOffset = -1 }
        sessions[id] = session
    }

    /// Notes that a heartbeat of `id` arrived at `now`, before it is processed: the broker is alive from that moment
    /// even when the heartbeat then waits behind other metadata commands, so the session expiry check never fences
    /// a broker whose heartbeat is queued. Only an unfenced session is refreshed; what the heartbeat decides
    /// (fencing, unfencing, controlled shutdown) is left to `touch` when it is processed.
    public mutating func noteContact(_ id: NodeID, image: MetadataImage, now: Int64) {
        guard var session = session(id, image: image), !session.isFenced, session.lastContactMs < now else { return }
        session.lastContactMs = now
        sessions[id] = session
    }

    /// Marks `id` fenced without a heartbeat (its session expired).
    public mutating func fence(_ id: NodeID) {
        var session =
            sessions[id]
            ?? Session(lastContactMs: activatedAtMs, metadataOffset: -1, isFenced: true, controlledShutdownOffset: -1)
        session.isFenced = true
        session.controlledShutdownOffset = -1
        sessions[id] = session
    }

    /// Notes that `id`'s controlled shutdown completes at `offset`; an earlier offset already noted is kept.
    public mutating func beginControlledShutdown(_ id: NodeID, at offset: Int64) {
        guard var session = sessions[id], !session.isFenced else { return }
        if session.controlledShutdownOffset < 0 { session.controlledShutdownOffset = offset }
        sessions[id] = session
    }

    /// Forgets `id` (its incarnation was replaced or it was unregistered).
    public mutating func remove(_ id: NodeID) {
        sessions.removeValue(forKey: id)
    }
}
