// A group member with manual commits after processing (at-least-once): a record is committed only after it was
// handled, so a crash replays at most the records since the last commit.
//
//     swift run fjord-example-group-consumer 127.0.0.1:9092 events example-group 10
import FjordClient
import NIOCore

let arguments = CommandLine.arguments
let bootstrap = arguments.count > 1 ? arguments[1] : "127.0.0.1:9092"
let topic = arguments.count > 2 ? arguments[2] : "events"
let group = arguments.count > 3 ? arguments[3] : "example-group"
let limit = arguments.count > 4 ? Int(arguments[4]) ?? 10 : 10

var configuration = ConsumerConfiguration(client: ClientConfiguration(bootstrapServers: bootstrap), groupID: group)
configuration.autoOffsetReset = .earliest
configuration.commitMode = .manual
configuration.assignors = [CooperativeStickyAssignor()]
let consumer = Consumer(configuration: configuration)

try await withThrowingTaskGroup(of: Void.self) { tasks in
    tasks.addTask { try await consumer.run() }
    try await consumer.subscribe(
        topics: [topic],
        listener: RebalanceListener(
            onAssigned: { print("assigned \($0)") },
            onRevoked: { print("revoked \($0)") },
            onLost: { print("lost \($0)") }
        )
    )
    var handled = 0
    for try await record in consumer.records {
        print("\(record.topicPartition)@\(record.offset): \(record.value.map { String(buffer: $0) } ?? "null")")
        handled += 1
        try await consumer.commit()  // after processing: at-least-once
        if handled == limit { break }
    }
    await consumer.close()
    try await tasks.waitForAll()
}
