import FjordController
import KafkaProtocol
import Testing

@testable import FjordBroker

/// UpdateFeatures, ControllerRegistration and DescribeCluster's endpoint types through the real handlers and
/// metadata service of a node (BrokerHarness: a node alone, which commits its metadata log itself).
@Suite struct ControllerFeaturesHandlerTests {
    static let latest = MetadataVersion.latestProduction.level

    static func update(_ level: Int16, type: Int8 = 1, validateOnly: Bool = false) -> UpdateFeaturesRequest {
        UpdateFeaturesRequest(
            featureUpdates: [.init(feature: MetadataVersion.featureName, maxVersionLevel: level, upgradeType: type)],
            validateOnly: validateOnly)
    }

    static func registration(id: NodeID = 1, port: UInt16 = 9093) -> ControllerRegistrationRequest {
        ControllerRegistrationRequest(
            controllerID: id, incarnationID: KafkaUUID(high: 7, low: UInt64(id)), zkMigrationReady: false,
            listeners: [.init(name: "CONTROLLER", host: "127.0.0.1", port: port, securityProtocol: 0)],
            features: [.init(name: MetadataVersion.featureName, minSupportedVersion: 7, maxSupportedVersion: 25)])
    }

    /// Flow: 1. ValidateOnly upgrade of metadata.version answers OK and changes nothing; 2. the upgrade commits a
    /// FeatureLevelRecord (image and ApiVersions' finalized level and epoch move); 3. an upgrade type "upgrade" to
    /// a lower level is INVALID_UPDATE_VERSION with Kafka's message; 4. an unsafe downgrade across a metadata change
    /// is refused; 5. v1 answers per-feature results, v2 none.
    @Test func updateFeaturesCommitsAndValidates() async throws {
        try await BrokerHarness.withBroker { broker in
            let handler = UpdateFeaturesHandler(services: broker.services)
            let before = broker.image.lastAppliedOffset
            let dryRun = try await broker.call(handler, Self.update(Self.latest, validateOnly: true), version: 2)
            #expect(dryRun.errorCode == 0 && dryRun.results.isEmpty)
            #expect(broker.image.finalizedFeatures[MetadataVersion.featureName] == nil)
            #expect(broker.image.lastAppliedOffset == before)

            let upgraded = try await broker.call(handler, Self.update(Self.latest), version: 1)
            #expect(upgraded.errorCode == 0)
            #expect(upgraded.results.map(\.feature) == [MetadataVersion.featureName])
            #expect(broker.image.metadataVersion.level == Self.latest)
            #expect(broker.image.lastAppliedOffset > before)
            let finalized = FeatureControl.finalizedFeatures(image: broker.image)
            #expect(finalized.epoch == broker.image.lastAppliedOffset)
            #expect(finalized.features.first?.maxVersionLevel == Self.latest)

            let wrongType = try await broker.call(handler, Self.update(Self.latest - 1), version: 2)
            #expect(wrongType.errorCode == ErrorCode.invalidUpdateVersion.rawValue)
            #expect(
                wrongType.errorMessage?.hasPrefix(
                    "The update failed for all features since the following feature had an error: ") == true)
            #expect(wrongType.errorMessage?.contains("without setting the upgrade type") == true)

            let unsafe = try await broker.call(handler, Self.update(7, type: 3), version: 2)
            #expect(unsafe.errorCode == ErrorCode.invalidUpdateVersion.rawValue)
            #expect(unsafe.errorMessage?.contains("Unsafe metadata downgrade is not supported") == true)
            #expect(broker.image.metadataVersion.level == Self.latest)

            let unknown = UpdateFeaturesRequest(featureUpdates: [.init(feature: "no.such.feature", maxVersionLevel: 1)])
            let refused = try await broker.call(handler, unknown, version: 2)
            #expect(refused.errorCode == ErrorCode.invalidUpdateVersion.rawValue)
            #expect(refused.errorMessage?.contains("does not support this feature") == true)
        }
    }

    /// Flow: 1. below 3.7-IV0 a controller registration is UNSUPPORTED_VERSION and a controller-type DescribeCluster
    /// too; 2. after the upgrade, registrations commit RegisterControllerRecords; 3. DescribeCluster v1 on the
    /// controller listener lists the controllers at their controller listener (endpoint type 2), with controller id
    /// -1 without a known quorum leader; 4. endpoint type 1 there is MISMATCHED_ENDPOINT_TYPE (INVALID_REQUEST in
    /// v0), an unknown type UNSUPPORTED_ENDPOINT_TYPE; 5. the broker listener refuses type 2 and lists brokers.
    @Test func controllerRegistrationAndDescribeClusterEndpoints() async throws {
        try await BrokerHarness.withBroker { broker in
            let register = ControllerRegistrationHandler(services: broker.services)
            let controllerView = DescribeClusterHandler(
                metadata: broker.services.metadata, endpointType: .controller, controllerListenerName: "CONTROLLER")
            let brokerView = DescribeClusterHandler(metadata: broker.services.metadata)

            let tooOld = try await broker.call(register, Self.registration(), version: 0)
            #expect(tooOld.errorCode == ErrorCode.unsupportedVersion.rawValue)
            #expect(tooOld.errorMessage?.contains("too old to support controller registrations") == true)
            let describeOld = try await broker.call(controllerView, DescribeClusterRequest(endpointType: 2), version: 1)
            #expect(describeOld.errorCode == ErrorCode.unsupportedVersion.rawValue)

            let upgrade = try await broker.call(
                UpdateFeaturesHandler(services: broker.services), Self.update(Self.latest), version: 2)
            #expect(upgrade.errorCode == 0)
            for (id, port) in [(NodeID(2), UInt16(9095)), (1, 9093)] {
                let answer = try await broker.call(register, Self.registration(id: id, port: port), version: 0)
                #expect(answer.errorCode == 0 && answer.errorMessage == nil)
            }
            #expect(broker.image.controllerRegistrations[1]?.incarnationID == KafkaUUID(high: 7, low: 1))

            let controllers = try await broker.call(controllerView, DescribeClusterRequest(endpointType: 2), version: 1)
            #expect(controllers.errorCode == 0 && controllers.endpointType == 2)
            #expect(controllers.clusterID == "harness-cluster")
            #expect(controllers.brokers.map(\.brokerID) == [1, 2])
            #expect(controllers.brokers.map(\.port) == [9093, 9095])
            #expect(controllers.controllerID == -1)

            let mismatched = try await broker.call(controllerView, DescribeClusterRequest(endpointType: 1), version: 1)
            #expect(mismatched.errorCode == ErrorCode.mismatchedEndpointType.rawValue)
            #expect(
                mismatched.errorMessage
                    == "The request was sent to an endpoint of type CONTROLLER, but we wanted an endpoint of type BROKER"
            )
            let v0 = try await broker.call(controllerView, DescribeClusterRequest(), version: 0)
            #expect(v0.errorCode == ErrorCode.invalidRequest.rawValue)
            let unknown = try await broker.call(controllerView, DescribeClusterRequest(endpointType: 9), version: 1)
            #expect(unknown.errorCode == ErrorCode.unsupportedEndpointType.rawValue)

            let refused = try await broker.call(brokerView, DescribeClusterRequest(endpointType: 2), version: 1)
            #expect(refused.errorCode == ErrorCode.mismatchedEndpointType.rawValue)
            let brokers = try await broker.call(brokerView, DescribeClusterRequest(endpointType: 1), version: 1)
            #expect(brokers.errorCode == 0 && brokers.brokers.map(\.brokerID) == [broker.configuration.nodeID])
        }
    }
}
