// Exactly-once processing with an external store: the application keeps each partition's next offset next to its
// results (here a JSON file written atomically together with the running totals) and never commits to Kafka.
// On start it seeks to the stored offsets, so every record changes the totals exactly once even across crashes.
//
//     swift run fjord-example-external-offsets 127.0.0.1:9092 events 10 state.json
import FjordClient
import Foundation
import NIOCore

/// The application's state and the offsets it reflects, saved in one atomic write.
struct Store: Codable {
    var nextOffsets: [String: Int64] = [:]  // "topic-partition" → next offset
    var bytesPerPartition: [String: Int] = [:]
}

let arguments = CommandLine.arguments
let bootstrap = arguments.count > 1 ? arguments[1] : "127.0.0.1:9092"
let topic = arguments.count > 2 ? arguments[2] : "events"
let limit = arguments.count > 3 ? Int(arguments[3]) ?? 10 : 10
let path = URL(fileURLWithPath: arguments.count > 4 ? arguments[4] : "external-offsets-state.json")

var store = (try? JSONDecoder().decode(Store.self, from: Data(contentsOf: path))) ?? Store()
let client = KafkaClient(configuration: ClientConfiguration(bootstrapServers: bootstrap))
let partitions = try await client.partitionCount(of: topic)

var configuration = ConsumerConfiguration(client: client.configuration)
configuration.commitMode = .none
configuration.autoOffsetReset = .earliest
let consumer = Consumer(configuration: configuration, client: client)

try await withThrowingTaskGroup(of: Void.self) { tasks in
    tasks.addTask { try await consumer.run() }
    let assigned = (0..<Int32(partitions)).map { TopicPartition(topic, $0) }
    try await consumer.assign(assigned)
    for partition in assigned {
        if let next = store.nextOffsets[partition.description] { try await consumer.seek(partition, to: next) }
    }
    var handled = 0
    for try await record in consumer.records {
        let key = record.topicPartition.description
        store.bytesPerPartition[key, default: 0] += record.value?.readableBytes ?? 0
        store.nextOffsets[key] = record.offset + 1
        try JSONEncoder().encode(store).write(to: path, options: .atomic)  // results and offset together
        handled += 1
        if handled == limit { break }
    }
    print("state: \(store)")
    await consumer.close()
    try await tasks.waitForAll()
}
