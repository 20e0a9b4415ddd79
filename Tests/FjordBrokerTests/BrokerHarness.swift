import FjordController
import Foundation
import KafkaProtocol
import KafkaRecords
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import FjordBroker
@testable import FjordStorage

/// A single node's `BrokerServices` over a temporary data folder, built by `Broker.openLogs` exactly as `Broker.run`
/// builds them (metadata log, replicas, group and transaction coordinators with their ticks, a thread pool, a
/// `MultiThreadedEventLoopGroup`), without the network: tests call the API handlers directly, on an event loop, with
/// a `RequestContext`, and decode the `ResponseBody` back into the typed response as a client would read it.
///
/// Requests go through their wire encoding at the version asked for (encoded, then decoded) before the handler sees
/// them, so a field the version does not carry is absent as it would be on the wire. Every handler future is
/// remembered and awaited before the event loops stop, so a test that fails half-way never leaves a parked fetch or
/// join behind (NIO traps on an unfulfilled promise).
final class BrokerHarness: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    let directory: String
    let configuration: BrokerConfiguration
    let services: BrokerServices
    let group: MultiThreadedEventLoopGroup
    let threadPool: NIOThreadPool
    let logManager: LogManager
    private let ticks: Task<Void, Never>
    private let outstanding = NIOLockedValueBox<[EventLoopFuture<Void>]>([])
    private let correlationIDs = NIOLockedValueBox<Int32>(0)

    /// The settings every harness starts with: small internal topics and no initial rebalance delay, so that a test
    /// does not wait for what it does not test. `overrides` win.
    static let baseProperties: [(String, String)] = [
        ("offsets.topic.num.partitions", "3"),
        ("transaction.state.log.num.partitions", "3"),
        ("group.initial.rebalance.delay.ms", "0"),
        ("metrics.listener", ""),
    ]

    private init(overrides: [(String, String)]) throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("fjord-harness-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        configuration = try BrokerConfiguration(properties: Self.baseProperties + [("log.dirs", directory)] + overrides)
        var logger = Logger(label: "fjord.test")
        logger.logLevel = .critical
        threadPool = NIOThreadPool(numberOfThreads: configuration.ioThreads)
        threadPool.start()
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        logManager = LogManager(dataDirectories: configuration.logDirs, logger: logger)
        services = try Broker(configuration: configuration, logger: logger)
            .openLogs(logManager: logManager, clusterID: "harness-cluster", threadPool: threadPool)
        // The coordinators' ticks run as the broker runs them: as services, until the harness shuts down.
        let services = self.services
        let threadPool = self.threadPool
        let interval = Int64(configuration.transactionAbortTimedOutCheckIntervalMs)
        ticks = Task {
            await withTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    try? await GroupCoordinatorService(coordinator: services.groups, threadPool: threadPool).run()
                }
                tasks.addTask {
                    try? await TransactionCoordinatorService(
                        coordinator: services.transactions, threadPool: threadPool, interval: .milliseconds(interval)
                    ).run()
                }
            }
        }
    }

    /// Runs `body` against a fresh broker and tears it down afterwards, whether `body` succeeds or throws.
    static func withBroker<T>(_ overrides: [(String, String)] = [], _ body: (BrokerHarness) async throws -> T)
        async throws -> T
    {
        let harness = try BrokerHarness(overrides: overrides)
        do {
            let result = try await body(harness)
            await harness.shutdown()
            return result
        } catch {
            await harness.shutdown()
            throw error
        }
    }

    private func shutdown() async {
        // Parked fetches end at their max_wait_ms at the latest; waiting here keeps a failed test from crashing.
        for future in outstanding.withLockedValue({ $0 }) { _ = try? await future.get() }
        ticks.cancel()
        await ticks.value
        try? await threadPool.shutdownGracefully()
        try? await group.shutdownGracefully()
        services.writeProducerSnapshots()
        try? logManager.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }

    var image: MetadataImage { services.image }

    // MARK: Calling handlers

    func context(_ apiKey: ApiKey, version: Int16, on eventLoop: any EventLoop) -> RequestContext {
        let correlationID = correlationIDs.withLockedValue {
            $0 += 1
            return $0
        }
        return RequestContext(
            header: RequestHeader(
                requestApiKey: apiKey.rawValue, requestApiVersion: version, correlationID: correlationID,
                clientID: "harness"),
            peer: "[IPv4]127.0.0.1/127.0.0.1:50000", eventLoop: eventLoop
        )
    }

    /// Starts `handler` with `request` as it reads after a trip through the wire encoding of `version`, where the
    /// broker's registry runs it: on `eventLoop` (a connection's loop; any of the group's when nil), or on the I/O
    /// thread pool when the handler declares `.ioThreadPool`.
    func start<Handler: APIHandler>(
        _ handler: Handler, _ request: Handler.Request, version: Int16, on eventLoop: (any EventLoop)? = nil
    ) throws -> EventLoopFuture<ResponseBody?> {
        let decoded = try Handler.Request.decodeWhole(from: request.encoded(version: version), version: version)
        let loop = eventLoop ?? group.next()
        let context = context(Handler.Request.apiKey, version: version, on: loop)
        let future: EventLoopFuture<ResponseBody?> =
            switch handler.execution {
            case .eventLoop: loop.flatSubmit { handler.respond(to: decoded, context: context) }
            case .ioThreadPool:
                threadPool.runIfActive(eventLoop: loop) { handler.respond(to: decoded, context: context) }.flatMap {
                    $0
                }
            }
        outstanding.withLockedValue { $0.append(future.map { _ in }.recover { _ in }) }
        return future
    }

    /// Calls `handler` and returns its encoded answer (nil when it sends none).
    func respond<Handler: APIHandler>(
        _ handler: Handler, _ request: Handler.Request, version: Int16, on eventLoop: (any EventLoop)? = nil,
        within timeout: TimeAmount = .seconds(60)
    ) async throws -> ResponseBody? {
        try await wait(
            start(handler, request, version: version, on: eventLoop), within: timeout,
            "\(Handler.Request.apiKey) v\(version)")
    }

    /// Calls `handler` and decodes its answer as the client would.
    func call<Handler: APIHandler>(
        _ handler: Handler, _ request: Handler.Request, version: Int16, on eventLoop: (any EventLoop)? = nil,
        within timeout: TimeAmount = .seconds(60)
    ) async throws -> Handler.Request.Response {
        let body = try await respond(handler, request, version: version, on: eventLoop, within: timeout)
        guard let body else { throw Failure("\(Handler.Request.apiKey) v\(version) sent no answer") }
        return try Self.decode(body, as: Handler.Request.Response.self, version: version)
    }

    /// The bytes a client receives: buffers as they are, file slices read from their segment files.
    static func bytes(of body: ResponseBody) throws -> ByteBuffer {
        var bytes = ByteBuffer()
        for part in body.parts {
            switch part {
            case .bytes(let buffer): bytes.writeImmutableBuffer(buffer)
            case .file(let slice):
                bytes.writeImmutableBuffer(try slice.file.read(at: slice.position, length: slice.length))
            }
        }
        return bytes
    }

    static func decode<Response: KafkaVersionedMessage>(_ body: ResponseBody, as: Response.Type, version: Int16) throws
        -> Response
    {
        let bytes = try bytes(of: body)
        #expect(bytes.readableBytes == body.byteCount)
        return try Response.decodeWhole(from: bytes, version: version)
    }

    /// `future`'s value, or a failure after `timeout` (the future's own work goes on).
    func wait<T: Sendable>(_ future: EventLoopFuture<T>, within timeout: TimeAmount, _ what: String) async throws -> T {
        let loop = future.eventLoop
        let promise = loop.makePromise(of: T.self)
        let timer = loop.scheduleTask(in: timeout) { promise.fail(Failure("no answer to \(what) within \(timeout)")) }
        future.whenComplete { result in
            timer.cancel()
            promise.completeWith(result)
        }
        return try await promise.futureResult.get()
    }

    /// Polls `condition` until it holds, failing after `timeout`. For state that changes in the background.
    func waitUntil(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws
    {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw Failure("timed out waiting until \(what)") }
            try await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Fetches parked in the purgatory, as `/metrics` reports them.
    var parkedFetches: Int {
        let text = String(buffer: services.metrics.render())
        let prefix = "fjord_purgatory_size{operation=\"fetch\"} "
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) else { return 0 }
        return Int(Double(line.dropFirst(prefix.count)) ?? -1)
    }

    func replica(_ topic: String, _ partition: Int32 = 0) throws -> PartitionReplica {
        guard let replica = services.replicas.replica(for: TopicPartition(topic, partition)) else {
            throw Failure("no replica of \(topic)-\(partition)")
        }
        return replica
    }

    // MARK: Topics

    /// Creates a topic through CreateTopics and returns its id.
    @discardableResult
    func createTopic(_ name: String, partitions: Int32 = 1, configs: [String: String] = [:]) async throws -> KafkaUUID {
        let request = CreateTopicsRequest(
            topics: [
                .init(
                    name: name, numPartitions: partitions, replicationFactor: 1,
                    configs: configs.sorted { $0.key < $1.key }.map { .init(name: $0.key, value: $0.value) }
                )
            ],
            timeoutMs: 30_000
        )
        let response = try await call(CreateTopicsHandler(services: services), request, version: 7)
        let result = try #require(response.topics.first)
        guard result.errorCode == ErrorCode.none.rawValue else {
            throw Failure("CreateTopics \(name): error \(result.errorCode) \(result.errorMessage ?? "")")
        }
        return result.topicID
    }

    // MARK: Records

    /// A record batch as a producer builds it. Timestamps default to now (the broker checks them against its clock).
    static func batch(
        _ values: [String], keys: [String?]? = nil, timestamps: [Int64]? = nil, producerID: Int64 = -1,
        producerEpoch: Int16 = -1,
        baseSequence: Int32 = -1, transactional: Bool = false
    ) -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.producerID = producerID
        options.producerEpoch = producerEpoch
        options.baseSequence = baseSequence
        options.isTransactional = transactional
        var builder = RecordBatchBuilder(options: options)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        for (index, value) in values.enumerated() {
            builder.append(
                timestamp: timestamps?[index] ?? now, key: keys?[index].map { ByteBuffer(string: $0) },
                value: ByteBuffer(string: value)
            )
        }
        return try! builder.build().buffer
    }

    /// Produces one batch to one partition and returns the partition's answer.
    func produce(
        _ topic: String, partition: Int32 = 0, _ records: ByteBuffer?, acks: Int16 = -1, transactionalID: String? = nil,
        version: Int16 = 9
    ) async throws -> ProduceResponse.PartitionProduceResponse {
        let request = ProduceRequest(
            transactionalID: transactionalID, acks: acks, timeoutMs: 30_000,
            topicData: [.init(name: topic, partitionData: [.init(index: partition, records: records)])]
        )
        let response = try await call(ProduceHandler(services: services), request, version: version)
        return try #require(response.responses.first?.partitionResponses.first)
    }

    /// Produces `values` as one plain batch and checks that it was appended; returns its base offset.
    @discardableResult
    func append(
        _ topic: String, partition: Int32 = 0, _ values: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Int64 {
        let answer = try await produce(topic, partition: partition, Self.batch(values))
        #expect(
            answer.errorCode == ErrorCode.none.rawValue, "\(answer.errorMessage ?? "")", sourceLocation: sourceLocation)
        return answer.baseOffset
    }

    /// One fetched record, with what its batch says about it.
    struct FetchedRecord: Equatable, CustomStringConvertible {
        var offset: Int64
        var key: String?
        var value: String?
        var producerID: Int64
        var isTransactional: Bool
        var description: String { "\(offset):\(value ?? "null")" }
    }

    /// What a read_committed consumer delivers from a fetched partition: its data records without those of the aborted
    /// transactions it lists. As Kafka's consumer does: walking the batches in order, a producer's transactional batches
    /// are dropped from the first offset of one of its listed aborted transactions up to its next ABORT marker.
    static func committedRecords(_ data: FetchResponse.PartitionData) throws -> [FetchedRecord] {
        var pending = (data.abortedTransactions ?? []).sorted { $0.firstOffset < $1.firstOffset }
        var aborting = Set<Int64>()
        var result = [FetchedRecord]()
        for batch in try batches(in: data.records) {
            while let next = pending.first, next.firstOffset <= batch.lastOffset {
                aborting.insert(next.producerID)
                pending.removeFirst()
            }
            if batch.isControl {
                if let marker = TransactionMarker(controlBatch: batch), !marker.isCommit {
                    aborting.remove(batch.producerID)
                }
                continue
            }
            if batch.isTransactional, aborting.contains(batch.producerID) { continue }
            result += try records(in: batch.buffer)
        }
        return result
    }

    /// The batches of a fetched `records` field (a trailing partial batch is dropped, as clients do).
    static func batches(in records: ByteBuffer?) throws -> [RecordBatch] {
        guard let records, records.readableBytes > 0 else { return [] }
        return try RecordBatchSequence(records, mode: .fetch).batches()
    }

    /// The data records of a fetched `records` field (control batches left out), every batch's CRC checked.
    static func records(in records: ByteBuffer?) throws -> [FetchedRecord] {
        var result = [FetchedRecord]()
        for batch in try batches(in: records) where !batch.isControl {
            #expect(batch.isCRCValid)
            for record in try batch.records() {
                result.append(
                    FetchedRecord(
                        offset: record.offset, key: record.key.map { String(buffer: $0) },
                        value: record.value.map { String(buffer: $0) },
                        producerID: batch.producerID, isTransactional: batch.isTransactional
                    ))
            }
        }
        return result
    }
}

// MARK: Fetch requests and responses

extension BrokerHarness {
    /// One partition of a fetch request.
    struct FetchTarget {
        var topic: String
        var topicID: KafkaUUID = .zero
        var partition: Int32 = 0
        var offset: Int64 = 0
        var maxBytes: Int32 = 1 << 20
        var leaderEpoch: Int32 = -1
        /// The epoch of the last batch the consumer read (v12+), -1: not sent.
        var lastFetchedEpoch: Int32 = -1
    }

    /// A consumer's fetch request (consecutive targets of one topic share a topic entry).
    static func fetchRequest(
        _ targets: [FetchTarget], maxWaitMs: Int32 = 0, minBytes: Int32 = 0, maxBytes: Int32 = 50 << 20,
        isolationLevel: Int8 = 0,
        sessionID: Int32 = 0, sessionEpoch: Int32 = -1, forgotten: [FetchRequest.ForgottenTopic] = []
    ) -> FetchRequest {
        var topics = [FetchRequest.FetchTopic]()
        for target in targets {
            let partition = FetchRequest.FetchPartition(
                partition: target.partition, currentLeaderEpoch: target.leaderEpoch, fetchOffset: target.offset,
                lastFetchedEpoch: target.lastFetchedEpoch, partitionMaxBytes: target.maxBytes
            )
            if let last = topics.last, last.topic == target.topic, last.topicID == target.topicID {
                topics[topics.count - 1].partitions.append(partition)
            } else {
                topics.append(.init(topic: target.topic, topicID: target.topicID, partitions: [partition]))
            }
        }
        return FetchRequest(
            maxWaitMs: maxWaitMs, minBytes: minBytes, maxBytes: maxBytes, isolationLevel: isolationLevel,
            sessionID: sessionID,
            sessionEpoch: sessionEpoch, topics: topics, forgottenTopicsData: forgotten
        )
    }

    func fetch(_ request: FetchRequest, version: Int16 = 12, on eventLoop: (any EventLoop)? = nil) async throws
        -> FetchResponse
    {
        try await call(FetchHandler(services: services), request, version: version, on: eventLoop)
    }

    /// Starts a fetch without waiting for it (long polls); decode its answer with `fetchResponse(of:version:)`.
    func startFetch(_ request: FetchRequest, version: Int16 = 12, on eventLoop: (any EventLoop)? = nil) throws
        -> EventLoopFuture<ResponseBody?>
    {
        try start(FetchHandler(services: services), request, version: version, on: eventLoop)
    }

    func fetchResponse(
        of future: EventLoopFuture<ResponseBody?>, version: Int16 = 12, within timeout: TimeAmount = .seconds(60)
    ) async throws -> FetchResponse {
        let body = try await wait(future, within: timeout, "Fetch v\(version)")
        return try Self.decode(try #require(body), as: FetchResponse.self, version: version)
    }
}

extension FetchResponse {
    /// The answer for one partition, found by topic name (v4-v12) or topic id (v13+).
    func data(_ topic: String, id topicID: KafkaUUID = .zero, partition: Int32 = 0) -> PartitionData? {
        responses.first { $0.topic == topic && !topic.isEmpty || topicID != .zero && $0.topicID == topicID }?
            .partitions.first { $0.partitionIndex == partition }
    }

    /// Every partition in the answer as "topic-or-id:partition", in answer order.
    var listed: [String] {
        responses.flatMap { topic in
            topic.partitions.map {
                "\(topic.topic.isEmpty ? topic.topicID.description : topic.topic):\($0.partitionIndex)"
            }
        }
    }
}

// MARK: Transactional producers

extension BrokerHarness {
    /// What a transactional producer keeps: its id and epoch from InitProducerId and its next sequence per partition.
    struct TransactionalProducer {
        var transactionalID: String
        var producerID: Int64
        var epoch: Int16
        var sequences: [TopicPartition: Int32] = [:]
    }

    /// InitProducerId with a transactional id (creates `__transaction_state` on first use).
    func initTransactions(
        _ transactionalID: String, timeoutMs: Int32 = 60_000, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> TransactionalProducer {
        let response = try await call(
            InitProducerIDHandler(services: services),
            InitProducerIDRequest(transactionalID: transactionalID, transactionTimeoutMs: timeoutMs),
            version: 4
        )
        guard response.errorCode == 0 else {
            throw Failure("InitProducerId \(transactionalID): error \(response.errorCode)")
        }
        return TransactionalProducer(
            transactionalID: transactionalID, producerID: response.producerID, epoch: response.producerEpoch)
    }

    /// AddPartitionsToTxn v3; returns each partition's error code in request order.
    @discardableResult
    func addPartitions(_ producer: TransactionalProducer, _ topic: String, _ partitions: [Int32] = [0]) async throws
        -> [Int16]
    {
        let response = try await call(
            AddPartitionsToTxnHandler(services: services),
            AddPartitionsToTxnRequest(
                v3AndBelowTransactionalID: producer.transactionalID, v3AndBelowProducerID: producer.producerID,
                v3AndBelowProducerEpoch: producer.epoch, v3AndBelowTopics: [.init(name: topic, partitions: partitions)]
            ), version: 3)
        return response.resultsByTopicV3AndBelow.flatMap(\.resultsByPartition).map(\.partitionErrorCode)
    }

    /// Produces `values` as one transactional batch (the partition must have been added); returns the partition's answer.
    func produce(_ producer: inout TransactionalProducer, _ topic: String, partition: Int32 = 0, _ values: [String])
        async throws -> ProduceResponse.PartitionProduceResponse
    {
        let key = TopicPartition(topic, partition)
        let sequence = producer.sequences[key] ?? 0
        let batch = Self.batch(
            values, producerID: producer.producerID, producerEpoch: producer.epoch, baseSequence: sequence,
            transactional: true)
        let answer = try await produce(topic, partition: partition, batch, transactionalID: producer.transactionalID)
        if answer.errorCode == 0 { producer.sequences[key] = sequence + Int32(values.count) }
        return answer
    }

    /// EndTxn v3 (commit or abort); returns its error code.
    func endTransaction(_ producer: TransactionalProducer, commit: Bool) async throws -> Int16 {
        let response = try await call(
            EndTxnHandler(services: services),
            EndTxnRequest(
                transactionalID: producer.transactionalID, producerID: producer.producerID,
                producerEpoch: producer.epoch, committed: commit
            ), version: 3)
        return response.errorCode
    }
}
