import FjordController
import FjordSecurity
import NIOConcurrencyHelpers

/// Client byte-rate quotas (KIP-13, KIP-55): what each client produced and fetched, measured per quota entity over
/// `quota.window.num` windows of `quota.window.size.seconds`, and how long a client over its quota
/// (`producer_byte_rate`, `consumer_byte_rate` in the metadata image) is throttled: the answer carries
/// `throttle_time_ms` and the connection is not read for that long (KIP-219), as Kafka does.
///
/// One lock (a leaf) over the rates; never held across I/O.
final class ClientQuotaManager: Sendable {
    enum Kind: String, Sendable {
        case produce
        case fetch

        var key: ClientQuotaKey { self == .produce ? .producerByteRate : .consumerByteRate }
    }

    private struct SensorKey: Hashable {
        var kind: Kind
        var user: String?
        var clientID: String?
    }

    private struct State {
        var rates: [SensorKey: QuotaRate] = [:]
    }

    private let publisher: MetadataPublisher
    private let metrics: BrokerMetrics?
    private let windows: Int
    private let windowMs: Int64
    private let state = NIOLockedValueBox(State())

    init(publisher: MetadataPublisher, windows: Int, windowMs: Int64, metrics: BrokerMetrics? = nil) {
        self.publisher = publisher
        self.metrics = metrics
        self.windows = windows
        self.windowMs = windowMs
    }

    /// Records `bytes` for the client and tells `throttle` how long (ms) its connection is to be held back: 0
    /// without a quota or within it (returned too). The rate is kept per quota entity: a quota of a client id is
    /// shared by every user of that id, a default quota applies to each client on its own.
    func record(
        _ kind: Kind, bytes: Int, principal: KafkaPrincipal, clientID: String, now: Int64,
        throttle: ConnectionThrottle?
    ) -> Int64 {
        let image = publisher.image
        guard let (entity, quota) = image.clientQuota(kind.key, user: principal.name, clientID: clientID) else {
            return 0
        }
        throttle?.markQuotaApplies()
        let throttleMs = measure(
            kind, entity: entity, quota: quota, bytes: bytes, principal: principal,
            clientID: clientID, now: now)
        throttle?.throttle(throttleMs)
        if throttleMs > 0 { metrics?.quotaThrottleMs[kind.rawValue]?.increment(by: Int64(throttleMs)) }
        return throttleMs
    }

    private func measure(
        _ kind: Kind, entity: ClientQuotaEntity, quota: Double, bytes: Int, principal: KafkaPrincipal,
        clientID: String, now: Int64
    ) -> Int64 {
        let key = SensorKey(
            kind: kind, user: entity.user == nil ? nil : principal.name,
            clientID: entity.clientID == nil ? nil : clientID)
        return state.withLockedValue { state in
            var rate = state.rates[key] ?? QuotaRate(windows: windows, windowMs: windowMs)
            rate.record(Double(bytes), now: now)
            let throttle = rate.throttleMs(quota: quota, now: now)
            state.rates[key] = rate

            return throttle
        }
    }
}

/// A connection's pending throttle: a handler sets it with its answer; the connection, once the answer is written,
/// stops reading for that long (`KafkaConnectionHandler`). A connection whose client has a quota handles one request
/// at a time, as Kafka handles every connection, so that a throttle holds back the very next request.
final class ConnectionThrottle: Sendable {
    private let pendingMs = NIOLockedValueBox<Int64>(0)
    private let quota = NIOLockedValueBox(false)

    /// Marks the client as one a quota applies to.
    func markQuotaApplies() {
        quota.withLockedValue { $0 = true }
    }

    var quotaApplies: Bool { quota.withLockedValue { $0 } }

    func throttle(_ ms: Int64) {
        guard ms > 0 else { return }
        pendingMs.withLockedValue { $0 = max($0, ms) }
    }

    /// The pending throttle, cleared.
    func take() -> Int64 {
        pendingMs.withLockedValue { value in
            defer { value = 0 }
            return value
        }
    }
}
