// ApiVersions v0-v4. v3 adds the client's software name and version (validated as Kafka does) and the flexible
// encoding; answers always travel with response header v0. An unsupported version is answered by the
// connection handler in v0 format with UNSUPPORTED_VERSION (see `ApiVersionsHandler.unsupportedVersionResponse`).
// In KRaft mode v3+ also carries this build's supported features and the finalized ones with their epoch (KIP-584).
import FjordController
import KafkaProtocol
import NIOCore

/// Answers which APIs and versions this broker serves, computed from the registry, never hand-listed.
struct ApiVersionsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...4
    /// Every served API, this one included.
    let supported: [ApiVersionsResponse.ApiVersion]
    /// Where the finalized features come from (KRaft mode); nil: no features are reported.
    let metadata: MetadataPublisher?

    init(registry: APIRegistry, metadata: MetadataPublisher? = nil) {
        self.metadata = metadata
        var entries = registry.supportedVersions.map { entry in
            ApiVersionsResponse.ApiVersion(
                apiKey: entry.apiKey.rawValue, minVersion: entry.versions.lowerBound,
                maxVersion: entry.versions.upperBound
            )
        }
        entries.append(
            .init(apiKey: ApiKey.apiVersions.rawValue, minVersion: versions.lowerBound, maxVersion: versions.upperBound)
        )
        supported = entries.sorted { $0.apiKey < $1.apiKey }
    }

    func handle(_ request: ApiVersionsRequest, context: RequestContext) -> EventLoopFuture<ApiVersionsResponse> {
        var response = ApiVersionsResponse(errorCode: ErrorCode.none.rawValue, apiKeys: supported, throttleTimeMs: 0)
        if context.apiVersion >= 3,
            !Self.isValidSoftwareField(request.clientSoftwareName)
                || !Self.isValidSoftwareField(request.clientSoftwareVersion)
        {
            // Kafka refuses malformed client software fields with INVALID_REQUEST and no API list.
            response = ApiVersionsResponse(errorCode: ErrorCode.invalidRequest.rawValue)
        } else if context.apiVersion >= 3, let metadata {
            response.supportedFeatures = FeatureControl.supportedFeatures()
            let finalized = FeatureControl.finalizedFeatures(image: metadata.image)
            response.finalizedFeaturesEpoch = finalized.epoch
            response.finalizedFeatures = finalized.features
        }
        return context.eventLoop.makeSucceededFuture(response)
    }

    /// The answer to an ApiVersions request of a version this broker does not speak: encoded in v0, which every
    /// client can read, carrying UNSUPPORTED_VERSION and the supported ranges so the client can retry lower.
    func unsupportedVersionResponse() -> ByteBuffer {
        ApiVersionsResponse(errorCode: ErrorCode.unsupportedVersion.rawValue, apiKeys: supported).encoded(version: 0)
    }

    /// Kafka's rule for `client_software_name` / `_version`: `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
    static func isValidSoftwareField(_ value: String) -> Bool {
        let scalars = Array(value.unicodeScalars)
        guard let first = scalars.first, let last = scalars.last else { return false }
        func alphanumeric(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII
                && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar))
        }
        return alphanumeric(first) && alphanumeric(last)
            && scalars.allSatisfy { alphanumeric($0) || $0 == "-" || $0 == "." }
    }
}
