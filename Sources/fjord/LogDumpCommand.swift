import ArgumentParser
import FjordStorage

/// `fjord log`: tools for partition log files.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Inspect partition log files.",
        subcommands: [LogDumpCommand.self]
    )
}

/// `fjord log dump <path>...`: prints segment files like Kafka's `kafka-dump-log`.
struct LogDumpCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the batches of a .log, or the entries of an .index / .timeindex / .txnindex.",
        discussion: """
            Exits with status 1 when something does not check out (a bad CRC, bytes after the last batch, an index
            entry that does not point at its batch with --verify-index).

            Example:
              fjord log dump --print-records fjord-data/orders-0/00000000000000000000.log
              fjord log dump --verify-index fjord-data/orders-0/00000000000000000000.index
            """
    )

    @Argument(help: "Segment files (.log, .index, .timeindex, .txnindex).")
    var paths: [String]

    @Flag(name: .long, help: "Print every record (offset, timestamp, key, value, headers).")
    var printRecords = false

    @Flag(name: .long, help: "Check that each index entry points at the batch it claims (reads the sibling .log).")
    var verifyIndex = false

    @Option(name: .long, help: "Output format: text or json.")
    var format: String = "text"

    func run() throws {
        guard let format = LogDumpFormatter.Format(rawValue: format) else {
            throw ValidationError("--format must be text or json")
        }
        var formatter = LogDumpFormatter(format: format, printRecords: printRecords)
        var failed = false
        for path in paths {
            do {
                let report = formatter.report(
                    path: path, try SegmentInspector.inspect(path: path, verifyIndex: verifyIndex))
                print(report.output, terminator: "")
                failed = failed || !report.problems.isEmpty
            } catch {
                print("\(path): \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
