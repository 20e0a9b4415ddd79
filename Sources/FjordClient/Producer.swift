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

    var accumulator: RecordAccumulator
    var partitioner = Partitioner()
    /// Partition counts per topic and when they were read from the client's metadata.
    var partitionCounts: [String: (count: Int, checkedAt: ContinuousClock.Instant)] = [:]
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1
    var nextSequence: [TopicPartition: Int32] = [:]
    var inFlight: [TopicPartition: Int] = [:]
    var inFlightTotal = 0
    var closing = false
    var flushRequests = 0
    var senderWakeup: CheckedContinuation<Void, Never>?
    var wakeupPending = false
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// Senders waiting for `buffer.memory` room, by ticket; resumed when a batch finishes (or at their deadline).
    var memoryWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
    var nextMemoryTicket = 0

    /// Creates a producer; pass `client` to share connections with other producers, consumers or admins.
    public init(configuration: ProducerConfiguration, client: KafkaClient? = nil) {
        self.configuration = configuration
        self.client = client ?? KafkaClient(configuration: configuration.client)
        self.logger = configuration.client.logger
        self.accumulator = RecordAccumulator(
            batchSize: configuration.batchSize, linger: configuration.linger,
            bufferMemory: configuration.bufferMemory, compression: configuration.compression
        )
    }

    // MARK: Sending

    /// Sends one record and waits until the broker acknowledged it (or the send failed for good).
    ///
    /// - Parameters:
    ///   - partition: the partition; nil lets the partitioner choose (murmur2 of the key, sticky without one).
    ///   - timestamp: create time in milliseconds since the epoch; nil for now.
    public func send(
        topic: String, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [],
        partition: Int32? = nil, timestamp: Int64? = nil
    ) async throws -> RecordMetadata {
        let target = try await prepare(topic: topic, key: key, value: value, headers: headers, partition: partition)
        let time = timestamp ?? Self.nowMilliseconds()
        return try await withCheckedThrowingContinuation { continuation in
            enqueue(target, timestamp: time, key: key, value: value, headers: headers, completion: continuation)
        }
    }

    /// Sends one record without waiting for the acknowledgement: returns once the record is buffered (waiting
    /// for buffer space if needed). Failures are logged; `flush()` waits for the outcome.
    public func sendAndForget(
        topic: String, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [RecordHeader] = [],
        partition: Int32? = nil, timestamp: Int64? = nil
    ) async throws {
        let target = try await prepare(topic: topic, key: key, value: value, headers: headers, partition: partition)
        enqueue(
            target, timestamp: timestamp ?? Self.nowMilliseconds(), key: key, value: value, headers: headers,
            completion: nil
        )
    }

    /// Picks the partition and waits for buffer space.
    private func prepare(
        topic: String, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader], partition: Int32?
    ) async throws -> TopicPartition {
        guard !closing else { throw ClientError(.closed, "producer is closed", isRetriable: false, topic: topic) }
        let size = ProducerBatch.estimatedSize(key: key, value: value, headers: headers)
        guard size <= configuration.maxRequestSize else {
            throw ClientError(
                .invalidArgument, "record of \(size) bytes exceeds max.request.size \(configuration.maxRequestSize)",
                isRetriable: false, topic: topic, partition: partition
            )
        }
        let deadline = ContinuousClock.now + configuration.maxBlock
        let count: Int
        if let cached = partitionCounts[topic], cached.checkedAt + configuration.client.metadataMaxAge > .now {
            count = cached.count  // no hop to the client per record
        } else {
            count = try await client.partitionCount(of: topic, deadline: deadline)
            partitionCounts[topic] = (count, .now)
        }
        let chosen: Int32
        if let partition {
            guard partition >= 0, Int(partition) < count else {
                throw ClientError(
                    .invalidArgument, "partition \(partition) does not exist (topic has \(count))",
                    isRetriable: false, topic: topic, partition: partition
                )
            }
            chosen = partition
        } else {
            chosen = partitioner.partition(
                topic: topic, key: key.map { Array($0.readableBytesView) }, partitionCount: count
            )
        }
        while !accumulator.hasRoom(for: size) {
            guard ContinuousClock.now < deadline else {
                throw ClientError(
                    .timeout, "buffer.memory full for longer than max.block", isRetriable: true, topic: topic
                )
            }
            await waitForMemory(until: deadline)
            guard !closing else { throw ClientError(.closed, "producer is closed", isRetriable: false, topic: topic) }
        }
        return TopicPartition(topic, chosen)
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
        let waiters = memoryWaiters
        memoryWaiters.removeAll()
        for waiter in waiters.values { waiter.resume() }
    }

    private func enqueue(
        _ target: TopicPartition, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader],
        completion: ProducerBatch.Completion
    ) {
        let result = accumulator.append(
            to: target, timestamp: timestamp, key: key, value: value, headers: headers, completion: completion,
            now: .now
        )
        if result.batchIsFull || result.closedPreviousBatch {
            let count = partitionCounts[target.topic]?.count ?? 1
            partitioner.batchClosed(topic: target.topic, partition: target.partition, partitionCount: count)
            wakeSender()
        } else if result.newBatch || configuration.linger == .zero {
            wakeSender()
        }
    }

    /// Sends every buffered record now and waits until all have an outcome.
    public func flush() async {
        flushRequests += 1
        defer { flushRequests -= 1 }
        wakeSender()
        while !(accumulator.isEmpty && inFlightTotal == 0) {
            await withCheckedContinuation { idleWaiters.append($0) }
        }
    }

    /// Stops taking records, sends what is buffered (each record within its delivery timeout), and lets `run()`
    /// return. It returns once every buffered record has an outcome, so `run()` must be running.
    public func close() async {
        closing = true
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
