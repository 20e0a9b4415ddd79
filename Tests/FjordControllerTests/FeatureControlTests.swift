import FjordController
import KafkaProtocol
import Testing

@Suite struct FeatureControlTests {
    private static func request(
        _ updates: [(String, Int16, FeatureControl.UpgradeType)], validateOnly: Bool = false
    ) -> UpdateFeaturesRequest {
        UpdateFeaturesRequest(
            featureUpdates: updates.map { .init(feature: $0.0, maxVersionLevel: $0.1, upgradeType: $0.2.rawValue) },
            validateOnly: validateOnly)
    }

    private static func update(_ harness: ControllerHarness, _ updates: [(String, Int16, FeatureControl.UpgradeType)])
        -> ControllerResult<ItemResult>
    {
        FeatureControl(image: harness.image, nodeID: 3000).updateFeatures(request(updates), version: 1)
    }

    @Test func metadataVersionUpgradesAndIsReportedToApiVersions() {
        // Flow:
        // 1. A cluster bootstrapped at 3.9-IV0 (21) with one broker supporting 7...25.
        // 2. UpdateFeatures metadata.version 25 (upgrade): one FeatureLevelRecord; the image moves only on replay.
        // 3. ApiVersions' finalized features list metadata.version 25 (min = max) with the image's offset as epoch.
        var harness = ControllerHarness(metadataVersion: 21)
        harness.startBroker(1)
        let result = Self.update(harness, [(MetadataVersion.featureName, 25, .upgrade)])
        #expect(result.response == .ok)
        #expect(result.records == [.featureLevel(FeatureLevelRecord(name: "metadata.version", featureLevel: 25))])
        #expect(harness.image.metadataVersion.level == 21)
        harness.commit(result.records)
        #expect(harness.image.metadataVersion == MetadataVersion(level: 25))
        let finalized = FeatureControl.finalizedFeatures(image: harness.image)
        #expect(finalized.epoch == harness.nextOffset - 1)
        #expect(finalized.features == [.init(name: "metadata.version", maxVersionLevel: 25, minVersionLevel: 25)])
        #expect(FeatureControl.supportedFeatures() == [.init(name: "metadata.version", minVersion: 7, maxVersion: 25)])
    }

    @Test func downgradesFollowKafkasRules() {
        // Flow (each from metadata.version 25):
        // 1. A lower level asked as an upgrade is refused.
        // 2. A safe downgrade to 24 crosses no metadata change: accepted.
        // 3. A safe downgrade to 22 crosses 4.0-IV1, which changed the metadata: refused; unsafe is not supported.
        // 4. A "downgrade" to a higher level, an unknown upgrade type, a negative level: refused.
        let harness = ControllerHarness()
        let prefix = "Invalid update version"
        let cases: [((Int16, FeatureControl.UpgradeType), String?)] = [
            (
                (24, .upgrade),
                "\(prefix) 24 for feature metadata.version. Can't downgrade the version of this feature without "
                    + "setting the upgrade type to either safe or unsafe downgrade."
            ),
            ((24, .safeDowngrade), nil),
            (
                (22, .safeDowngrade),
                "Invalid metadata.version 22. Refusing to perform the requested downgrade because it might delete "
                    + "metadata information."
            ),
            (
                (22, .unsafeDowngrade),
                "Invalid metadata.version 22. Unsafe metadata downgrade is not supported in this version."
            ),
            ((25, .safeDowngrade), nil),
            ((-1, .upgrade), "\(prefix) -1 for feature metadata.version. A feature version cannot be less than 0."),
            (
                (24, .unknown),
                "\(prefix) 24 for feature metadata.version. The controller does not support the given upgrade type."
            ),
        ]
        for ((level, type), message) in cases {
            let result = Self.update(harness, [(MetadataVersion.featureName, level, type)])
            #expect(
                result.response == (message.map { ItemResult(.invalidUpdateVersion, $0) } ?? .ok), "\(level) \(type)")
            #expect(result.records.isEmpty == (message != nil))
        }
        var lower = ControllerHarness(metadataVersion: 24)
        lower.startBroker(1)
        #expect(
            Self.update(lower, [(MetadataVersion.featureName, 25, .safeDowngrade)]).response.message
                == "\(prefix) 25 for feature metadata.version. Can't downgrade to a newer version.")
    }

    @Test func everyRegisteredNodeMustSupportTheNewLevel() {
        // Flow:
        // 1. Level 26 is beyond this controller: refused naming the local controller and its range.
        // 2. Broker 2 registered supporting 7...21 at metadata.version 21: an upgrade to 22 names broker 2.
        // 3. An unknown feature is refused as not supported; switching it off (level 0) is accepted.
        var harness = ControllerHarness(metadataVersion: 21)
        harness.startBroker(1)
        harness.register(ControllerHarness.registration(2, metadataVersions: 7...21))
        #expect(
            Self.update(harness, [(MetadataVersion.featureName, 26, .upgrade)]).response.message
                == "Invalid update version 26 for feature metadata.version. Local controller 3000 only supports "
                + "versions 7-25")
        #expect(
            Self.update(harness, [(MetadataVersion.featureName, 22, .upgrade)]).response.message
                == "Invalid update version 22 for feature metadata.version. Broker 2 only supports versions 7-21")
        #expect(
            Self.update(harness, [("group.version", 1, .upgrade)]).response.message
                == "Invalid update version 1 for feature group.version. Local controller 3000 does not support this "
                + "feature.")
        #expect(Self.update(harness, [("group.version", 0, .safeDowngrade)]).response == .ok)
    }

    @Test func anUpdateIsAllOrNothingAndValidateOnlyWritesNothing() {
        // Flow:
        // 1. A controller that also supports transaction.version 0...2, one broker supporting it.
        // 2. transaction.version 2 with an invalid metadata.version: refused as a whole, no record; the response
        //    says the update failed for all features.
        // 3. The valid update with validateOnly: OK and no record; without it: one record, replayed.
        var harness = ControllerHarness()
        var request = ControllerHarness.registration(1)
        request.features.append(.init(name: "transaction.version", minSupportedVersion: 0, maxSupportedVersion: 2))
        harness.register(request)
        let control = FeatureControl(
            image: harness.image, nodeID: 3000,
            supportedFeatures: [MetadataVersion.featureName: 7...25, "transaction.version": 0...2])
        let mixed = Self.request([("transaction.version", 2, .upgrade), (MetadataVersion.featureName, 99, .upgrade)])
        let refused = control.updateFeatures(mixed, version: 1)
        #expect(refused.records.isEmpty)
        #expect(refused.response.error == .invalidUpdateVersion)
        let response = FeatureControl.response(for: refused.response, request: mixed, version: 1)
        #expect(response.errorMessage?.hasPrefix("The update failed for all features since the following") == true)
        #expect(response.results.isEmpty)
        let valid = Self.request([("transaction.version", 2, .upgrade)], validateOnly: true)
        #expect(control.updateFeatures(valid, version: 1).records.isEmpty)
        let applied = control.updateFeatures(Self.request([("transaction.version", 2, .upgrade)]), version: 1)
        #expect(
            FeatureControl.response(for: applied.response, request: valid, version: 1).results.map(\.feature) == [
                "transaction.version"
            ])
        harness.commit(applied.records)
        #expect(harness.image.finalizedFeatures["transaction.version"] == 2)
        harness.commit([.featureLevel(FeatureLevelRecord(name: "transaction.version", featureLevel: 0))])
        #expect(harness.image.finalizedFeatures["transaction.version"] == nil)
    }

    @Test func versionZeroRequestsUseAllowDowngrade() {
        // Flow:
        // 1. At 25, a v0 request for 24 without allowDowngrade is an upgrade of a lower level: refused.
        // 2. With allowDowngrade it is a safe downgrade: accepted.
        let harness = ControllerHarness()
        let control = FeatureControl(image: harness.image, nodeID: 3000)
        var request = UpdateFeaturesRequest(featureUpdates: [.init(feature: "metadata.version", maxVersionLevel: 24)])
        #expect(control.updateFeatures(request, version: 0).response.error == .invalidUpdateVersion)
        request.featureUpdates[0].allowDowngrade = true
        #expect(control.updateFeatures(request, version: 0).response == .ok)
    }

    @Test func bootstrapWritesMetadataVersionOnlyIntoALogWithoutOne() {
        // Flow:
        // 1. An empty image reads as the oldest version (3.3-IV3) and gets one bootstrap FeatureLevelRecord.
        // 2. Once it has metadata.version, activation writes nothing.
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        #expect(image.metadataVersion == .minimum)
        #expect(FeatureControl.finalizedFeatures(image: image).features.isEmpty)
        let records = FeatureControl.bootstrapRecords(image: image)
        #expect(records == [.featureLevel(FeatureLevelRecord(name: "metadata.version", featureLevel: 25))])
        for record in records { image.replay(record, offset: 0) }
        #expect(FeatureControl.bootstrapRecords(image: image).isEmpty)
        #expect(image.metadataVersion == .latestProduction)
    }
}
