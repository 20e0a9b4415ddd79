import ArgumentParser
import FjordClient
import Foundation
import KafkaRecords
import NIOCore

/// `fjord produce TOPIC`: one record per input line.
struct ProduceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "produce",
        abstract: "Produce records to a topic, one per line of standard input (or --file).",
        discussion: """
            With --key-separator each line is KEY<sep>VALUE (a line without the separator is an error); without it
            the whole line is the value and the key is null. Records keep the order of the lines. Exits 1 if any
            record was not acknowledged.

            Example:
              printf 'user1:login\\nuser2:logout\\n' | fjord produce events --key-separator : --header source=cli -v
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The topic.") var topic: String
    @Option(name: .long, help: "Split each line into key and value at the first occurrence of this string.")
    var keySeparator: String?
    @Option(name: .long, help: ArgumentHelp("A header on every record (repeatable).", valueName: "key=value"))
    var header: [String] = []
    @Option(
        name: [.short, .long], help: "Write every record to this partition (default: by key hash, sticky without).")
    var partition: Int32?
    @Option(name: .long, help: "Acknowledgement: 0 (none), 1 (leader), all (every in-sync replica).")
    var acks: AcksOption = .all
    @Option(name: .long, help: "Batch compression: none, gzip, snappy, lz4, zstd.")
    var compression: CompressionOption = .none
    @Option(name: [.short, .long], help: "Read records from this file instead of standard input.")
    var file: String?
    @Flag(name: .shortAndLong, help: "Print the partition and offset of every record (waits for each one).")
    var verbose = false

    func validate() throws {
        if let keySeparator, keySeparator.isEmpty { throw ValidationError("--key-separator must not be empty") }
        if let partition, partition < 0 { throw ValidationError("--partition must be 0 or more") }
        _ = try parseHeaders()
    }

    func parseHeaders() throws -> [RecordHeader] {
        try header.map { pair in
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw ValidationError("--header needs key=value, got '\(pair)'")
            }
            return RecordHeader(key: String(pair[..<equals]), value: String(pair[pair.index(after: equals)...]))
        }
    }

    func run() async throws {
        let headers = try parseHeaders()
        let input: LineReader
        if let file {
            guard let opened = LineReader(path: file) else {
                throw CLIError("cannot read --file '\(file)'", hint: "check the path and its permissions")
            }
            input = opened
        } else {
            input = LineReader.standardInput
        }
        try await TopicCheck.require(topic: topic, partition: partition, connection: connection)
        var configuration = ProducerConfiguration(client: try connection.clientConfiguration(clientID: "fjord-produce"))
        configuration.acks = acks.value
        configuration.compression = compression.codec
        configuration.maxBlock = .seconds(connection.requestTimeout)
        configuration.deliveryTimeout = .seconds(max(connection.requestTimeout, 30))
        // Each record leaves at once when someone types or waits for it (-v): FjordClient's sender does not arm the
        // linger timer for a batch started while it is idle, so a lone line would wait for the batch to fill.
        if verbose || isatty(file == nil ? 0 : -1) == 1 { configuration.linger = .zero }
        let producer = Producer(configuration: configuration)
        let outcome: Result<Int, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await producer.run() }
            let outcome: Result<Int, any Error>
            do {
                outcome = .success(try await send(lines: input, headers: headers, producer: producer))
            } catch {
                outcome = .failure(error)
            }
            await producer.close()
            await group.waitForAll()
            return outcome
        }
        await producer.client.close()
        let count = try outcome.mapError { CLIError.wrap($0, bootstrap: connection.bootstrapText) }.get()
        let lost = CLILogging.errors.withLockedValue { $0 }
        if !lost.isEmpty {
            throw CLIError("some of the \(count) records were not delivered: \(lost[0])", hint: "see the broker log")
        }
    }

    /// Sends every line in order; returns the number of records.
    private func send(lines: LineReader, headers: [RecordHeader], producer: Producer) async throws -> Int {
        var count = 0
        while let line = lines.next() {
            count += 1
            var key: ByteBuffer?
            var value = line
            if let keySeparator {
                guard let range = line.range(of: keySeparator) else {
                    throw CLIError(
                        "line \(count) has no key separator '\(keySeparator)'",
                        hint: "write KEY\(keySeparator)VALUE, or drop --key-separator; records before it were sent"
                    )
                }
                key = ByteBuffer(string: String(line[..<range.lowerBound]))
                value = String(line[range.upperBound...])
            }
            if verbose {
                let metadata = try await producer.send(
                    topic: topic, key: key, value: ByteBuffer(string: value), headers: headers, partition: partition
                )
                print("produced to \(topic)-\(metadata.partition) at offset \(metadata.offset)")
            } else {
                try await producer.sendAndForget(
                    topic: topic, key: key, value: ByteBuffer(string: value), headers: headers, partition: partition
                )
            }
        }
        await producer.flush()
        return count
    }
}

/// `--acks 0|1|all|-1`.
enum AcksOption: String, ExpressibleByArgument, CaseIterable {
    case none = "0"
    case leader = "1"
    case all
    case minusOne = "-1"

    var value: ProducerConfiguration.Acks {
        switch self {
        case .none: .none
        case .leader: .leader
        case .all, .minusOne: .all
        }
    }
}

/// `--compression none|gzip|snappy|lz4|zstd`.
enum CompressionOption: String, ExpressibleByArgument, CaseIterable {
    case none, gzip, snappy, lz4, zstd

    var codec: CompressionCodec {
        switch self {
        case .none: .none
        case .gzip: .gzip
        case .snappy: .snappy
        case .lz4: .lz4
        case .zstd: .zstd
        }
    }
}

/// Lines of standard input or a file, without their line endings.
final class LineReader {
    private let handle: UnsafeMutablePointer<FILE>
    private let owned: Bool

    static var standardInput: LineReader { LineReader(handle: fdopen(0, "r"), owned: false) }

    private init(handle: UnsafeMutablePointer<FILE>, owned: Bool) {
        self.handle = handle
        self.owned = owned
    }

    init?(path: String) {
        guard let handle = fopen(path, "r") else { return nil }
        self.handle = handle
        self.owned = true
    }

    deinit {
        if owned { fclose(handle) }
    }

    /// The next line, or nil at the end.
    func next() -> String? {
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        let length = getline(&buffer, &capacity, handle)
        defer { free(buffer) }
        guard length >= 0, let buffer else { return nil }
        var line = String(cString: buffer)
        if line.hasSuffix("\n") { line.removeLast() }
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}

/// Checks up front that a topic (and partition) exists, so a typo fails at once with a helpful message instead of
/// waiting for metadata that never comes.
enum TopicCheck {
    /// The partition count of `topic`.
    @discardableResult
    static func require(topic: String, partition: Int32? = nil, connection: ConnectionOptions) async throws -> Int {
        let described = try await connection.withAdmin { try await $0.describeTopics([topic]) }
        guard case .success(let description)? = described[topic] else {
            if case .failure(let error)? = described[topic] {
                throw CLIError(CLIError.describe(error, subject: "topic '\(topic)'"))
            }
            throw CLIError("topic '\(topic)' does not exist", hint: "list topics with `fjord topic list`")
        }
        let count = description.partitions.count
        if let partition, partition >= count {
            throw CLIError(
                "topic '\(topic)' has no partition \(partition) (it has \(count): 0-\(count - 1))",
                hint: "see `fjord topic describe \(topic)`"
            )
        }
        return count
    }
}
