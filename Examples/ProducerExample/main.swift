// Produces keyed records with headers and prints where each landed.
//
//     swift run fjord-example-producer 127.0.0.1:9092 events 10
import FjordClient
import KafkaRecords
import NIOCore

let arguments = CommandLine.arguments
let bootstrap = arguments.count > 1 ? arguments[1] : "127.0.0.1:9092"
let topic = arguments.count > 2 ? arguments[2] : "events"
let count = arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10

var configuration = ProducerConfiguration(client: ClientConfiguration(bootstrapServers: bootstrap))
configuration.compression = .zstd
configuration.linger = .milliseconds(10)
let producer = Producer(configuration: configuration)

try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await producer.run() }
    for i in 0..<count {
        let metadata = try await producer.send(
            topic: topic, key: ByteBuffer(string: "key-\(i)"), value: ByteBuffer(string: "hello \(i)"),
            headers: [RecordHeader(key: "source", value: "fjord-example-producer")]
        )
        print("key-\(i) → \(metadata.topicPartition)@\(metadata.offset)")
    }
    await producer.close()
    try await group.waitForAll()
}
