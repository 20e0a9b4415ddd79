import Foundation
import KafkaCodegen
import Testing

/// Flow:
/// 1. Locate `../shared/kafka-message-specs` beside the repository (where it is absent the tests show as skipped,
///    with the reason, never as passed).
/// 2. Generate the sources and the test samples in memory, as `fjord-codegen` would.
/// 3. Compare with the committed `Sources/KafkaProtocol/Generated` and `Tests/KafkaProtocolTests/Generated`:
///    any difference, missing or extra file fails and names the file.
@Suite struct GeneratedCodeIsCurrentTests {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let specs = repository.deletingLastPathComponent().appendingPathComponent("shared/kafka-message-specs")

    static var specsPresent: Bool {
        FileManager.default.fileExists(atPath: specs.appendingPathComponent("client").path)
    }

    static let specsAbsent: Comment =
        "../shared/kafka-message-specs is absent beside the repository: nothing to regenerate from"

    @Test(.enabled(if: specsPresent, specsAbsent)) func committedCodeMatchesTheGenerator() throws {
        let codegen = Codegen(specsDirectory: Self.specs)
        let temporary = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fjord-codegen-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: temporary) }
        let sources = try codegen.sourceFiles()
        let tests = try codegen.testFiles()
        try Codegen.write(sources, to: temporary.appendingPathComponent("Sources"))
        try Codegen.write(tests, to: temporary.appendingPathComponent("Tests"))
        // Regenerated into a temporary folder: the files written there must be what the generator produced ...
        #expect(Codegen.differences(sources, in: temporary.appendingPathComponent("Sources")).isEmpty)
        // ... and the committed files must be exactly the same.
        let committedSources = Self.repository.appendingPathComponent("Sources/KafkaProtocol/Generated")
        let committedTests = Self.repository.appendingPathComponent("Tests/KafkaProtocolTests/Generated")
        let problems =
            Codegen.differences(sources, in: committedSources) + Codegen.differences(tests, in: committedTests)
        #expect(
            problems.isEmpty,
            "Generated code is stale; run `swift run fjord-codegen ../shared/kafka-message-specs`: \(problems.prefix(10))"
        )
        #expect(sources.keys.contains("12_Heartbeat.swift"))
        #expect(sources.keys.contains("Headers/RequestHeader.swift"))
        #expect(sources.keys.contains("GroupCoordinator/OffsetCommitKey.swift"))
        #expect(sources.keys.contains("Metadata/TopicRecord.swift"))
        #expect(sources.keys.contains("TransactionCoordinator/TransactionLogValue.swift"))
    }

    @Test(.enabled(if: specsPresent, specsAbsent)) func zooKeeperOnlyAPIsAreLeftOut() throws {
        let sources = try Codegen(specsDirectory: Self.specs).sourceFiles()
        // LeaderAndIsr (4) listens only on zkBroker in Kafka 4; Produce and the controller's Vote are served.
        #expect(!sources.keys.contains { $0.hasPrefix("04_") })
        #expect(sources.keys.contains("00_Produce.swift"))
        #expect(sources.keys.contains("52_Vote.swift"))
    }
}
