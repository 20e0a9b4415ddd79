import FjordClient
import FjordTestSupport
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// The producer's retries and idempotence across a broker restart (Fjord: Tansu's memory storage loses the log on
/// restart, so this runs against Fjord only).
struct ProducerRetryTests {
    @Test func sendsSurviveABrokerRestartWithoutDuplicates() async throws {
        // Flow: 1. 1-partition topic; 2. 60 sends, one every 10 ms, concurrently; 3. after the 20th the broker
        // restarts (same port and data); 4. every send succeeds (retried within delivery.timeout); 5. the log holds
        // each value exactly once at dense offsets (idempotence dropped any resent duplicate).
        try await withBroker(.fjord) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "restart", partitions: 1)
            var configuration = ProducerConfiguration(client: broker.clientConfiguration())
            configuration.client.requestTimeout = .seconds(5)
            configuration.client.reconnectBackoffMax = .milliseconds(200)
            // Covers the restart (up to 5 s of graceful stop, then start-up) however slow the machine.
            configuration.deliveryTimeout = .seconds(120)
            configuration.linger = .milliseconds(5)
            let producer = Producer(configuration: configuration)
            let results = try await ClientIntegrationTests.withProducer(producer) { producer in
                try await withThrowingTaskGroup(of: RecordMetadata?.self) { group in
                    for i in 0..<60 {
                        group.addTask {
                            try await producer.send(topic: "restart", value: ByteBuffer(string: "value-\(i)"))
                        }
                        try await Task.sleep(for: .milliseconds(10))
                        if i == 20 {
                            // Restart while the sends go on, so some hit the dead broker and are retried.
                            group.addTask {
                                try broker.restart()
                                return nil
                            }
                        }
                    }
                    var all: [RecordMetadata] = []
                    for try await metadata in group { if let metadata { all.append(metadata) } }
                    return all
                }
            }
            #expect(results.count == 60)
            var consumerConfiguration = ConsumerConfiguration(client: broker.clientConfiguration())
            consumerConfiguration.autoOffsetReset = .earliest
            consumerConfiguration.fetchMaxWait = .milliseconds(100)
            let records = try await ClientIntegrationTests.withConsumer(Consumer(configuration: consumerConfiguration))
            {
                consumer in
                try await consumer.assign([TopicPartition("restart", 0)])
                return try await ClientIntegrationTests.read(consumer, count: 60)
            }
            #expect(records.map(\.offset) == Array(0..<60))
            #expect(Set(records.map { String(buffer: $0.value!) }).count == 60)
            #expect(Set(results.map(\.offset)) == Set(0..<60))
            // Nothing beyond the 60: no duplicate was appended.
            let end = await admin.listOffsets([TopicPartition("restart", 0): .latest])
            #expect(try end[TopicPartition("restart", 0)]!.get().offset == 60)
        }
    }

    @Test func sendWaitsForBufferMemoryAndGivesUpAfterMaxBlock() async throws {
        // Flow: 1. a producer whose sender is not running yet, buffer.memory 1000; 2. fire-and-forget sends fill the
        // buffer; 3. the next send waits and fails with a retriable timeout after max.block (5 s); 4. once the
        // sender runs, a waiting send gets room as batches complete and succeeds. max.block is also how long step 4
        // may take (connect, metadata, the first produce): generous, so a loaded machine cannot fail it.
        try await withBroker(.fjord) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "memory", partitions: 1)
            var configuration = ProducerConfiguration(client: broker.clientConfiguration())
            configuration.bufferMemory = 1000
            configuration.maxBlock = .seconds(5)
            let producer = Producer(configuration: configuration)
            let value = ByteBuffer(repeating: 0x78, count: 100)
            for _ in 0..<8 { try await producer.sendAndForget(topic: "memory", value: value) }
            let started = ContinuousClock.now
            await #expect {
                try await producer.sendAndForget(topic: "memory", value: value)
            } throws: { error in
                (error as? ClientError)?.code == .timeout && (error as? ClientError)?.isRetriable == true
            }
            #expect(ContinuousClock.now - started >= .seconds(5))
            try await ClientIntegrationTests.withProducer(producer) { producer in
                let metadata = try await producer.send(topic: "memory", value: value)
                #expect(metadata.offset == 8)
                // A record above max.request.size fails at once, without waiting.
                await #expect {
                    try await producer.send(topic: "memory", value: ByteBuffer(repeating: 0, count: 2 << 20))
                } throws: { error in
                    (error as? ClientError)?.code == .invalidArgument && (error as? ClientError)?.isRetriable == false
                }
            }
        }
    }
}
