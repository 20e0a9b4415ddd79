import FjordController
import KafkaProtocol
import NIOEmbedded
import Testing

@testable import FjordBroker

/// ApiVersions in KRaft mode reports this build's supported features and the finalized ones (KIP-584); a node
/// alone reports none, as before.
@Suite struct ApiVersionsFeaturesTests {
    func answer(_ handler: ApiVersionsHandler, version: Int16) throws -> ApiVersionsResponse {
        let loop = EmbeddedEventLoop()
        let context = RequestContext(
            header: RequestHeader(requestApiKey: 18, requestApiVersion: version, correlationID: 1, clientID: "t"),
            peer: "test", eventLoop: loop)
        let request = ApiVersionsRequest(clientSoftwareName: "fjord-test", clientSoftwareVersion: "1.0")
        return try handler.handle(request, context: context).wait()
    }

    @Test func finalizedAndSupportedFeaturesFromV3() throws {
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        let level = MetadataVersion.latestProduction.level
        image.replay(
            .featureLevel(FeatureLevelRecord(name: MetadataVersion.featureName, featureLevel: level)), offset: 5)
        let handler = ApiVersionsHandler(registry: APIRegistry(), metadata: MetadataPublisher(image))
        let v3 = try answer(handler, version: 3)
        #expect(v3.finalizedFeaturesEpoch == 5)
        #expect(
            v3.finalizedFeatures
                == [.init(name: MetadataVersion.featureName, maxVersionLevel: level, minVersionLevel: level)])
        #expect(v3.supportedFeatures.map(\.name) == [MetadataVersion.featureName])
        #expect(v3.supportedFeatures.first?.maxVersion == MetadataVersion.supportedLevels.upperBound)
        let v2 = try answer(handler, version: 2)
        #expect(v2.finalizedFeatures.isEmpty && v2.supportedFeatures.isEmpty)
    }

    @Test func aNodeAloneReportsNoFeatures() throws {
        let v3 = try answer(ApiVersionsHandler(registry: APIRegistry()), version: 3)
        #expect(v3.finalizedFeatures.isEmpty && v3.supportedFeatures.isEmpty && v3.finalizedFeaturesEpoch == -1)
    }
}
