import ArgumentParser
import FjordClient
import NIOCore

/// `fjord perf`: producer, consumer and end-to-end load tests with live progress and HdrHistogram percentiles.
struct PerfCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perf",
        abstract: "Measure produce, consume and end-to-end throughput and latency.",
        discussion: """
            Each run stops after --num-records or --duration, whichever comes first, and prints a summary
            (text, or one JSON object with --format json). While it runs, a progress line (records, MB/s, p50/p99
            so far) goes to standard error: updated in place on a terminal, one line per --report-interval otherwise.
            JSON summary: {"mode","topic","records","bytes","errors","elapsed_s","records_per_s","mb_per_s",
            "latency","latency_ms":{"count","min","mean","p50","p95","p99","p99_9","max"}}
            """,
        subcommands: [PerfProduce.self, PerfConsume.self, PerfEndToEnd.self]
    )
}

/// Options every perf run shares.
struct PerfOptions: ParsableArguments {
    @Argument(help: "The topic (it must exist).") var topic: String
    @Option(name: [.short, .long], help: "Stop after this many records.") var numRecords: Int = 100_000
    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds.", valueName: "seconds")) var duration:
        Double?
    @Option(name: .long, help: ArgumentHelp("Seconds between progress lines.", valueName: "seconds"))
    var reportInterval: Double = 5
    @OptionGroup var output: FormatOptions

    func validate() throws {
        guard numRecords >= 1 else { throw ValidationError("--num-records must be at least 1") }
        if let duration, duration <= 0 { throw ValidationError("--duration must be positive") }
        guard reportInterval > 0 else { throw ValidationError("--report-interval must be positive") }
    }

    var deadline: ContinuousClock.Instant? {
        duration.map { ContinuousClock.now + .milliseconds(Int64($0 * 1000)) }
    }

    var interval: Duration { .milliseconds(Int64(reportInterval * 1000)) }

    func report(_ summary: PerfSummary) {
        switch output.format {
        case .json: Output.json(summary.json)
        case .text: summary.printText()
        }
    }
}

/// Producer settings of `perf produce` and `perf e2e`.
struct PerfProducerOptions: ParsableArguments {
    @Option(name: .long, help: "Bytes per record value.") var recordSize: Int = 100
    @Option(name: .long, help: "Records per second at most (-1: as fast as possible).") var throughput: Double = -1
    @Option(name: .long, help: "0, 1 or all.") var acks: AcksOption = .all
    @Option(name: .long, help: "none, gzip, snappy, lz4, zstd.") var compression: CompressionOption = .none
    @Option(name: .long, help: "linger.ms: how long a batch waits for more records.") var lingerMs: Int = 5
    @Option(name: .long, help: "batch.size in bytes.") var batchSize: Int = 16_384
    @Option(name: .long, help: "Records sent and not yet acknowledged, at most.") var maxInFlight: Int = 5000

    func validate() throws {
        guard recordSize >= 8 else { throw ValidationError("--record-size must be at least 8") }
        guard lingerMs >= 0, batchSize >= 1, maxInFlight >= 1 else {
            throw ValidationError("--linger-ms, --batch-size and --max-in-flight must be positive")
        }
        guard throughput == -1 || throughput > 0 else { throw ValidationError("--throughput must be positive or -1") }
    }

    func configuration(_ client: ClientConfiguration) -> ProducerConfiguration {
        var configuration = ProducerConfiguration(client: client)
        configuration.acks = acks.value
        configuration.compression = compression.codec
        configuration.linger = .milliseconds(lingerMs)
        configuration.batchSize = batchSize
        return configuration
    }
}

/// Sends records as fast as allowed (throttled to `throughput`), at most `maxInFlight` unacknowledged, recording each
/// acknowledgement's latency; stops at `count` or `deadline`.
enum PerfSender {
    static func run(
        producer: Producer, topic: String, count: Int, options: PerfProducerOptions, deadline: ContinuousClock.Instant?,
        stats: PerfStats?, stamp: Bool
    ) async {
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: options.recordSize)
        let start = ContinuousClock.now
        // FjordClient's sender arms the linger timer only when it wakes for another reason, so a batch started while
        // it is idle waits until the batch fills. Throttled runs have such idle gaps: a ticker flushes every linger.
        let ticker: Task<Void, Never>? =
            options.throughput > 0
            ? Task {
                let every = Duration.milliseconds(max(options.lingerMs, 1))
                while !Task.isCancelled {
                    try? await Task.sleep(for: every)
                    await producer.flush()
                }
            } : nil
        defer { ticker?.cancel() }
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for index in 0..<count {
                if let deadline, ContinuousClock.now >= deadline { break }
                if Task.isCancelled { break }
                if options.throughput > 0 {
                    let due = start + .microseconds(Int64(Double(index) / options.throughput * 1_000_000))
                    if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                }
                if inFlight >= options.maxInFlight {
                    await group.next()
                    inFlight -= 1
                }
                var value = payload
                if stamp { value.setInteger(PerfClock.nowNanos, at: value.readerIndex) }
                inFlight += 1
                group.addTask {
                    let sent = ContinuousClock.now
                    do {
                        _ = try await producer.send(topic: topic, value: value)
                        let latency = ContinuousClock.now - sent
                        stats?.record(bytes: value.readableBytes, latencyMicros: PerfClock.micros(latency))
                    } catch {
                        stats?.failed(error)
                    }
                }
            }
            // Sends the last, unfilled batches now rather than leaving them to a linger timer that is not armed.
            await producer.flush()
        }
    }
}

/// A process-wide monotonic clock in nanoseconds, for stamping record values in `perf e2e`.
enum PerfClock {
    private static let origin = ContinuousClock.now

    static var nowNanos: UInt64 { nanos(ContinuousClock.now - origin) }

    static func nanos(_ duration: Duration) -> UInt64 {
        let (seconds, attos) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attos)) / 1_000_000_000
    }

    static func micros(_ duration: Duration) -> UInt64 { nanos(duration) / 1000 }
}

/// Runs `work` beside the producer service and the progress reporter; stops on SIGINT.
func withPerfServices(
    producer: Producer?, consumer: Consumer?, progress: PerfProgress, work: @escaping @Sendable () async -> Void
) async {
    await withTaskGroup(of: Void.self) { services in
        if let producer { services.addTask { try? await producer.run() } }
        if let consumer { services.addTask { try? await consumer.run() } }
        services.addTask { await progress.run() }
        await withTaskGroup(of: Void.self) { inner in
            inner.addTask { await work() }
            inner.addTask {
                for await _ in Signals.interrupts() { return }
            }
            await inner.next()
            inner.cancelAll()
        }
        if let producer { await producer.close() }
        if let consumer { await consumer.close() }
        services.cancelAll()
    }
}

struct PerfProduce: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce records as fast as allowed; report throughput and acknowledgement latency.",
        discussion: """
            Latency is from send to acknowledgement of each record.

            Example:
              fjord perf produce bench --num-records 1000000 --record-size 100 --acks 1 --compression lz4
            """
    )

    @OptionGroup var perf: PerfOptions
    @OptionGroup var producerOptions: PerfProducerOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        try await TopicCheck.require(topic: perf.topic, connection: connection)
        let producer = Producer(
            configuration: producerOptions.configuration(try connection.clientConfiguration(clientID: "fjord-perf"))
        )
        let stats = PerfStats()
        let (topic, count, options, deadline) = (perf.topic, perf.numRecords, producerOptions, perf.deadline)
        await withPerfServices(
            producer: producer, consumer: nil, progress: PerfProgress(stats: stats, interval: perf.interval)
        ) {
            await PerfSender.run(
                producer: producer, topic: topic, count: count, options: options, deadline: deadline, stats: stats,
                stamp: false
            )
        }
        await producer.client.close()
        perf.report(PerfSummary(mode: "produce", topic: topic, snapshot: stats.snapshot(), latencyLabel: "ack latency"))
        if stats.errors > 0 { throw CLIError("\(stats.errors) records failed: \(stats.firstError ?? "")") }
    }
}

/// Reads records of every partition of a topic from the beginning, recording per-record `latency`.
func perfConsumer(topic: String, connection: ConnectionOptions, fromEnd: Bool) async throws -> Consumer {
    let count = try await TopicCheck.require(topic: topic, connection: connection)
    var configuration = ConsumerConfiguration(client: try connection.clientConfiguration(clientID: "fjord-perf"))
    configuration.commitMode = .none
    configuration.fetchMaxWait = .milliseconds(100)
    configuration.maxBufferedRecords = 10_000
    let consumer = Consumer(configuration: configuration)
    let partitions = (0..<Int32(count)).map { TopicPartition(topic, $0) }
    try await consumer.assign(partitions)
    if fromEnd {
        try await consumer.seekToEnd(partitions)
    } else {
        try await consumer.seekToBeginning(partitions)
    }
    return consumer
}

/// Counts records until `count` or `deadline`, recording `latency(record)` in microseconds.
func perfConsume(
    _ consumer: Consumer, count: Int, deadline: ContinuousClock.Instant?, stats: PerfStats,
    latency: @escaping @Sendable (ConsumerRecord) -> UInt64?
) async {
    await withTaskGroup(of: Void.self) { group in
        if let deadline {
            group.addTask {
                try? await Task.sleep(until: deadline, clock: .continuous)
                if !Task.isCancelled { await consumer.close() }
            }
        }
        do {
            for try await record in consumer.records {
                let size = (record.value?.readableBytes ?? 0) + (record.key?.readableBytes ?? 0)
                stats.record(bytes: size, latencyMicros: latency(record))
                if stats.records >= count || Task.isCancelled { break }
            }
        } catch {
            stats.failed(error)
        }
        group.cancelAll()
    }
}

struct PerfConsume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Read a topic from the beginning as fast as possible; report throughput and record age.",
        discussion: """
            Latency here is each record's age when read (now minus its timestamp), in milliseconds precision.

            Example:
              fjord perf consume bench --num-records 1000000
            """
    )

    @OptionGroup var perf: PerfOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let consumer = try await perfConsumer(topic: perf.topic, connection: connection, fromEnd: false)
        let stats = PerfStats()
        let (count, deadline) = (perf.numRecords, perf.deadline)
        await withPerfServices(
            producer: nil, consumer: consumer, progress: PerfProgress(stats: stats, interval: perf.interval)
        ) {
            await perfConsume(consumer, count: count, deadline: deadline, stats: stats) { record in
                UInt64(max(0, TimeParsing.nowMilliseconds - record.timestamp)) * 1000
            }
        }
        await consumer.client.close()
        perf.report(
            PerfSummary(mode: "consume", topic: perf.topic, snapshot: stats.snapshot(), latencyLabel: "record age"))
        if stats.errors > 0 { throw CLIError("consuming failed: \(stats.firstError ?? "")") }
    }
}

struct PerfEndToEnd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "e2e",
        abstract: "Produce and consume at once; report end-to-end latency (send to receipt).",
        discussion: """
            Each value carries the send time; the consumer (reading from the end when the run starts) records the
            time from send to receipt. Use --throughput to measure latency below saturation.

            Example:
              fjord perf e2e bench --num-records 10000 --throughput 1000 --acks all
            """
    )

    @OptionGroup var perf: PerfOptions
    @OptionGroup var producerOptions: PerfProducerOptions
    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let consumer = try await perfConsumer(topic: perf.topic, connection: connection, fromEnd: true)
        let producer = Producer(
            configuration: producerOptions.configuration(try connection.clientConfiguration(clientID: "fjord-perf-e2e"))
        )
        let received = PerfStats()
        let sent = PerfStats()
        let (topic, count, options, deadline) = (perf.topic, perf.numRecords, producerOptions, perf.deadline)
        await withPerfServices(
            producer: producer, consumer: consumer, progress: PerfProgress(stats: received, interval: perf.interval)
        ) {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await PerfSender.run(
                        producer: producer, topic: topic, count: count, options: options, deadline: deadline,
                        stats: sent, stamp: true
                    )
                    // Records that never arrive (failed sends) must not keep the run going: give the rest 10 s.
                    try? await Task.sleep(for: .seconds(10))
                    if !Task.isCancelled { await consumer.close() }
                }
                // The consumer may wait a little past the deadline for records already sent.
                let readDeadline = deadline.map { $0 + .seconds(5) }
                await perfConsume(consumer, count: count, deadline: readDeadline, stats: received) { record in
                    guard let value = record.value, value.readableBytes >= 8,
                        let stamp = value.getInteger(at: value.readerIndex, as: UInt64.self)
                    else { return nil }
                    let now = PerfClock.nowNanos
                    return now > stamp ? (now - stamp) / 1000 : 0
                }
                group.cancelAll()
                await group.waitForAll()
            }
        }
        await producer.client.close()
        await consumer.client.close()
        perf.report(
            PerfSummary(mode: "e2e", topic: topic, snapshot: received.snapshot(), latencyLabel: "end-to-end latency"))
        if sent.errors > 0 || received.errors > 0 {
            throw CLIError("\(sent.errors + received.errors) failures: \(sent.firstError ?? received.firstError ?? "")")
        }
    }
}
