import FjordGroups
import FjordStorage
import KafkaProtocol
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import FjordBroker

/// Flow (HTTP tests):
/// 1. An `EmbeddedChannel` holding `MetricsHTTPHandler` with routes that render a registry of this test.
/// 2. Write a request as the HTTP decoder delivers it (head, body parts, end); read the response parts back.
///
/// Flow (scrape tests):
/// 1. Partition and group snapshots as a scrape gathers them from the broker.
/// 2. `BrokerMetrics.gauges` computes the scrape-time series; `publish` then `render` gives the exposition text.
@Suite struct MetricsTests {
    private func makeChannel(metrics: BrokerMetrics = BrokerMetrics(), serving: Bool = true) throws -> EmbeddedChannel {
        let routes = MetricsHTTPHandler.Routes(metrics: { metrics.render() }, isServing: { serving })
        let channel = EmbeddedChannel(handler: MetricsHTTPHandler(routes: routes))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    private struct Response {
        var head: HTTPResponseHead
        var body: String
    }

    private func request(_ method: HTTPMethod, _ uri: String, body: Int = 0, on channel: EmbeddedChannel) throws
        -> Response?
    {
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        head.headers.add(name: "Host", value: "127.0.0.1")
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        if body > 0 { try channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(repeating: 0x41, count: body))) }
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case .head(let responseHead)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else {
            return nil
        }
        var text = ""
        while let part = try channel.readOutbound(as: HTTPServerResponsePart.self) {
            switch part {
            case .body(.byteBuffer(let buffer)): text += String(buffer: buffer)
            case .body: Issue.record("unexpected file body")
            case .head: Issue.record("second head")
            case .end: return Response(head: responseHead, body: text)
            }
        }
        return Response(head: responseHead, body: text)
    }

    @Test func healthIsOkWhileServingAndUnavailableAfter() throws {
        let response = try #require(try request(.GET, "/health", on: makeChannel()))
        #expect(response.head.status == .ok)
        #expect(response.body == "ok\n")
        let stopping = try #require(try request(.GET, "/health", on: makeChannel(serving: false)))
        #expect(stopping.head.status == .serviceUnavailable)
    }

    @Test func metricsAreTheTextExposition() throws {
        let metrics = BrokerMetrics()
        metrics.topic("orders").bytesIn.increment(by: 120)
        metrics.countProduceError(.notEnoughReplicas)
        let response = try #require(try request(.GET, "/metrics?x=1", on: makeChannel(metrics: metrics)))
        #expect(response.head.status == .ok)
        #expect(response.head.headers["Content-Type"].first == "text/plain; version=0.0.4; charset=utf-8")
        #expect(response.head.headers["Content-Length"].first == String(response.body.utf8.count))
        #expect(response.body.contains("# TYPE fjord_topic_bytes_in_total counter"))
        #expect(response.body.contains("fjord_topic_bytes_in_total{topic=\"orders\"} 120"))
        #expect(response.body.contains("fjord_produce_errors_total{code=\"19\"} 1"))
        #expect(response.body.contains("# HELP fjord_connections_active "))
    }

    @Test func headAnswersWithoutABody() throws {
        let channel = try makeChannel()
        let response = try #require(try request(.HEAD, "/health", on: channel))
        #expect(response.head.status == .ok)
        #expect(response.body.isEmpty)
        #expect(response.head.headers["Content-Length"].first == "3")
    }

    @Test(arguments: ["/", "/metricsx", "/health/extra", "/../metrics"])
    func unknownPathsAre404(path: String) throws {
        let response = try #require(try request(.GET, path, on: makeChannel()))
        #expect(response.head.status == .notFound)
    }

    @Test(arguments: [HTTPMethod.POST, .PUT, .DELETE])
    func otherMethodsAre405(method: HTTPMethod) throws {
        let response = try #require(try request(method, "/metrics", on: makeChannel()))
        #expect(response.head.status == .methodNotAllowed)
        #expect(response.head.headers["Allow"].first == "GET, HEAD")
    }

    @Test func anOversizedBodyIsRejectedAndTheConnectionClosed() throws {
        let channel = try makeChannel()
        let response = try #require(
            try request(.POST, "/metrics", body: MetricsHTTPHandler.maximumBodyBytes + 1, on: channel))
        #expect(response.head.status == .payloadTooLarge)
        #expect(!channel.isActive)
    }

    @Test func lagIsLogEndMinusCommittedSummedPerGroupAndTopic() throws {
        func partition(end: Int64) -> BrokerMetrics.PartitionSnapshot {
            .init(
                logStartOffset: 0, highWatermark: end, sizeBytes: end * 10, segments: 1, isLeader: true,
                inSyncReplicas: 1, minInsyncReplicas: 1)
        }
        let partitions: [TopicPartition: BrokerMetrics.PartitionSnapshot] = [
            TopicPartition("orders", 0): partition(end: 10), TopicPartition("orders", 1): partition(end: 7),
            TopicPartition("audit", 0): partition(end: 3),
        ]
        var groups = BrokerMetrics.GroupSnapshot()
        // billing: 10-4 + 7-7 on orders; a committed partition that is not hosted is ignored; -1 means none.
        groups.committedOffsets["billing"] = [
            TopicPartition("orders", 0): 4, TopicPartition("orders", 1): 7, TopicPartition("orders", 9): 1,
            TopicPartition("audit", 0): -1,
        ]
        groups.committedOffsets["ahead"] = [TopicPartition("audit", 0): 5]  // never negative
        groups.groupCount = 2
        let values = BrokerMetrics.gauges(partitions: partitions, groups: groups, partitionLevel: false)
        #expect(values[ScrapeSeries("fjord_consumer_group_lag", ["group": "billing", "topic": "orders"])] == 6)
        #expect(values[ScrapeSeries("fjord_consumer_group_lag", ["group": "billing", "topic": "audit"])] == nil)
        #expect(values[ScrapeSeries("fjord_consumer_group_lag", ["group": "ahead", "topic": "audit"])] == 0)
        #expect(values[ScrapeSeries("fjord_partitions")] == 3)
        #expect(values[ScrapeSeries("fjord_topic_partitions", ["topic": "orders"])] == 2)
        #expect(values[ScrapeSeries("fjord_topic_log_size_bytes", ["topic": "orders"])] == 170)
        #expect(values[ScrapeSeries("fjord_consumer_groups")] == 2)
        #expect(
            !values.keys.contains {
                $0.name.hasPrefix("fjord_partition_") || $0.name == "fjord_consumer_group_partition_lag"
            })

        let detailed = BrokerMetrics.gauges(partitions: partitions, groups: groups, partitionLevel: true)
        #expect(
            detailed[
                ScrapeSeries(
                    "fjord_consumer_group_partition_lag", ["group": "billing", "topic": "orders", "partition": "0"])]
                == 6)
        #expect(detailed[ScrapeSeries("fjord_partition_log_end_offset", ["topic": "orders", "partition": "1"])] == 7)
    }

    @Test func underMinISRCountsLedPartitionsWithTooSmallAnISR() {
        let partitions: [TopicPartition: BrokerMetrics.PartitionSnapshot] = [
            TopicPartition("a", 0): .init(
                logStartOffset: 0, highWatermark: 0, sizeBytes: 0, segments: 1, isLeader: true, inSyncReplicas: 1,
                minInsyncReplicas: 2),
            TopicPartition("a", 1): .init(
                logStartOffset: 0, highWatermark: 0, sizeBytes: 0, segments: 1, isLeader: false, inSyncReplicas: 1,
                minInsyncReplicas: 2),
            TopicPartition("a", 2): .init(
                logStartOffset: 0, highWatermark: 0, sizeBytes: 0, segments: 1, isLeader: true, inSyncReplicas: 2,
                minInsyncReplicas: 2),
        ]
        let values = BrokerMetrics.gauges(partitions: partitions, groups: .init(), partitionLevel: false)
        #expect(values[ScrapeSeries("fjord_under_min_isr_partitions")] == 1)
    }

    @Test func seriesOfVanishedTopicsAndGroupsLeaveTheOutput() {
        let metrics = BrokerMetrics()
        metrics.publish([ScrapeSeries("fjord_consumer_group_lag", ["group": "g", "topic": "gone"]): 5])
        metrics.topic("gone").recordsIn.increment(by: 3)
        metrics.topic("kept").recordsIn.increment(by: 4)
        var text = String(buffer: metrics.render())
        #expect(text.contains("fjord_consumer_group_lag{group=\"g\",topic=\"gone\"} 5"))
        #expect(text.contains("fjord_topic_records_in_total{topic=\"gone\"} 3"))
        metrics.publish([:])
        metrics.retainTopics(["kept"])
        text = String(buffer: metrics.render())
        #expect(!text.contains("gone"))
        #expect(text.contains("fjord_topic_records_in_total{topic=\"kept\"} 4"))
    }

    @Test func metricsListenerParses() throws {
        #expect(
            try BrokerConfiguration(properties: []).metricsListener
                == Listener(name: "METRICS", host: "127.0.0.1", port: 9644))
        #expect(try BrokerConfiguration(properties: [("metrics.listener", "127.0.0.1:0")]).metricsListener?.port == 0)
        #expect(
            try BrokerConfiguration(properties: [("metrics.listener", "http://[::1]:9100")]).metricsListener?.host
                == "::1")
        #expect(try BrokerConfiguration(properties: [("metrics.listener", "none")]).metricsListener == nil)
        #expect(try BrokerConfiguration(properties: [("metrics.listener", "")]).metricsListener == nil)
        #expect(try BrokerConfiguration(properties: [("metrics.partition.level", "true")]).metricsPartitionLevel)
        #expect(throws: ConfigurationError.self) {
            try BrokerConfiguration(properties: [("metrics.listener", "127.0.0.1")])
        }
        #expect(throws: ConfigurationError.self) {
            try BrokerConfiguration(properties: [("metrics.listener", "127.0.0.1:70000")])
        }
        #expect(throws: ConfigurationError.self) {
            try BrokerConfiguration(properties: [("metrics.listener", "tcp://127.0.0.1:1")])
        }
    }
}
