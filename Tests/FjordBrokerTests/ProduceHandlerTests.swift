import FjordStorage
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordBroker

/// Produce through `ProduceHandler` on a real broker's services (`BrokerHarness`): what a producer relies on —
/// acknowledgements and their offsets, the errors that decide retry or failure, and that a refused batch never
/// reaches the log.
@Suite struct ProduceHandlerTests {
    private typealias H = BrokerHarness

    /// Flow: acks=all and acks=1 appends answer with consecutive base offsets, no LogAppendTime (CreateTime topic) and
    /// the log start; the records read back in order; the answer names the topic and partition it was asked about.
    @Test(arguments: [Int16(3), 8, 9, 11])
    func acknowledgedAppendsAnswerWithTheirBaseOffsets(version: Int16) async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("orders", partitions: 2)
            let request = ProduceRequest(
                acks: -1, timeoutMs: 30_000,
                topicData: [
                    .init(
                        name: "orders",
                        partitionData: [
                            .init(index: 1, records: H.batch(["a", "b"])),
                            .init(index: 0, records: H.batch(["x"])),
                        ])
                ])
            let response = try await broker.call(ProduceHandler(services: broker.services), request, version: version)
            #expect(response.responses.map(\.name) == ["orders"])
            let answers = try #require(response.responses.first?.partitionResponses)
            #expect(answers.map(\.index) == [1, 0])
            #expect(answers.map(\.errorCode) == [0, 0])
            #expect(answers.map(\.baseOffset) == [0, 0])
            #expect(answers.map(\.logAppendTimeMs) == [-1, -1])
            if version >= 5 { #expect(answers.map(\.logStartOffset) == [0, 0]) }

            let second = try await broker.produce("orders", partition: 1, H.batch(["c"]), acks: 1, version: version)
            #expect(second.errorCode == 0)
            #expect(second.baseOffset == 2)
            #expect(try broker.replica("orders", 1).highWatermark == 3)

            let fetched = try await broker.fetch(H.fetchRequest([.init(topic: "orders", partition: 1)]))
            #expect(
                try H.records(in: fetched.data("orders", partition: 1)?.records).map(\.description) == [
                    "0:a", "1:b", "2:c",
                ])
        }
    }

    /// Flow: acks=0 gets no answer at all (the client expects none), yet the batch is in the log.
    @Test func acksZeroAppendsWithoutAnAnswer() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("fire")
            let request = ProduceRequest(
                acks: 0, timeoutMs: 30_000,
                topicData: [
                    .init(name: "fire", partitionData: [.init(index: 0, records: H.batch(["forget"]))])
                ])
            let body = try await broker.respond(ProduceHandler(services: broker.services), request, version: 9)
            #expect(body == nil)
            #expect(try broker.replica("fire").highWatermark == 1)
        }
    }

    /// Flow: an acks=0 produce that a partition refuses (an unknown topic, an internal one) gets no answer but the
    /// connection's end (`ClosingAnswer`, as Kafka closes it), naming the partition and the error; the partitions
    /// of the same request that took their records keep them.
    @Test func acksZeroRefusedByAPartitionClosesTheConnection() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("fire")
            let request = ProduceRequest(
                acks: 0, timeoutMs: 30_000,
                topicData: [
                    .init(name: "fire", partitionData: [.init(index: 0, records: H.batch(["kept"]))]),
                    .init(name: "nowhere", partitionData: [.init(index: 0, records: H.batch(["lost"]))]),
                ])
            do {
                _ = try await broker.respond(ProduceHandler(services: broker.services), request, version: 9)
                Issue.record("a refused acks=0 produce was answered")
            } catch let closing as ClosingAnswer {
                #expect(closing.reason.contains("nowhere-0"), "\(closing.reason)")
            }
            #expect(try broker.replica("fire").highWatermark == 1)
        }
    }

    /// Flow: acks outside {-1, 0, 1} is INVALID_REQUIRED_ACKS and appends nothing.
    @Test func invalidAcksAreRefused() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("orders")
            let answer = try await broker.produce("orders", H.batch(["a"]), acks: 2)
            #expect(answer.errorCode == ErrorCode.invalidRequiredAcks.rawValue)
            #expect(try broker.replica("orders").highWatermark == 0)
        }
    }

    /// Flow: an unknown topic and a partition the topic does not have are UNKNOWN_TOPIC_OR_PARTITION (retriable:
    /// the producer refreshes metadata); with auto-creation off nothing is created.
    @Test func unknownTopicsAndPartitionsAreRefused() async throws {
        try await H.withBroker([("auto.create.topics.enable", "false")]) { broker in
            try await broker.createTopic("orders", partitions: 1)
            let unknownTopic = try await broker.produce("nope", H.batch(["a"]))
            #expect(unknownTopic.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(unknownTopic.baseOffset == -1)
            let badPartition = try await broker.produce("orders", partition: 3, H.batch(["a"]))
            #expect(badPartition.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            let negativePartition = try await broker.produce("orders", partition: -1, H.batch(["a"]))
            #expect(negativePartition.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            #expect(broker.image.topic(named: "nope") == nil)
            #expect(broker.image.topic(named: "orders")?.partitions.count == 1)
        }
    }

    /// Flow: with auto.create.topics.enable the first produce to an unknown topic is refused (retriable) and creates
    /// it with num.partitions partitions; the producer's retry is appended.
    @Test func aProduceToAnUnknownTopicCreatesItWhenAutoCreationIsOn() async throws {
        try await H.withBroker([("num.partitions", "2")]) { broker in
            let first = try await broker.produce("created-by-produce", H.batch(["a"]))
            #expect(first.errorCode == ErrorCode.unknownTopicOrPartition.rawValue)
            try await broker.waitUntil("the topic exists with its replicas") {
                broker.image.topic(named: "created-by-produce")?.partitions.count == 2
                    && broker.services.replicas.replica(for: TopicPartition("created-by-produce", 1)) != nil
            }
            let retry = try await broker.produce("created-by-produce", H.batch(["a"]))
            #expect(retry.errorCode == 0)
            #expect(retry.baseOffset == 0)
        }
    }

    /// Flow: batches that must never reach the log — a bad CRC (CORRUPT_MESSAGE), two batches in one partition's
    /// records, a control batch from a client (INVALID_RECORD), a batch over max.message.bytes (MESSAGE_TOO_LARGE),
    /// no records at all — are refused one partition at a time; the log stays empty, and a good batch after them
    /// starts at offset 0.
    @Test func invalidBatchesAreRefusedAndNeverAppended() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("strict", configs: ["max.message.bytes": "200"])
            var corrupt = H.batch(["payload"])
            let last = corrupt.writerIndex - 1
            corrupt.setInteger(corrupt.getInteger(at: last, as: UInt8.self)! ^ 0xFF, at: last)
            #expect(try await broker.produce("strict", corrupt).errorCode == ErrorCode.corruptMessage.rawValue)

            var two = H.batch(["one"])
            var second = H.batch(["two"])
            two.writeBuffer(&second)
            #expect(try await broker.produce("strict", two).errorCode == ErrorCode.invalidRecord.rawValue)

            var options = RecordBatchBuilder.Options()
            options.isControl = true
            var control = RecordBatchBuilder(options: options)
            control.append(
                timestamp: 0, key: ByteBuffer(bytes: [0, 0, 0, 0]), value: ByteBuffer(bytes: [0, 0, 0, 0, 0, 0]))
            #expect(
                try await broker.produce("strict", try control.build().buffer).errorCode
                    == ErrorCode.invalidRecord.rawValue)

            let large = H.batch([String(repeating: "x", count: 400)])
            let tooLarge = try await broker.produce("strict", large)
            #expect(tooLarge.errorCode == ErrorCode.messageTooLarge.rawValue)

            #expect(try await broker.produce("strict", nil).errorCode == ErrorCode.corruptMessage.rawValue)
            #expect(try await broker.produce("strict", ByteBuffer()).errorCode == ErrorCode.corruptMessage.rawValue)

            #expect(try broker.replica("strict").highWatermark == 0)
            #expect(try await broker.produce("strict", H.batch(["fine"])).baseOffset == 0)
        }
    }

    /// Flow: acks=all on a topic whose min.insync.replicas (2) exceeds its replication factor (1) is accepted: Kafka
    /// 3.7+ checks the ISR against min(min.insync.replicas, replication factor) (KAFKA-15583). The refusal with a
    /// real follower: DelayedProduceTests.
    @Test func minInsyncReplicasIsCappedByTheReplicationFactor() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("durable", configs: ["min.insync.replicas": "2"])
            #expect(try await broker.produce("durable", H.batch(["a"]), acks: -1).errorCode == 0)
            #expect(try broker.replica("durable").highWatermark == 1)
            #expect(try await broker.produce("durable", H.batch(["a"]), acks: 1).errorCode == 0)
        }
    }

    /// Flow (idempotent producer, id from InitProducerId): 1. sequence 0 appends at 0; 2. the same batch again (a
    /// retry) answers NONE with the original offset and appends nothing; 3. a gap in sequences is
    /// OUT_OF_ORDER_SEQUENCE_NUMBER; 4. the next sequence appends; 5. an unknown producer must start at sequence 0;
    /// 6. a new epoch restarts at 0, after which the old epoch is INVALID_PRODUCER_EPOCH.
    @Test func idempotentProducerSequencesAreChecked() async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("idem")
            let initialized = try await broker.call(
                InitProducerIDHandler(services: broker.services),
                InitProducerIDRequest(transactionalID: nil, transactionTimeoutMs: -1), version: 4)
            #expect(initialized.errorCode == 0)
            #expect(initialized.producerEpoch == 0)
            let producer = initialized.producerID
            #expect(producer >= 0)
            let first = H.batch(["a", "b"], producerID: producer, producerEpoch: 0, baseSequence: 0)

            let appended = try await broker.produce("idem", first)
            #expect(appended.errorCode == 0)
            #expect(appended.baseOffset == 0)

            let retried = try await broker.produce("idem", first)
            #expect(retried.errorCode == 0)
            #expect(retried.baseOffset == 0)
            #expect(try broker.replica("idem").highWatermark == 2)

            let gap = try await broker.produce(
                "idem", H.batch(["c"], producerID: producer, producerEpoch: 0, baseSequence: 5))
            #expect(gap.errorCode == ErrorCode.outOfOrderSequenceNumber.rawValue)

            let next = try await broker.produce(
                "idem", H.batch(["c"], producerID: producer, producerEpoch: 0, baseSequence: 2))
            #expect(next.errorCode == 0)
            #expect(next.baseOffset == 2)

            let stranger = try await broker.produce(
                "idem", H.batch(["z"], producerID: producer + 1000, producerEpoch: 0, baseSequence: 3))
            #expect(stranger.errorCode == ErrorCode.outOfOrderSequenceNumber.rawValue)

            let bumped = try await broker.produce(
                "idem", H.batch(["d"], producerID: producer, producerEpoch: 1, baseSequence: 0))
            #expect(bumped.errorCode == 0)
            #expect(bumped.baseOffset == 3)
            let stale = try await broker.produce(
                "idem", H.batch(["e"], producerID: producer, producerEpoch: 0, baseSequence: 3))
            #expect(stale.errorCode == ErrorCode.invalidProducerEpoch.rawValue)
            #expect(try broker.replica("idem").highWatermark == 4)
        }
    }

    /// Flow (KIP-890 part 1): a transactional producer writes to a partition it did not add with AddPartitionsToTxn:
    /// INVALID_TXN_STATE at Produce v10, TRANSACTION_ABORTABLE at v11, nothing appended and no transaction opened in
    /// the partition; once added, the same batch is appended and holds the last stable offset back.
    @Test(arguments: [Int16(10), 11])
    func aTransactionalProduceNeedsItsPartitionAdded(version: Int16) async throws {
        try await H.withBroker { broker in
            try await broker.createTopic("txn")
            let initialized = try await broker.call(
                InitProducerIDHandler(services: broker.services),
                InitProducerIDRequest(transactionalID: "tx-unadded", transactionTimeoutMs: 60_000), version: 4
            )
            #expect(initialized.errorCode == 0)
            let batch = H.batch(
                ["t"], producerID: initialized.producerID, producerEpoch: initialized.producerEpoch, baseSequence: 0,
                transactional: true)

            let refused = try await broker.produce("txn", batch, transactionalID: "tx-unadded", version: version)
            #expect(refused.errorCode == (version >= 11 ? ErrorCode.transactionAbortable : .invalidTxnState).rawValue)
            let replica = try broker.replica("txn")
            #expect(replica.highWatermark == 0)
            #expect(replica.ongoingTransactions.isEmpty)

            let added = try await broker.call(
                AddPartitionsToTxnHandler(services: broker.services),
                AddPartitionsToTxnRequest(
                    v3AndBelowTransactionalID: "tx-unadded", v3AndBelowProducerID: initialized.producerID,
                    v3AndBelowProducerEpoch: initialized.producerEpoch,
                    v3AndBelowTopics: [.init(name: "txn", partitions: [0])]
                ), version: 3)
            #expect(added.resultsByTopicV3AndBelow.flatMap(\.resultsByPartition).map(\.partitionErrorCode) == [0])

            let accepted = try await broker.produce("txn", batch, transactionalID: "tx-unadded", version: version)
            #expect(accepted.errorCode == 0)
            #expect(replica.highWatermark == 1)
            #expect(replica.lastStableOffset == 0)
        }
    }
}
