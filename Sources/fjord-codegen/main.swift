import Foundation
import KafkaCodegen

// fjord-codegen SPECS_DIR [SOURCES_OUT] [TESTS_OUT]
//
// Regenerates the protocol code from Kafka's JSON specs. Run from the repository root:
//   swift run fjord-codegen ../shared/kafka-message-specs
let arguments = CommandLine.arguments.dropFirst()
guard let specs = arguments.first, !specs.hasPrefix("-") else {
    FileHandle.standardError.write(Data("usage: fjord-codegen SPECS_DIR [SOURCES_OUT] [TESTS_OUT]\n".utf8))
    exit(2)
}
let rest = Array(arguments.dropFirst())
let sourcesOut = URL(fileURLWithPath: rest.count > 0 ? rest[0] : "Sources/KafkaProtocol/Generated")
let testsOut = URL(fileURLWithPath: rest.count > 1 ? rest[1] : "Tests/KafkaProtocolTests/Generated")
do {
    let codegen = Codegen(specsDirectory: URL(fileURLWithPath: specs))
    let sources = try codegen.sourceFiles()
    try Codegen.write(sources, to: sourcesOut)
    let tests = try codegen.testFiles()
    try Codegen.write(tests, to: testsOut)
    print("fjord-codegen: wrote \(sources.count) files to \(sourcesOut.path) and \(tests.count) to \(testsOut.path)")
} catch {
    FileHandle.standardError.write(Data("fjord-codegen: \(error)\n".utf8))
    exit(1)
}
