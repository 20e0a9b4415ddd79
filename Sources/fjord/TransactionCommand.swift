import ArgumentParser
import FjordClient
import KafkaProtocol

/// `fjord transaction`: list and describe transactional ids, show the producers of a partition, and abort a hanging
/// transaction (Kafka's `kafka-transactions.sh list | describe | describe-producers | abort`).
struct TransactionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transaction",
        abstract: "List and describe transactions, and the producers that hold a partition's last stable offset.",
        subcommands: [
            TransactionList.self, TransactionDescribe.self, TransactionDescribeProducers.self, TransactionAbort.self,
        ]
    )
}

struct TransactionList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List transactional ids with their state and producer id.",
        discussion: """
            JSON: {"transactions":[{"transactional_id":"etl","state":"Ongoing","producer_id":1000,"coordinator":1}]}

            Examples:
              fjord transaction list
              fjord transaction list --state Ongoing --open-longer-than 60000
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Option(
        name: .customLong("state"),
        help:
            "Only this state (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort); repeatable.")
    var states: [String] = []
    @Option(name: .customLong("producer-id"), help: "Only this producer id; repeatable.")
    var producerIDs: [Int64] = []
    @Option(name: .customLong("open-longer-than"), help: "Only transactions open at least this many milliseconds.")
    var openLongerThanMs: Int64?

    func run() async throws {
        let listed = try await connection.withAdmin { admin in
            try await admin.listTransactions(
                states: states, producerIDs: producerIDs, openLongerThan: openLongerThanMs.map { .milliseconds($0) }
            )
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "transactions",
                        .array(
                            listed.map { transaction in
                                .object([
                                    ("transactional_id", .string(transaction.transactionalID)),
                                    ("state", .string(transaction.state)),
                                    ("producer_id", .int(transaction.producerID)),
                                    ("coordinator", .int(transaction.coordinator)),
                                ])
                            })
                    )
                ]))
        case .text:
            Output.table(
                ["TRANSACTIONAL-ID", "STATE", "PRODUCER-ID", "COORDINATOR"],
                listed.map { [$0.transactionalID, $0.state, "\($0.producerID)", "\($0.coordinator)"] }
            )
        }
    }
}

struct TransactionDescribe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        abstract:
            "Show a transactional id: state, producer id and epoch, timeout, and the partitions of its open transaction.",
        discussion: """
            JSON: {"transactional_id":"etl","state":"Ongoing","producer_id":1000,"producer_epoch":3,
            "timeout_ms":60000,"start_time_ms":1795680000000,"coordinator":1,
            "partitions":[{"topic":"out","partition":0}]}

            Example:
              fjord transaction describe etl
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Argument(help: "The transactional id.") var transactionalID: String

    func run() async throws {
        let results = try await connection.withAdmin { await $0.describeTransactions([transactionalID]) }
        let transaction: TransactionDescription
        switch results[transactionalID] {
        case .success(let found)?: transaction = found
        case .failure(let error)?:
            if error.kafkaError == .transactionalIDNotFound {
                throw CLIError(
                    "transactional id '\(transactionalID)' does not exist",
                    hint: "list them with `fjord transaction list`")
            }
            throw CLIError(CLIError.describe(error, subject: "transactional id '\(transactionalID)'"))
        case nil: throw CLIError("transactional id '\(transactionalID)': no answer from the coordinator")
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    ("transactional_id", .string(transaction.transactionalID)), ("state", .string(transaction.state)),
                    ("producer_id", .int(transaction.producerID)), ("producer_epoch", .int(transaction.producerEpoch)),
                    ("timeout_ms", .int(transaction.timeoutMs)), ("start_time_ms", .int(transaction.startTimeMs)),
                    ("coordinator", .int(transaction.coordinator)),
                    (
                        "partitions",
                        .array(
                            transaction.partitions.map {
                                .object([("topic", .string($0.topic)), ("partition", .int($0.partition))])
                            })
                    ),
                ]))
        case .text:
            print(
                "Transactional ID: \(transaction.transactionalID)  State: \(transaction.state)  Coordinator: \(transaction.coordinator)"
            )
            print(
                "Producer: id \(transaction.producerID), epoch \(transaction.producerEpoch)  Timeout: \(transaction.timeoutMs) ms"
                    + (transaction.startTimeMs >= 0 ? "  Started: \(transaction.startTimeMs)" : ""))
            print(
                "Partitions: "
                    + (transaction.partitions.isEmpty
                        ? "-" : transaction.partitions.map(\.description).joined(separator: ",")))
        }
    }
}

struct TransactionDescribeProducers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe-producers",
        abstract:
            "Show the producers a partition's leader remembers, with the start offset of their open transactions.",
        discussion: """
            JSON: {"producers":[{"topic":"out","partition":0,"producer_id":1000,"producer_epoch":3,
            "last_sequence":41,"last_timestamp":1795680000000,"coordinator_epoch":0,"current_transaction_start_offset":120}]}

            Example:
              fjord transaction describe-producers --topic out:0
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Option(name: .customLong("topic"), help: "TOPIC or TOPIC:P1,P2 (default: every partition).")
    var selection: TopicSelection

    func run() async throws {
        let rows = try await connection.withAdmin { admin -> [(TopicPartition, ProducerState)] in
            let partitions = try await selection.resolve(admin: admin)
            let results = await admin.describeProducers(partitions)
            var rows: [(TopicPartition, ProducerState)] = []
            for partition in partitions {
                switch results[partition] {
                case .success(let producers)?: rows += producers.map { (partition, $0) }
                case .failure(let error)?: throw CLIError(CLIError.describe(error, subject: "partition \(partition)"))
                case nil: throw CLIError("partition \(partition): no answer from its leader")
                }
            }
            return rows
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    (
                        "producers",
                        .array(
                            rows.map { partition, producer in
                                .object([
                                    ("topic", .string(partition.topic)), ("partition", .int(partition.partition)),
                                    ("producer_id", .int(producer.producerID)),
                                    ("producer_epoch", .int(producer.producerEpoch)),
                                    ("last_sequence", .int(producer.lastSequence)),
                                    ("last_timestamp", .int(producer.lastTimestamp)),
                                    ("coordinator_epoch", .int(producer.coordinatorEpoch)),
                                    ("current_transaction_start_offset", .int(producer.currentTransactionStartOffset)),
                                ])
                            })
                    )
                ]))
        case .text:
            Output.table(
                ["TOPIC", "PARTITION", "PRODUCER-ID", "EPOCH", "LAST-SEQUENCE", "LAST-TIMESTAMP", "TXN-START-OFFSET"],
                rows.map { partition, producer in
                    [
                        partition.topic, "\(partition.partition)", "\(producer.producerID)",
                        "\(producer.producerEpoch)",
                        "\(producer.lastSequence)", "\(producer.lastTimestamp)",
                        producer.currentTransactionStartOffset >= 0 ? "\(producer.currentTransactionStartOffset)" : "-",
                    ]
                }
            )
        }
    }
}

struct TransactionAbort: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "abort",
        abstract: "Abort a producer's open transaction in one partition (for a hanging transaction).",
        discussion: """
            Writes an ABORT marker into the partition, so read_committed consumers get past the transaction. Name the
            transaction by the offset where it starts (as `describe-producers` shows it), or by producer id and epoch.

            JSON: {"topic":"out","partition":0,"producer_id":1000,"producer_epoch":3,"aborted":true}

            Examples:
              fjord transaction abort --topic out:0 --start-offset 120
              fjord transaction abort --topic out:0 --producer-id 1000 --producer-epoch 3 --coordinator-epoch 0
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOptions
    @Option(name: .customLong("topic"), help: "TOPIC:PARTITION holding the transaction.")
    var selection: TopicSelection
    @Option(
        name: .customLong("start-offset"), help: "The first offset of the open transaction (see describe-producers).")
    var startOffset: Int64?
    @Option(name: .customLong("producer-id")) var producerID: Int64?
    @Option(name: .customLong("producer-epoch")) var producerEpoch: Int16?
    @Option(name: .customLong("coordinator-epoch")) var coordinatorEpoch: Int32 = 0

    func validate() throws {
        guard selection.partitions?.count == 1 else {
            throw ValidationError("--topic needs exactly one partition: TOPIC:PARTITION")
        }
        guard (startOffset != nil) != (producerID != nil) else {
            throw ValidationError(
                "name the transaction with --start-offset, or with --producer-id and --producer-epoch")
        }
        if producerID != nil, producerEpoch == nil { throw ValidationError("--producer-id needs --producer-epoch") }
    }

    func run() async throws {
        let partition = TopicPartition(selection.topic, selection.partitions![0])
        let (producerID, producerEpoch) = try await connection.withAdmin { admin -> (Int64, Int16) in
            var target = (self.producerID ?? -1, self.producerEpoch ?? -1, coordinatorEpoch)
            if let startOffset {
                let producers: [ProducerState]
                switch await admin.describeProducers([partition])[partition] {
                case .success(let found)?: producers = found
                case .failure(let error)?: throw CLIError(CLIError.describe(error, subject: "partition \(partition)"))
                case nil: throw CLIError("partition \(partition): no answer from its leader")
                }
                guard let producer = producers.first(where: { $0.currentTransactionStartOffset == startOffset }) else {
                    throw CLIError(
                        "no open transaction starts at offset \(startOffset) in \(partition)",
                        hint:
                            "see `fjord transaction describe-producers --topic \(partition.topic):\(partition.partition)`"
                    )
                }
                target = (
                    producer.producerID, Int16(truncatingIfNeeded: producer.producerEpoch), producer.coordinatorEpoch
                )
            }
            do {
                try await admin.abortTransaction(
                    in: partition, producerID: target.0, producerEpoch: target.1, coordinatorEpoch: target.2)
            } catch let error as ClientError {
                throw CLIError(CLIError.describe(error, subject: "partition \(partition)"))
            }
            return (target.0, target.1)
        }
        switch output.format {
        case .json:
            Output.json(
                .object([
                    ("topic", .string(partition.topic)), ("partition", .int(partition.partition)),
                    ("producer_id", .int(producerID)), ("producer_epoch", .int(producerEpoch)),
                    ("aborted", .bool(true)),
                ]))
        case .text:
            print("Aborted the transaction of producer \(producerID) (epoch \(producerEpoch)) in \(partition)")
        }
    }
}
