import KafkaProtocol
import KafkaRecords
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Sends records to Kafka (DESIGN.md §1): metadata → partition → accumulate per partition until `batch.size` or
/// `linger.ms` → compress → send, with retries, idempotence and `buffer.memory` backpressure.
///
/// The producer is a `Service`: `run()` is the sender loop and must be running for records to leave (run it in a
/// `ServiceGroup`, or a task of your own). `close()` (or graceful shutdown) stops intake, sends what is buffered and
/// then lets `run()` return.
///
/// ```swift
/// let producer = Producer(configuration: ProducerConfiguration(client: .init(bootstrapServers: "127.0.0.1:9092")))
/// async let service: Void = producer.run()
/// let metadata = try await producer.send(topic: "events", key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"))
/// await producer.close()
/// try await service
/// ```
public actor Producer: Service {
    /// The configuration the producer was made with.
    public nonisolated let configuration: ProducerConfiguration
    /// The client used for metadata and requests (shared when passed in).
    public nonisolated let client: KafkaClient
    let logger: Logger

    /// The accumulator, partitioner, partition-count cache, closing flag and sender wakeup, behind one lock so
    /// that `send` usually appends without a hop onto the actor (see `ProducerIntake`).
    nonisolated let intake: AdaptiveLockedValueBox<ProducerIntake>
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1
    var nextSequence: [TopicPartition: Int32] = [:]
    /// Transactions (`Producer+Transactions.swift`): whether `initTransactions` succeeded, the partitions added to
    /// the open transaction, whether its offsets partition was added, and the error that makes it abort-only.
    var transactionsInitialized = false
    var transactionPartitions: Set<TopicPartition> = []
    var transactionOffsetsAdded = false
    var transactionFailure: ClientError?
    var inFlight: [TopicPartition: Int] = [:]
    var inFlightTotal = 0
    var flushRequests = 0
    /// When the sender's linger/backoff timer fires (nil: no timer pending).
    var timerDeadline: ContinuousClock.Instant?
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Senders waiting for `buffer.memory` room, by ticket; resumed when a batch finishes (or at their deadline).
    var memoryWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    var nextMemoryTicket = 0

    /// Creates a producer; pass `client` to share connections with other producers, consumers or admins.
    public init(configuration: ProducerConfiguration, client: KafkaClient? = nil) {
        self.configuration = configuration
        self.client = client ?? KafkaClient(configuration: configuration.client)
        self.logger = configuration.client.logger
        let accumulator = RecordAccumulator(
            batchSize: configuration.batchSize, linger: configuration.linger,
            bufferMemory: configuration.bufferMemory, compression: configuration.compression
        )
        self.intake = AdaptiveLockedValueBox(
            ProducerIntake(accumulator: accumulator, metadataMaxAge: configuration.client.metadataMaxAge)
        )
    }

    // MARK: Sending

    /// Sends one record and waits until the broker acknowledged it (or the send failed for good).
    ///
    /// - Parameters:
    ///   - partition: the partition; nil lets the partitioner choose (murmur2 of the key, sticky without one).
    ///   - timestamp: create time in milliseconds since the epoch; nil for now.
    public nonisolated func send(
        topic: String, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [],
        partition: Int32? = nil, timestamp: Int64? = nil
    ) async throws -> RecordMetadata {
        if configuration.transactionalID != nil { try checkTransactionOpen(topic: topic) }
        let target = try await reserve(topic: topic, key: key, value: value, headers: headers, partition: partition)
        let time = timestamp ?? Self.nowMilliseconds()
        return try await withCheckedThrowingContinuation { continuation in
            append(target, timestamp: time, key: key, value: value, headers: headers, completion: continuation)
        }
    }

    /// Sends one record without waiting for the acknowledgement: returns once the record is buffered (waiting
    /// for buffer space if needed). Failures are logged; `flush()` waits for the outcome.
    ///
    /// When the topic's partition count is cached and the record fits in `buffer.memory`, this returns without
    /// suspending on the producer.
    public nonisolated func sendAndForget(
        topic: String, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [],
        partition: Int32? = nil, timestamp: Int64? = nil
    ) async throws {
        if configuration.transactionalID != nil { try checkTransactionOpen(topic: topic) }
        let time = timestamp ?? Self.nowMilliseconds()
        if try appendAtOnce(
            topic: topic, key: key, value: value, headers: headers, partition: partition, timestamp: time)
        {
            return
        }
        let size = ProducerBatch.estimatedSize(key: key, value: value, headers: headers)
        let target = try await reserveSlowly(topic: topic, key: key, partition: partition, size: size)
        append(target, timestamp: time, key: key, value: value, headers: headers, completion: nil)
    }

    /// The fast path of `sendAndForget`: one lock, no suspension. Synchronous on purpose: in an async function
    /// every temporary is allocated from the task allocator. Returns false when the slow path must decide.
    @inline(never)
    private nonisolated func appendAtOnce(
        topic: String, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], partition: Int32?,
        timestamp: Int64
    ) throws(ClientError) -> Bool {
        let size = ProducerBatch.estimatedSize(key: key, value: value, headers: headers)
        guard size <= configuration.maxRequestSize else { return false }
        let now = ContinuousClock.now
        let outcome = intake.withLockedValue {
            $0.reserveAndAppend(
                topic: topic, key: key, value: value, headers: headers, partition: partition, size: size,
                timestamp: timestamp, now: now
            )
        }
        switch outcome {
        case .appended:
            return true
        case .appendedWaking(let sender):
            sender.resume()
            return true
        case .closed:
            throw Self.closedError(topic: topic)
        case .slowPath:
            return false
        }
    }

    /// Picks the partition and takes the record's room in `buffer.memory`: under the intake lock when the partition
    /// count is cached and there is room, else on the actor (fetching metadata, waiting for memory).
    private nonisolated func reserve(
        topic: String, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], partition: Int32?
    ) async throws -> TopicPartition {
        let size = ProducerBatch.estimatedSize(key: key, value: value, headers: headers)
        if size <= configuration.maxRequestSize {
            let now = ContinuousClock.now
            let reservation = intake.withLockedValue {
                $0.reserve(topic: topic, key: key, partition: partition, size: size, now: now)
            }
            switch reservation {
            case .reserved(let target): return target
            case .closed: throw Self.closedError(topic: topic)
            case .needsMetadata, .noRoom, .invalidPartition: break
            }
        }
        return try await reserveSlowly(topic: topic, key: key, partition: partition, size: size)
    }

    /// `reserve` when the partition count must be fetched or memory must free up.
    private func reserveSlowly(topic: String, key: ByteBuffer?, partition: Int32?, size: Int) async throws
        -> TopicPartition
    {
        guard !intake.withLockedValue({ $0.closing }) else { throw Self.closedError(topic: topic) }
        guard size <= configuration.maxRequestSize else {
            throw Self.tooLarge(size, configuration.maxRequestSize, topic: topic, partition: partition)
        }
        let deadline = ContinuousClock.now + configuration.maxBlock
        var fetched: Int?
        while true {
            let now = ContinuousClock.now
            let reservation = intake.withLockedValue {
                $0.reserve(topic: topic, key: key, partition: partition, size: size, count: fetched, now: now)
            }
            switch reservation {
            case .reserved(let target):
                return target
            case .closed:
                throw Self.closedError(topic: topic)
            case .invalidPartition(let count):
                throw ClientError(
                    .invalidArgument, "partition \(partition ?? -1) does not exist (topic has \(count))",
                    isRetriable: false, topic: topic, partition: partition
                )
            case .needsMetadata:
                let count = try await client.partitionCount(of: topic, deadline: deadline)
                intake.withLockedValue { $0.setPartitionCount(count, of: topic, at: .now) }
                fetched = count
            case .noRoom:
                guard now < deadline else {
                    throw ClientError(
                        .timeout, "buffer.memory full for longer than max.block", isRetriable: true, topic: topic
                    )
                }
                await waitForMemory(until: deadline)
            }
        }
    }

    private static func closedError(topic: String) -> ClientError {
        ClientError(.closed, "producer is closed", isRetriable: false, topic: topic)
    }

    private static func tooLarge(_ size: Int, _ limit: Int, topic: String, partition: Int32?) -> ClientError {
        ClientError(
            .invalidArgument, "record of \(size) bytes exceeds max.request.size \(limit)", isRetriable: false,
            topic: topic, partition: partition
        )
    }

    /// Suspends until a finished batch frees memory, the deadline passes, or the producer closes.
    private func waitForMemory(until deadline: ContinuousClock.Instant) async {
        let ticket = nextMemoryTicket
        nextMemoryTicket += 1
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                await self.resumeMemoryWaiter(ticket)
            }
            await withCheckedContinuation { memoryWaiters[ticket] = $0 }
            group.cancelAll()
        }
    }

    private func resumeMemoryWaiter(_ ticket: Int) {
        memoryWaiters.removeValue(forKey: ticket)?.resume()
    }

    /// Lets every sender waiting for memory look again.
    func resumeMemoryWaiters() {
        guard !memoryWaiters.isEmpty else { return }
        let waiters = memoryWaiters
        memoryWaiters.removeAll()
        for waiter in waiters.values { waiter.resume() }
    }

    /// Appends a reserved record and wakes the sender when the record closed or started a batch.
    private nonisolated func append(
        _ target: TopicPartition, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader],
        completion: ProducerBatch.Completion
    ) {
        let now = ContinuousClock.now
        let sender = intake.withLockedValue {
            $0.append(
                to: target, timestamp: timestamp, key: key, value: value, headers: headers, completion: completion,
                now: now
            )
        }
        sender?.resume()
    }

    /// Sends every buffered record now and waits until all have an outcome.
    public func flush() async {
        flushRequests += 1
        defer { flushRequests -= 1 }
        wakeSender()
        while !(intake.withLockedValue({ $0.accumulator.isEmpty }) && inFlightTotal == 0) {
            await withCheckedContinuation { idleWaiters.append($0) }
        }
    }

    /// Stops taking records, sends what is buffered (each record within its delivery timeout), and lets `run()`
    /// return. It returns once every buffered record has an outcome, so `run()` must be running.
    public func close() async {
        intake.withLockedValue { $0.closing = true }
        resumeMemoryWaiters()
        wakeSender()
        await flush()
    }

    static func nowMilliseconds() -> Int64 {
        let now = timespec.now()
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

extension timespec {
    static func now() -> timespec {
        var value = timespec()
        clock_gettime(CLOCK_REALTIME, &value)
        return value
    }
}
