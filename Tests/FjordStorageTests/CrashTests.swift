import FjordTestSupport
import Foundation
import KafkaProtocol
import KafkaRecords
import NIOCore
import Testing

@testable import FjordStorage

#if canImport(Glibc)
    import Glibc
#endif

/// Crash tests with a real child process (`fjord-storage-crash-writer`) killed by SIGKILL.
@Suite struct CrashTests {
    /// The writer binary: next to the test bundle in the build products folder (`swift build` builds it; `make
    /// test` runs `swift build` before `swift test`), or `FJORD_STORAGE_CRASH_WRITER`.
    static func writerPath() -> String? {
        if let path = ProcessInfo.processInfo.environment["FJORD_STORAGE_CRASH_WRITER"] { return path }
        var candidates = [String]()
        for start in [CommandLine.arguments.first, Bundle.main.executablePath, Bundle.main.bundlePath].compactMap({ $0 }
        ) {
            var url = URL(fileURLWithPath: start).standardizedFileURL
            for _ in 0..<4 {
                url.deleteLastPathComponent()
                candidates.append(url.appendingPathComponent("fjord-storage-crash-writer").path)
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Flow:
    /// 1. Start the writer on a partition folder; it recovers the log and appends until killed, printing an ACK line
    ///    (offsets and a content checksum) after each append returns.
    /// 2. SIGKILL it at a random moment (seeded), then reopen the log as after an unclean shutdown.
    /// 3. Every ACKed append is there with identical content; the files end on a batch boundary with valid CRCs and
    ///    the indexes agree with the log.
    /// 4. Close, and run the next round on the same folder (≥ 20 rounds); at the end re-check every ACK of every round.
    @Test func sigkillNeverLosesAnAcknowledgedAppend() throws {
        guard let writer = Self.writerPath() else {
            Issue.record(
                """
                fjord-storage-crash-writer not found next to the test bundle (\(CommandLine.arguments.first ?? "?")). \
                Build it first: `swift build` (make test does), or set FJORD_STORAGE_CRASH_WRITER.
                """)
            return
        }
        let seed = SeededGenerator.seed(from: "STORAGE_SEED", test: "sigkillNeverLosesAnAcknowledgedAppend")
        var random = SeededGenerator(seed: seed)
        let directory = StorageFixtures.temporaryDirectory() + "/crash-0"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var acknowledged: [(first: Int64, last: Int64, checksum: UInt32)] = []
        for round in 0..<20 {
            let output = directory + ".out"
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let outputFile = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            let process = try ChildProcess(
                executable: writer, arguments: [directory, String(seed &+ UInt64(round))],
                standardOutput: .descriptor(outputFile.fileDescriptor))
            try outputFile.close()
            // Wait (generously: a loaded machine starts and recovers slowly) for START and the round's first ACK,
            // then kill at a random moment. Waiting for an ACK rather than a fixed time keeps every round
            // meaningful however little CPU the writer gets; the random delay still varies where the kill lands.
            var start: Int64?
            var acknowledgedOnce = false
            let deadline = Date().addingTimeInterval(60)
            while !acknowledgedOnce, Date() < deadline {
                usleep(2000)
                let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()  // complete lines
                if start == nil, let line = lines.first, line.hasPrefix("START ") {
                    start = Int64(line.dropFirst(6))
                }
                acknowledgedOnce = lines.contains { $0.hasPrefix("ACK ") }
            }
            usleep(useconds_t(5_000 + random.next(below: 60_000)))
            process.send(SIGKILL)
            process.waitUntilExit()
            let writerStart = try #require(start, "round \(round): the writer never started")
            #expect(acknowledgedOnce, "round \(round): the writer acknowledged nothing within 60 s")
            let lines = try String(contentsOfFile: output, encoding: .utf8).split(
                separator: "\n", omittingEmptySubsequences: false)
            var roundAcks: [(first: Int64, last: Int64, checksum: UInt32)] = []
            // Only complete lines count (the last may have been cut by the kill).
            for line in lines.dropLast() where line.hasPrefix("ACK ") {
                let parts = line.split(separator: " ")
                if parts.count == 4, let first = Int64(parts[1]), let last = Int64(parts[2]), let sum = UInt32(parts[3])
                {
                    roundAcks.append((first, last, sum))
                }
            }

            let log = try PartitionLog(
                directory: directory, topicPartition: TopicPartition("crash", 0), topicID: .zero,
                configuration: Self.configuration, cleanShutdown: false
            )
            // The writer recovered to where the previous round's reopen left the log.
            // The writer recovered at least everything acknowledged before.
            #expect(
                writerStart >= (acknowledged.last?.last ?? -1) + 1,
                "round \(round): the writer started at \(writerStart)")
            #expect(
                log.logEndOffset >= (roundAcks.last?.last ?? writerStart - 1) + 1,
                "round \(round): log end \(log.logEndOffset) lost ACKed appends")
            let records = try LogChecks.allRecords(log, from: writerStart)
            var byOffset = [Int64: Record]()
            for record in records { byOffset[record.offset] = record }
            for ack in roundAcks {
                let range = (ack.first...ack.last).compactMap { byOffset[$0] }
                #expect(
                    range.count == Int(ack.last - ack.first + 1),
                    "round \(round): records \(ack.first)...\(ack.last) missing (seed \(seed))")
                #expect(
                    LogChecks.contentChecksum(range) == ack.checksum,
                    "round \(round): content of \(ack.first)...\(ack.last) differs (seed \(seed))")
            }
            acknowledged += roundAcks
            try log.close()
            try LogChecks.checkFolder(directory)
        }
        #expect(acknowledged.count > 20, "the writer acknowledged too few appends to mean anything")
        print(
            "crash test: \(acknowledged.count) acknowledged appends over 20 kills, log end \((acknowledged.last?.last ?? -1) + 1)"
        )

        // Everything acknowledged in every round is still there.
        let log = try PartitionLog(
            directory: directory, topicPartition: TopicPartition("crash", 0), topicID: .zero,
            configuration: Self.configuration
        )
        let records = try LogChecks.allRecords(log, from: 0)
        var byOffset = [Int64: Record]()
        for record in records { byOffset[record.offset] = record }
        for ack in acknowledged {
            #expect(LogChecks.contentChecksum((ack.first...ack.last).compactMap { byOffset[$0] }) == ack.checksum)
        }
        try log.close()
    }

    static var configuration: LogConfiguration {
        var configuration = LogConfiguration()
        configuration.segmentBytesMax = 256 * 1024
        configuration.indexIntervalBytes = 1024
        configuration.segmentIndexBytesMax = 64 * 1024
        return configuration
    }
}
