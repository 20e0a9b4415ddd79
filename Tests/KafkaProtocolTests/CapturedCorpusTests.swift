import Foundation
import KafkaProtocol
import NIOCore
import Testing

/// Bytes from outside the project: the requests that real clients sent to Fjord during the interoperability
/// suite, and Fjord's responses to them, recorded by the proxy of `Tests/Interop/tools/wire_capture.py`
/// (`make capture`). The corpus is `Fixtures/Captured/<client>/<NN>_<ApiName>_v<V>.request.bin` and
/// `.response.bin` — frames without their 4-byte length prefix, one exchange per client, API key and version —
/// with `index.json` saying which client software, version and interop test each came from.
///
/// Flow, for every captured frame:
/// 1. Decode the header (request header v1/v2, response header v0/v1 — v0 for every ApiVersions response)
///    and then the body with the generated type of the API key and version in the file name; bytes left after
///    the body fail the test unless `knownTrailingBytes` explains them.
/// 2. Encode header and body again and require exactly the captured bytes.
///
/// Round trips through our own encoder (RoundTripTests) cannot show that we agree with other implementations;
/// these requests were written by librdkafka 2.16 (confluent-kafka), librdkafka 2.0.2 (kcat), kafka-python,
/// aiokafka, the Java client (kafka-clients) and FjordClient (the `fjord` CLI).
@Suite struct CapturedCorpusTests {
    /// Clients the corpus must hold (directories of `Fixtures/Captured`).
    static let expectedClients: Set<String> = ["librdkafka", "kcat", "kafka-python", "aiokafka", "java", "fjordclient"]

    struct Entry: CustomTestStringConvertible, Sendable {
        let client: String
        let stem: String
        let apiKey: Int16
        let apiVersion: Int16
        let request: URL
        let response: URL?
        var testDescription: String { "\(client)/\(stem)" }
    }

    /// Bytes a client sends after a request body that Kafka (and Fjord) ignore, by "client/API name", with why.
    /// A request of the corpus with bytes after its body fails unless they are listed here; they are then kept
    /// out of the decoded value and appended to the re-encoding.
    static let knownTrailingBytes: [String: (bytes: Set<[UInt8]>, why: String)] = [
        "librdkafka/Metadata": (
            [[0x01, 0x00, 0x00], [0x00, 0x00, 0x00]],
            """
            librdkafka (rd_kafka_MetadataRequest0) reserves four bytes for the topic count and, asking for all topics \
            at v9+, keeps them: the compact null 0x00 is followed by three more zero bytes, which shift its last three \
            bytes (allowAutoTopicCreation, includeTopicAuthorizedOperations, tagged fields) past the body
            """
        )
    ]

    static let root: URL? = Bundle.module.url(forResource: "Captured", withExtension: nil, subdirectory: "Fixtures")

    /// Every exchange of the corpus, sorted by client and file name; files that do not follow the naming scheme
    /// are in `strays`.
    static var entries: [Entry] { corpus.entries }
    static var strays: [String] { corpus.strays }

    private static let corpus: (entries: [Entry], strays: [String]) = {
        guard let root else { return ([], []) }
        let files = FileManager.default
        var entries: [Entry] = []
        var strays: [String] = []
        let clients = ((try? files.contentsOfDirectory(atPath: root.path)) ?? []).sorted()
        for client in clients where client != "index.json" {
            let directory = root.appendingPathComponent(client)
            let names = Set((try? files.contentsOfDirectory(atPath: directory.path)) ?? [])
            for name in names.sorted() {
                if name.hasSuffix(".response.bin"),
                    names.contains(name.replacingOccurrences(of: ".response.", with: ".request."))
                {
                    continue
                }
                guard name.hasSuffix(".request.bin"), let (key, version) = parseStem(name) else {
                    strays.append("\(client)/\(name)")
                    continue
                }
                let stem = String(name.dropLast(".request.bin".count))
                let response = stem + ".response.bin"
                entries.append(
                    Entry(
                        client: client, stem: stem, apiKey: key, apiVersion: version,
                        request: directory.appendingPathComponent(name),
                        response: names.contains(response) ? directory.appendingPathComponent(response) : nil
                    ))
            }
        }
        return (entries, strays)
    }()

    /// `03_Metadata_v12.request.bin` → (3, 12), if the name is the API's.
    private static func parseStem(_ name: String) -> (Int16, Int16)? {
        let parts = name.split(separator: ".")[0].split(separator: "_")
        guard parts.count == 3, let key = Int16(parts[0]), parts[2].first == "v",
            let version = Int16(parts[2].dropFirst()),
            ApiKey(key).name == parts[1]
        else { return nil }
        return (key, version)
    }

    // MARK: The corpus itself

    @Test func corpusHoldsEveryExpectedClient() throws {
        let root = try #require(Self.root, "Fixtures/Captured is missing: run `make capture`")
        #expect(Self.strays.isEmpty, "files that are not <NN>_<ApiName>_v<V>.request/response.bin: \(Self.strays)")
        let clients = Set(Self.entries.map(\.client))
        #expect(Self.expectedClients.isSubset(of: clients), "missing: \(Self.expectedClients.subtracting(clients))")
        for client in Self.expectedClients {
            let ofClient = Self.entries.filter { $0.client == client }
            // Every client connects with ApiVersions, reads Metadata, and gets answers.
            #expect(ofClient.contains { $0.apiKey == ApiKey.apiVersions.rawValue }, "\(client): no ApiVersions")
            #expect(ofClient.contains { $0.apiKey == ApiKey.metadata.rawValue }, "\(client): no Metadata")
            #expect(ofClient.filter { $0.response != nil }.count >= 3, "\(client): fewer than 3 whole exchanges")
        }
        // The index names every exchange, and nothing else.
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: root.appendingPathComponent("index.json")))
        let indexed = try #require(index as? [String: Any])
        var listed = Set<String>()
        for (client, value) in indexed where !client.hasPrefix("_") {
            guard let stems = value as? [String: Any] else { continue }
            for stem in stems.keys { listed.insert("\(client)/\(stem)") }
        }
        #expect(listed == Set(Self.entries.map(\.testDescription)))
    }

    @Test func corpusStaysSmall() throws {
        var total = 0
        for entry in Self.entries {
            for url in [entry.request, entry.response].compactMap({ $0 }) {
                total += try Data(contentsOf: url).count
            }
        }
        #expect(total > 0)
        #expect(total < 2 << 20, "the corpus holds \(total) bytes; keep it under 2 MiB")
    }

    // MARK: Byte for byte

    @Test(arguments: Self.entries)
    func requestReencodesToTheSameBytes(_ entry: Entry) throws {
        let bytes = try Self.load(entry.request)
        let type = try #require(
            ApiKey.requestTypes[ApiKey(entry.apiKey)], "no generated request type for \(entry.stem)")
        let reencoded = try Self.reencodeRequest(type, bytes, entry: entry)
        Self.expectSameBytes(reencoded, bytes, entry.testDescription + " request")
    }

    @Test(arguments: Self.entries.filter { $0.response != nil })
    func responseReencodesToTheSameBytes(_ entry: Entry) throws {
        let request = try Self.load(entry.request)
        let bytes = try Self.load(try #require(entry.response))
        let type = try #require(
            ApiKey.requestTypes[ApiKey(entry.apiKey)], "no generated request type for \(entry.stem)")
        let reencoded = try Self.reencodeResponse(type, bytes, entry: entry)
        // The response answers the request it is stored with.
        #expect(
            bytes.getInteger(at: bytes.readerIndex, as: Int32.self)
                == request.getInteger(at: request.readerIndex + 4, as: Int32.self))
        Self.expectSameBytes(reencoded, bytes, entry.testDescription + " response")
    }

    /// The quirk of `knownTrailingBytes`, pinned: a librdkafka 2.16 request for all topics, whatever the corpus
    /// happens to keep for Metadata v12 (Fixtures/librdkafka-Metadata-v12-all-topics.json).
    @Test func librdkafkaMetadataForAllTopicsEndsWithThreeStrayBytes() throws {
        let url = try #require(
            Bundle.module.url(
                forResource: "librdkafka-Metadata-v12-all-topics", withExtension: "bin", subdirectory: "Fixtures")
        )
        var buffer = try Self.load(url)
        let header = try RequestHeader(from: &buffer, version: MetadataRequest.requestHeaderVersion(for: 12))
        #expect(header.requestApiKey == ApiKey.metadata.rawValue && header.requestApiVersion == 12)
        #expect(throws: DecodeError.self) { try MetadataRequest.decodeWhole(from: buffer, version: 12) }
        let request = try MetadataRequest(from: &buffer, version: 12)
        #expect(request.topics == nil)  // all topics
        #expect(request.allowAutoTopicCreation == false)  // librdkafka meant true: its 0x01 is among the stray bytes
        #expect(Array(buffer.readableBytesView) == [0x01, 0x00, 0x00])
        #expect(Self.knownTrailingBytes["librdkafka/Metadata"]?.bytes.contains([0x01, 0x00, 0x00]) == true)
    }

    // MARK: Helpers

    private static func load(_ url: URL) throws -> ByteBuffer {
        ByteBuffer(bytes: try Data(contentsOf: url))
    }

    private static func reencodeRequest<R: KafkaRequest>(_: R.Type, _ bytes: ByteBuffer, entry: Entry) throws
        -> ByteBuffer
    {
        var buffer = bytes
        let headerVersion = R.requestHeaderVersion(for: entry.apiVersion)
        let header = try RequestHeader(from: &buffer, version: headerVersion)
        #expect(
            header.requestApiKey == entry.apiKey && header.requestApiVersion == entry.apiVersion,
            "header of \(entry.stem)")
        let body = try R(from: &buffer, version: entry.apiVersion)
        var out = ByteBuffer()
        header.write(to: &out, version: headerVersion)
        body.write(to: &out, version: entry.apiVersion)
        if buffer.readableBytes > 0 {
            let trailing = Array(buffer.readableBytesView)
            let known = knownTrailingBytes["\(entry.client)/\(R.apiKey.name)"]
            #expect(
                known?.bytes.contains(trailing) == true,
                "\(entry.testDescription): \(trailing.count) bytes after the \(R.self) body that no known client quirk explains"
            )
            out.writeBytes(trailing)
        }
        return out
    }

    private static func reencodeResponse<R: KafkaRequest>(_: R.Type, _ bytes: ByteBuffer, entry: Entry) throws
        -> ByteBuffer
    {
        var buffer = bytes
        let headerVersion = R.responseHeaderVersion(for: entry.apiVersion)
        let header = try ResponseHeader(from: &buffer, version: headerVersion)
        let body = try R.Response.decodeWhole(from: buffer, version: entry.apiVersion)
        var out = ByteBuffer()
        header.write(to: &out, version: headerVersion)
        body.write(to: &out, version: entry.apiVersion)
        return out
    }

    /// Equal bytes, or an issue naming the first differing offset with the bytes around it on both sides.
    private static func expectSameBytes(_ actual: ByteBuffer, _ expected: ByteBuffer, _ what: String) {
        let a = Array(actual.readableBytesView)
        let e = Array(expected.readableBytesView)
        guard a != e else { return }
        let first = (0..<min(a.count, e.count)).first { a[$0] != e[$0] } ?? min(a.count, e.count)
        let window = { (bytes: [UInt8]) in
            bytes[max(0, first - 8)..<min(bytes.count, first + 24)].map { String(format: "%02x", $0) }.joined(
                separator: " ")
        }
        Issue.record(
            """
            \(what): re-encoded \(a.count) bytes, captured \(e.count); first difference at offset \(first)
              captured:   \(window(e))
              re-encoded: \(window(a))
            """
        )
    }
}
