import KafkaProtocol

/// A controller as its `RegisterControllerRecord` describes it (KIP-919): its listeners and supported features.
public struct ControllerRegistration: Hashable, Sendable {
    public var id: NodeID
    public var incarnationID: KafkaUUID
    public var endpoints: [BrokerRegistration.Endpoint]
    public var supportedFeatures: [String: ClosedRange<Int16>]

    init(_ record: RegisterControllerRecord) {
        id = record.controllerID
        incarnationID = record.incarnationID
        endpoints = record.endPoints.map {
            .init(name: $0.name, host: $0.host, port: Int32($0.port), securityProtocol: $0.securityProtocol)
        }
        var features = [String: ClosedRange<Int16>]()
        for feature in record.features where feature.minSupportedVersion <= feature.maxSupportedVersion {
            features[feature.name] = feature.minSupportedVersion...feature.maxSupportedVersion
        }
        supportedFeatures = features
    }

    /// The record that recreates this registration (for a snapshot).
    var record: RegisterControllerRecord {
        RegisterControllerRecord(
            controllerID: id, incarnationID: incarnationID,
            endPoints: endpoints.map {
                .init(
                    name: $0.name, host: $0.host, port: UInt16(clamping: $0.port), securityProtocol: $0.securityProtocol
                )
            },
            features: supportedFeatures.keys.sorted().map {
                .init(
                    name: $0, minSupportedVersion: supportedFeatures[$0]!.lowerBound,
                    maxSupportedVersion: supportedFeatures[$0]!.upperBound)
            })
    }
}
