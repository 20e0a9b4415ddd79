import ArgumentParser
import FjordClient
import Foundation
import KafkaRecords
import NIOConcurrencyHelpers
import NIOCore

/// `fjord consume TOPIC`: prints records until --count, --idle-timeout or Ctrl-C.
struct ConsumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consume",
        abstract: "Print the records of a topic, alone or as a member of a consumer group.",
        discussion: """
            --from: beginning (default), end, an OFFSET (42), a TIME as @<epoch ms> or ISO-8601
            (2026-11-26T10:00:00Z). In a group, beginning/end only apply where the group has no committed offset;
            move a group with `fjord group reset-offsets` instead.

            --format: text (the value), json (one object per line: {"topic","partition","offset","timestamp",
            "timestamp_type","key","value","headers":[{"key","value"}]}), or a template with placeholders:
              %k key  %v value  %h headers (k=v,k=v)  %p partition  %o offset  %t timestamp (epoch ms)
              %d timestamp (ISO-8601)  %T topic  %K key length  %V value length  %%  a percent sign
              \\n \\t  newline, tab
            Each record prints its template followed by a newline. A null key or value prints empty.

            Ctrl-C (or SIGTERM) stops cleanly; in a group the offsets of exactly the printed records are committed
            before it leaves the group.

            Example:
              fjord consume orders --group billing --count 10 --format '%p:%o %k=%v [%h]'
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The topic.") var topic: String
    @Option(name: [.short, .long], help: "Consume as a member of this consumer group (commits what it prints).")
    var group: String?
    @Option(name: .long, help: "Where to start: beginning, end, OFFSET, @EPOCH_MS or an ISO-8601 time.")
    var from: String = "beginning"
    @Option(name: [.short, .long], help: "Stop after this many records.") var count: Int?
    @Option(name: [.short, .long], help: "Read only this partition (repeatable; not with --group).")
    var partition: [Int32] = []
    @Option(name: [.short, .long], help: "text, json, or a template such as '%k=%v' (see below).")
    var format: String = "text"
    @Option(name: .long, help: "read_uncommitted (default) or read_committed.")
    var isolation: IsolationOption = .readUncommitted
    @Option(name: .long, help: ArgumentHelp("Stop when no record arrived for this many seconds.", valueName: "seconds"))
    var idleTimeout: Double?

    func validate() throws {
        guard let start = StartPosition(from) else {
            throw ValidationError(
                "--from must be beginning, end, an offset, @<epoch ms> or an ISO-8601 time; got '\(from)'")
        }
        if group != nil {
            guard partition.isEmpty else {
                throw ValidationError("--partition cannot be used with --group (the group assigns partitions)")
            }
            if case .offset = start {
                throw ValidationError("--from OFFSET cannot be used with --group; use `fjord group reset-offsets`")
            }
            if case .time = start {
                throw ValidationError(
                    "--from TIME cannot be used with --group; use `fjord group reset-offsets --to-datetime`")
            }
        }
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
        if let idleTimeout, idleTimeout <= 0 { throw ValidationError("--idle-timeout must be positive") }
        if partition.contains(where: { $0 < 0 }) { throw ValidationError("--partition must be 0 or more") }
    }

    func run() async throws {
        let start = StartPosition(from)!
        let printer = RecordPrinter(format: format)
        let partitionCount = try await TopicCheck.require(
            topic: topic, partition: partition.max(), connection: connection
        )
        var configuration = ConsumerConfiguration(
            client: try connection.clientConfiguration(clientID: "fjord-consume"), groupID: group
        )
        configuration.commitMode = group == nil ? .none : .manual
        configuration.autoOffsetReset = start == .end ? .latest : .earliest
        configuration.isolationLevel = isolation.level
        configuration.sessionTimeout = .seconds(10)
        configuration.heartbeatInterval = .seconds(1)
        configuration.rebalanceTimeout = .seconds(30)
        let consumer = Consumer(configuration: configuration)
        if group != nil {
            try await consumer.subscribe(topics: [topic])
        } else {
            let partitions = (partition.isEmpty ? Array(0..<Int32(partitionCount)) : partition)
                .map { TopicPartition(topic, $0) }
            try await consumer.assign(partitions)
            try await Self.seek(consumer, partitions, to: start)
        }
        let session = ConsumeSession(consumer: consumer, inGroup: group != nil, limit: count)
        let failure = await session.run(printer: printer, idleTimeout: idleTimeout)
        await consumer.client.close()
        if let failure { throw CLIError.wrap(failure, bootstrap: connection.bootstrapText) }
    }

    private static func seek(_ consumer: Consumer, _ partitions: [TopicPartition], to start: StartPosition) async throws
    {
        switch start {
        case .beginning: try await consumer.seekToBeginning(partitions)
        case .end: try await consumer.seekToEnd(partitions)
        case .offset(let offset):
            for partition in partitions { try await consumer.seek(partition, to: offset) }
        case .time(let ms):
            let found = try await consumer.offsetsForTimes(
                Dictionary(uniqueKeysWithValues: partitions.map { ($0, ms) }))
            var pastEnd: [TopicPartition] = []
            for partition in partitions {
                if let listed = found[partition] ?? nil {
                    try await consumer.seek(partition, to: listed.offset)
                } else {
                    pastEnd.append(partition)
                }
            }
            if !pastEnd.isEmpty { try await consumer.seekToEnd(pastEnd) }
        }
    }
}

/// `--isolation read_uncommitted|read_committed`.
enum IsolationOption: String, ExpressibleByArgument, CaseIterable {
    case readUncommitted = "read_uncommitted"
    case readCommitted = "read_committed"

    var level: ConsumerConfiguration.IsolationLevel {
        self == .readCommitted ? .readCommitted : .readUncommitted
    }
}

/// One consume run: the consumer service, the printing loop, and a stop (count, idle timeout, signal or error) that
/// commits exactly the printed records (in a group) before closing the consumer, once.
final class ConsumeSession: Sendable {
    private struct State {
        var stopping = false
        var printed: [TopicPartition: Int64] = [:]
        var count = 0
        var lastActivity = ContinuousClock.now
        var finish: Task<Void, Never>?
        var commitError: (any Error)?
    }

    let consumer: Consumer
    let inGroup: Bool
    let limit: Int?
    private let state = NIOLockedValueBox(State())

    init(consumer: Consumer, inGroup: Bool, limit: Int?) {
        self.consumer = consumer
        self.inGroup = inGroup
        self.limit = limit
    }

    /// Runs until a stop; returns the error that ended it, if any.
    func run(printer: RecordPrinter, idleTimeout: Double?) async -> (any Error)? {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await self.consumer.run() }
            group.addTask {
                for await _ in Signals.interrupts() {
                    await self.stop()
                    return
                }
            }
            if let idleTimeout {
                group.addTask { await self.watchIdle(seconds: idleTimeout) }
            }
            var failure: (any Error)?
            do {
                for try await record in consumer.records {
                    guard self.print(record, printer) else { break }
                }
            } catch {
                failure = error
            }
            await stop()
            group.cancelAll()
            return failure ?? state.withLockedValue { $0.commitError }
        }
    }

    /// Prints a record unless stopping; false when the loop should end.
    private func print(_ record: ConsumerRecord, _ printer: RecordPrinter) -> Bool {
        state.withLockedValue { state in
            guard !state.stopping else { return false }
            printer.print(record)
            state.printed[record.topicPartition] = record.offset + 1
            state.count += 1
            state.lastActivity = .now
            if let limit, state.count >= limit {
                state.stopping = true
                return false
            }
            return true
        }
    }

    private func watchIdle(seconds: Double) async {
        let limit = Duration.milliseconds(Int64(seconds * 1000))
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let idle = state.withLockedValue { ContinuousClock.now - $0.lastActivity }
            if idle >= limit {
                await stop()
                return
            }
        }
    }

    /// Stops printing, commits what was printed (in a group) and closes the consumer; every caller waits for the
    /// same single stop.
    func stop() async {
        let task: Task<Void, Never> = state.withLockedValue { state in
            state.stopping = true
            if let finish = state.finish { return finish }
            let printed = state.printed
            let finish = Task {
                if self.inGroup, !printed.isEmpty {
                    do {
                        try await self.consumer.commit(offsets: printed)
                    } catch {
                        self.state.withLockedValue { $0.commitError = error }
                    }
                }
                await self.consumer.close()
            }
            state.finish = finish
            return finish
        }
        await task.value
        Output.flush()
    }
}

/// Renders records for `--format`.
struct RecordPrinter: Sendable {
    private enum Piece: Sendable {
        case literal(String)
        case field(Character)
    }

    private let mode: OutputFormat?
    private let pieces: [Piece]

    init(format: String) {
        switch format {
        case "text":
            mode = .text
            pieces = [.field("v")]
        case "json":
            mode = .json
            pieces = []
        default:
            mode = nil
            pieces = Self.parse(format)
        }
    }

    private static func parse(_ template: String) -> [Piece] {
        var pieces: [Piece] = []
        var literal = ""
        var iterator = template.makeIterator()
        while let char = iterator.next() {
            if char == "%", let next = iterator.next() {
                if next == "%" {
                    literal.append("%")
                } else {
                    if !literal.isEmpty { pieces.append(.literal(literal)) }
                    literal = ""
                    pieces.append(.field(next))
                }
            } else if char == "\\", let next = iterator.next() {
                switch next {
                case "n": literal.append("\n")
                case "t": literal.append("\t")
                case "\\": literal.append("\\")
                default:
                    literal.append("\\")
                    literal.append(next)
                }
            } else {
                literal.append(char)
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        return pieces
    }

    func print(_ record: ConsumerRecord) {
        if mode == .json {
            Swift.print(Self.json(record).rendered)
        } else {
            var line = ""
            for piece in pieces {
                switch piece {
                case .literal(let text): line += text
                case .field(let name): line += Self.field(name, record)
                }
            }
            Swift.print(line)
        }
        Output.flush()
    }

    private static func text(_ buffer: ByteBuffer?) -> String {
        buffer.map { String(buffer: $0) } ?? ""
    }

    private static func field(_ name: Character, _ record: ConsumerRecord) -> String {
        switch name {
        case "k": text(record.key)
        case "v": text(record.value)
        case "h": record.headers.map { "\($0.key)=\(text($0.value))" }.joined(separator: ",")
        case "p": "\(record.partition)"
        case "o": "\(record.offset)"
        case "t": "\(record.timestamp)"
        case "d": TimeParsing.iso8601(record.timestamp)
        case "T": record.topic
        case "K": "\(record.key?.readableBytes ?? -1)"
        case "V": "\(record.value?.readableBytes ?? -1)"
        default: "%\(name)"
        }
    }

    static func json(_ record: ConsumerRecord) -> JSONValue {
        func value(_ buffer: ByteBuffer?) -> JSONValue { buffer.map { .string(String(buffer: $0)) } ?? .null }
        return .object([
            ("topic", .string(record.topic)),
            ("partition", .int(record.partition)),
            ("offset", .int(record.offset)),
            ("timestamp", .int(record.timestamp)),
            ("timestamp_type", .string(record.timestampType == .logAppendTime ? "LogAppendTime" : "CreateTime")),
            ("key", value(record.key)),
            ("value", value(record.value)),
            (
                "headers",
                .array(record.headers.map { .object([("key", .string($0.key)), ("value", value($0.value))]) })
            ),
        ])
    }
}
