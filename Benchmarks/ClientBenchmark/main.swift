// fjord-client-bench: the FjordClient side of Benchmarks/client_bench.py. Produces or consumes COUNT records of SIZE
// bytes and prints one JSON line: {"messages": N, "seconds": S}. The driver measures this process's CPU time.
//
//   fjord-client-bench produce --bootstrap 127.0.0.1:9092 --topic t --count 100000 --size 100 [--batch-size 1000000]
//   fjord-client-bench consume --bootstrap 127.0.0.1:9092 --topic t --count 100000 --partitions 4
import FjordClient
import Foundation
import NIOCore

struct Options {
    var mode = ""
    var bootstrap = "127.0.0.1:9092"
    var topic = ""
    var count = 100_000
    var size = 100
    var partitions = 1
    /// Bytes per batch; client_bench.py passes librdkafka's default (1,000,000) to both clients.
    var batchSize = 16_384

    init(_ arguments: [String]) throws {
        var rest = arguments[...]
        guard let mode = rest.popFirst(), ["produce", "consume"].contains(mode) else {
            throw Usage("first argument: produce or consume")
        }
        self.mode = mode
        while let flag = rest.popFirst() {
            guard let value = rest.popFirst() else { throw Usage("\(flag) needs a value") }
            switch flag {
            case "--bootstrap": bootstrap = value
            case "--topic": topic = value
            case "--count": count = try Self.number(flag, value)
            case "--size": size = try Self.number(flag, value)
            case "--partitions": partitions = try Self.number(flag, value)
            case "--batch-size": batchSize = try Self.number(flag, value)
            default: throw Usage("unknown flag \(flag)")
            }
        }
        guard !topic.isEmpty else { throw Usage("--topic is required") }
    }

    static func number(_ flag: String, _ value: String) throws -> Int {
        guard let number = Int(value), number > 0 else { throw Usage("\(flag) needs a positive number, not \(value)") }
        return number
    }
}

struct Usage: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

func produce(_ options: Options) async throws -> Int {
    var configuration = ProducerConfiguration(client: ClientConfiguration(bootstrapServers: options.bootstrap))
    configuration.acks = .leader
    configuration.linger = .milliseconds(5)
    configuration.enableIdempotence = false
    configuration.batchSize = options.batchSize
    let producer = Producer(configuration: configuration)
    let sender = Task { try await producer.run() }
    var payload = ByteBuffer()
    payload.writeBytes((0..<options.size).map { _ in UInt8.random(in: 0...255) })
    for _ in 0..<options.count {
        try await producer.sendAndForget(topic: options.topic, value: payload)
    }
    await producer.flush()
    await producer.close()
    try await sender.value
    return options.count
}

func consume(_ options: Options) async throws -> Int {
    var configuration = ConsumerConfiguration(client: ClientConfiguration(bootstrapServers: options.bootstrap))
    configuration.autoOffsetReset = .earliest
    configuration.commitMode = .none
    let consumer = Consumer(configuration: configuration)
    try await consumer.assign((0..<options.partitions).map { TopicPartition(options.topic, Int32($0)) })
    let fetcher = Task { try await consumer.run() }
    var received = 0
    for try await _ in consumer.records {
        received += 1
        if received == options.count { break }
    }
    await consumer.close()
    _ = try? await fetcher.value
    return received
}

do {
    let options = try Options(Array(CommandLine.arguments.dropFirst()))
    let clock = ContinuousClock()
    let start = clock.now
    let messages = options.mode == "produce" ? try await produce(options) : try await consume(options)
    let elapsed = clock.now - start
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    print("{\"messages\": \(messages), \"seconds\": \(seconds)}")
} catch let usage as Usage {
    FileHandle.standardError.write(Data("fjord-client-bench: \(usage)\n".utf8))
    exit(2)
} catch {
    FileHandle.standardError.write(Data("fjord-client-bench: \(error)\n".utf8))
    exit(1)
}
