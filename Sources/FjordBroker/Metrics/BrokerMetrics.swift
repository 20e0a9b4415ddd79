import CoreMetrics
import FjordRaft
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// The broker's metrics, kept in its own `PrometheusCollectorRegistry` and rendered by `/metrics`.
///
/// Two kinds of series:
/// - counted on the data path (requests, latency, bytes and records per topic, errors, connections, parked
///   fetches): swift-metrics `Counter`/`Timer`/`Meter` handles made once and cached, so a request or a batch only
///   does relaxed atomic adds (one dictionary lookup under a short lock per topic and batch, none per record);
/// - computed at scrape time (`BrokerMetrics+Scrape.swift`: partitions, log sizes, under-min-ISR, group purgatory,
///   consumer lag), set just before rendering.
///
/// Label cardinality is bounded by what exists: topics and groups the broker holds, API keys it serves, Kafka error
/// codes. A scrape drops the series of topics that no longer exist and of groups that no longer have offsets.
/// Per-partition series exist only with `metrics.partition.level=true`.
final class BrokerMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let factory: BrokerMetricsFactory
    /// Export per-partition series (`metrics.partition.level`).
    let partitionLevel: Bool
    /// Open Kafka connections.
    let connections: Meter
    /// Fetches parked until `min_bytes` arrive or `max_wait_ms` passes (the fetch purgatory).
    let parkedFetches: Meter
    /// Throttled milliseconds of clients over their byte-rate quotas, by type (`ClientQuotaManager`).
    let quotaThrottleMs: [String: CoreMetrics.Counter]

    private let topics = NIOLockedValueBox<[String: TopicMetrics]>([:])
    private let errors = NIOLockedValueBox<[ErrorSeries: CoreMetrics.Counter]>([:])
    /// The gauges set by the last scrape, so the next one can drop the series that vanished.
    let scrapeState = NIOLockedValueBox<[ScrapeSeries: Meter]>([:])
    /// The metadata quorum as the driver last described it (asked at each scrape, answered between its rounds:
    /// `BrokerMetrics+Quorum.swift`).
    let lastQuorumDescription = NIOLockedValueBox<QuorumDescription?>(nil)

    /// Request latency buckets: from sub-millisecond produces to long-polling fetches.
    static let latencyBuckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
    ]

    /// Every series this broker exports, with its help text (one table, so each name has one help text).
    static let help: [String: String] = [
        "fjord_requests_total": "Requests received, by API.",
        "fjord_request_duration_seconds": "Time from a request's arrival to its response being ready, by API.",
        "fjord_topic_bytes_in_total": "Record batch bytes appended by produce requests, by topic.",
        "fjord_topic_records_in_total": "Records appended by produce requests, by topic.",
        "fjord_topic_bytes_out_total": "Record batch bytes sent to fetchers, by topic.",
        "fjord_topic_records_out_total":
            "Offsets sent to fetchers (from the fetch offset to the end of the last batch), by topic.",
        "fjord_produce_errors_total": "Partition-level produce failures, by Kafka error code.",
        "fjord_fetch_errors_total": "Partition-level fetch failures, by Kafka error code.",
        "fjord_connections_active": "Open Kafka client connections.",
        "fjord_client_quota_throttle_time_ms_total":
            "Milliseconds clients over a byte-rate quota were throttled, by quota type (produce, fetch).",
        "fjord_purgatory_size":
            "Requests waiting: parked fetches, JoinGroup and SyncGroup answers waiting for a rebalance.",
        "fjord_partitions": "Partitions hosted by this broker.",
        "fjord_under_min_isr_partitions": "Partitions led here whose ISR is smaller than min.insync.replicas.",
        "fjord_topic_partitions": "Partitions of each topic hosted by this broker.",
        "fjord_topic_log_size_bytes": "Bytes of all segments of a topic's partitions on this broker.",
        "fjord_topic_log_segments": "Segments of a topic's partitions on this broker.",
        "fjord_consumer_group_lag":
            "Log end offset minus committed offset, summed over a group's committed partitions of a topic.",
        "fjord_consumer_groups": "Groups with committed offsets or members.",
        "fjord_partition_log_start_offset": "Log start offset of a partition (metrics.partition.level).",
        "fjord_partition_log_end_offset": "Log end offset of a partition (metrics.partition.level).",
        "fjord_partition_log_size_bytes": "Bytes of a partition's segments (metrics.partition.level).",
        "fjord_consumer_group_partition_lag":
            "Log end offset minus committed offset of one partition (metrics.partition.level).",
        "fjord_metadata_quorum_leader_id":
            "The metadata quorum's leader (the active controller) as this node knows it; -1: none.",
        "fjord_metadata_quorum_epoch": "The metadata quorum's epoch on this node.",
        "fjord_metadata_quorum_is_leader": "1 while this node leads the metadata quorum, else 0.",
        "fjord_metadata_quorum_high_watermark":
            "The metadata log's high watermark as this node knows it; -1: unknown.",
        "fjord_metadata_quorum_applied_end_offset": "The offset after the last committed metadata batch applied here.",
        "fjord_metadata_quorum_commit_latency_avg_ms":
            "On the leader: mean ms from a metadata batch's append to the high watermark passing it (last 30-60 s).",
        "fjord_metadata_quorum_commit_latency_max_ms":
            "On the leader: the longest ms from a metadata batch's append to its commit (last 30-60 s).",
        "fjord_metadata_quorum_voter_lag":
            "On the leader: its log end minus each voter's fetched log end (offsets), by voter.",
        "fjord_metadata_quorum_voter_caught_up_lag_ms":
            "On the leader: ms since each voter last fetched up to the leader's log end, by voter.",
    ]

    init(partitionLevel: Bool = false) {
        let registry = PrometheusCollectorRegistry()
        let factory = BrokerMetricsFactory(
            registry: registry, help: Self.help, durationBuckets: Self.latencyBuckets, valueBuckets: [1, 10, 100, 1000]
        )
        self.registry = registry
        self.factory = factory
        self.partitionLevel = partitionLevel
        connections = Meter(label: "fjord_connections_active", dimensions: [], factory: factory)
        parkedFetches = Meter(label: "fjord_purgatory_size", dimensions: [("operation", "fetch")], factory: factory)
        quotaThrottleMs = ["produce", "fetch"].reduce(into: [:]) { counters, type in
            counters[type] = CoreMetrics.Counter(
                label: "fjord_client_quota_throttle_time_ms_total", dimensions: [("type", type)], factory: factory)
        }
    }

    // MARK: Data path

    /// The counters of `topic`, made on first use.
    func topic(_ name: String) -> TopicMetrics {
        if let existing = topics.withLockedValue({ $0[name] }) { return existing }
        let made = TopicMetrics(topic: name, factory: factory)
        return topics.withLockedValue { cache in
            if let raced = cache[name] { return raced }
            cache[name] = made
            return made
        }
    }

    func countProduceError(_ code: ErrorCode) {
        errorCounter(.init(name: "fjord_produce_errors_total", code: code.rawValue)).increment()
    }

    func countFetchError(_ code: ErrorCode) {
        errorCounter(.init(name: "fjord_fetch_errors_total", code: code.rawValue)).increment()
    }

    private func errorCounter(_ series: ErrorSeries) -> CoreMetrics.Counter {
        errors.withLockedValue { cache in
            if let existing = cache[series] { return existing }
            let counter = CoreMetrics.Counter(
                label: series.name, dimensions: [("code", String(series.code))], factory: factory)
            cache[series] = counter
            return counter
        }
    }

    /// Request counters and latency histograms for the served APIs, made up front so the connection handler looks
    /// them up without a lock (and a scrape lists every served API, at zero until used).
    func requestMetrics(for apiKeys: [ApiKey]) -> RequestMetricsTable {
        var table = [ApiKey: RequestMetrics]()
        for key in apiKeys {
            let dimensions = [("api", key.name)]
            table[key] = RequestMetrics(
                count: CoreMetrics.Counter(label: "fjord_requests_total", dimensions: dimensions, factory: factory),
                latency: CoreMetrics.Timer(
                    label: "fjord_request_duration_seconds", dimensions: dimensions, factory: factory)
            )
        }
        return RequestMetricsTable(byKey: table, connections: connections)
    }

    /// Drops the counters of topics not in `existing` (deleted topics), so their series leave the output.
    func retainTopics(_ existing: Set<String>) {
        let removed = topics.withLockedValue { cache -> [TopicMetrics] in
            let gone = cache.filter { !existing.contains($0.key) }
            for name in gone.keys { cache[name] = nil }
            return Array(gone.values)
        }
        for metrics in removed { metrics.destroy() }
    }

    /// The Prometheus text exposition (format 0.0.4) of everything registered.
    func render() -> ByteBuffer {
        ByteBuffer(bytes: registry.emitToBuffer())
    }
}

/// The counters of one topic (produce in, fetch out).
final class TopicMetrics: Sendable {
    let bytesIn: CoreMetrics.Counter
    let recordsIn: CoreMetrics.Counter
    let bytesOut: CoreMetrics.Counter
    let recordsOut: CoreMetrics.Counter

    init(topic: String, factory: BrokerMetricsFactory) {
        let dimensions = [("topic", topic)]
        bytesIn = CoreMetrics.Counter(label: "fjord_topic_bytes_in_total", dimensions: dimensions, factory: factory)
        recordsIn = CoreMetrics.Counter(label: "fjord_topic_records_in_total", dimensions: dimensions, factory: factory)
        bytesOut = CoreMetrics.Counter(label: "fjord_topic_bytes_out_total", dimensions: dimensions, factory: factory)
        recordsOut = CoreMetrics.Counter(
            label: "fjord_topic_records_out_total", dimensions: dimensions, factory: factory)
    }

    func destroy() {
        for counter in [bytesIn, recordsIn, bytesOut, recordsOut] { counter.destroy() }
    }
}

/// The count and latency of one API.
struct RequestMetrics: Sendable {
    let count: CoreMetrics.Counter
    let latency: CoreMetrics.Timer
}

/// What a connection handler records: per-API request metrics (immutable, so read without a lock) and the open
/// connection gauge.
struct RequestMetricsTable: Sendable {
    let byKey: [ApiKey: RequestMetrics]
    let connections: Meter
}

struct ErrorSeries: Hashable, Sendable {
    var name: String
    var code: Int16
}

/// One scrape-time gauge: its name and label values in order.
struct ScrapeSeries: Hashable, Sendable {
    var name: String
    var labels: [String: String]

    init(_ name: String, _ labels: [String: String] = [:]) {
        self.name = name
        self.labels = labels
    }
}
