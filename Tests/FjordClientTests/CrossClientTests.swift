import FjordClient
import FjordTestSupport
import Foundation
import KafkaRecords
import NIOCore
import Testing

/// Records produced by FjordClient are read correctly by librdkafka (confluent-kafka) and kafka-python, and the
/// other way round, with every codec and with headers (kafka-python's snappy, lz4 and zstd come from the pinned
/// python-snappy, lz4 and zstandard packages of `.venv`). Runs against Fjord.
struct CrossClientTests {
    static let script = #"""
        import json, sys, time
        mode, bootstrap, client, topic, arg, count = sys.argv[1:7]
        count = int(count)
        if mode == "consume" and client == "confluent":
            from confluent_kafka import Consumer
            c = Consumer({"bootstrap.servers": bootstrap, "group.id": "x-" + topic, "auto.offset.reset": "earliest",
                          "enable.auto.commit": False})
            c.subscribe([topic])
            out, deadline = [], time.monotonic() + 60
            while len(out) < count and time.monotonic() < deadline:
                m = c.poll(0.1)
                if m is None: continue
                if m.error(): raise SystemExit(str(m.error()))
                out.append({"offset": m.offset(), "key": m.key().decode(), "value": m.value().decode(),
                            "headers": [[k, None if v is None else v.decode()] for k, v in (m.headers() or [])]})
            c.close()
        elif mode == "consume":
            from kafka import KafkaConsumer
            c = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False,
                              consumer_timeout_ms=60000)
            out = []
            for m in c:
                out.append({"offset": m.offset, "key": m.key.decode(), "value": m.value.decode(),
                            "headers": [[k, None if v is None else v.decode()] for k, v in (m.headers or [])]})
                if len(out) == count: break
            c.close()
        elif client == "confluent":
            from confluent_kafka import Producer
            p = Producer({"bootstrap.servers": bootstrap, "compression.type": arg, "linger.ms": 5})
            for i in range(count):
                p.produce(topic, key=f"py-key-{i}", value=f"py-value-{i}", headers=[("origin", b"python"), ("i", str(i).encode())])
            assert p.flush(60) == 0
            out = []
        else:
            from kafka import KafkaProducer
            p = KafkaProducer(bootstrap_servers=bootstrap, compression_type=None if arg == "none" else arg)
            for i in range(count):
                p.send(topic, key=f"py-key-{i}".encode(), value=f"py-value-{i}".encode(),
                       headers=[("origin", b"python"), ("i", str(i).encode())])
            p.flush(60); p.close()
            out = []
        print(json.dumps(out))
        """#

    static func python() throws -> String {
        let candidates = [
            ProcessInfo.processInfo.environment["FJORD_CLIENT_PYTHON"],
            TestBroker.packageRoot.appendingPathComponent(".venv/bin/python").path,
        ].compactMap { $0 }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw TestBrokerError(description: "no Python with the Kafka clients: run `make deps` (creates .venv)")
        }
        return found
    }

    struct PythonRecord: Decodable {
        var offset: Int64
        var key: String
        var value: String
        var headers: [[String?]]
    }

    static func runPython(_ arguments: [String]) throws -> [PythonRecord] {
        let output = Pipe()
        let errors = Pipe()
        let process = try ChildProcess(
            executable: try python(), arguments: ["-c", script] + arguments,
            standardOutput: .descriptor(output.fileHandleForWriting.fileDescriptor),
            standardError: .descriptor(errors.fileHandleForWriting.fileDescriptor))
        // The child has its copies: the parent's write ends must close for the reads below to see the end.
        try output.fileHandleForWriting.close()
        try errors.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let last = data.split(separator: UInt8(ascii: "\n")).last else {
            throw TestBrokerError(
                description: "python \(arguments) failed (\(process.terminationStatus)): \(errorText)")
        }
        return try JSONDecoder().decode([PythonRecord].self, from: Data(last))
    }

    static let pairs: [(String, CompressionCodec)] =
        CompressionCodec.allCases.map { ("confluent", $0) } + CompressionCodec.allCases.map { ("kafka-python", $0) }

    @Test func fjordClientAndPythonClientsReadEachOther() async throws {
        // Flow, per client and codec: 1. FjordClient produces 10 records with headers (one with a null value
        // header); 2. the Python client reads them: keys, values, headers and offsets match; 3. the Python client
        // produces 10 records with that codec and headers; 4. FjordClient reads them back intact.
        try await withBroker(.fjord) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            for (client, codec) in Self.pairs {
                let outbound = "to-\(client)-\(codec)"
                let inbound = "from-\(client)-\(codec)"
                try await ClientIntegrationTests.createTopic(admin, outbound, partitions: 1)
                try await ClientIntegrationTests.createTopic(admin, inbound, partitions: 1)
                var configuration = ProducerConfiguration(client: broker.clientConfiguration())
                configuration.compression = codec
                try await withRunning(
                    Producer(configuration: configuration), run: { try await $0.run() }, close: { await $0.close() }
                ) {
                    producer in
                    for i in 0..<10 {
                        try await producer.sendAndForget(
                            topic: outbound, key: ByteBuffer(string: "swift-key-\(i)"),
                            value: ByteBuffer(string: "swift-value-\(i)"),
                            headers: [
                                RecordHeader(key: "origin", value: "swift"),
                                RecordHeader(key: "empty", value: nil as ByteBuffer?),
                            ]
                        )
                    }
                    await producer.flush()
                }
                let read = try Self.runPython(["consume", broker.bootstrap, client, outbound, "-", "10"])
                #expect(read.count == 10, "\(client) \(codec)")
                for (i, record) in read.enumerated() {
                    #expect(record.offset == Int64(i))
                    #expect(record.key == "swift-key-\(i)")
                    #expect(record.value == "swift-value-\(i)")
                    #expect(record.headers == [["origin", "swift"], ["empty", nil]], "\(client) \(codec)")
                }

                _ = try Self.runPython(["produce", broker.bootstrap, client, inbound, "\(codec)", "10"])
                var consumerConfiguration = ConsumerConfiguration(client: broker.clientConfiguration())
                consumerConfiguration.autoOffsetReset = .earliest
                consumerConfiguration.fetchMaxWait = .milliseconds(100)
                let records = try await ClientIntegrationTests.withConsumer(
                    Consumer(configuration: consumerConfiguration)
                ) {
                    consumer in
                    try await consumer.assign([TopicPartition(inbound, 0)])
                    return try await ClientIntegrationTests.read(consumer, count: 10)
                }
                for (i, record) in records.enumerated() {
                    #expect(record.offset == Int64(i))
                    #expect(record.key.map { String(buffer: $0) } == "py-key-\(i)")
                    #expect(record.value.map { String(buffer: $0) } == "py-value-\(i)")
                    #expect(
                        record.headers == [
                            RecordHeader(key: "origin", value: "python"), RecordHeader(key: "i", value: "\(i)"),
                        ])
                }
            }
        }
    }
}
