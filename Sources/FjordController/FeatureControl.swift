import KafkaProtocol

/// Finalized features (KIP-584, KIP-778) as a pure function of the image: UpdateFeatures (API 57) validated into
/// `FeatureLevelRecord`s, the bootstrap `metadata.version` of a new log, and what ApiVersions reports.
///
/// UpdateFeatures is all or nothing, as in Kafka: the first feature that cannot change fails the whole request
/// and no record is written.
public struct FeatureControl: Sendable {
    /// How a feature may move (UpdateFeatures v1+ `UpgradeType`; v0's `AllowDowngrade` means a safe downgrade).
    public enum UpgradeType: Int8, Sendable {
        case unknown = 0
        case upgrade = 1
        case safeDowngrade = 2
        case unsafeDowngrade = 3
    }

    public let image: MetadataImage
    /// This controller's node id, named in refusals.
    public let nodeID: NodeID
    /// Feature name → the levels this controller supports (Kafka's `QuorumFeatures`).
    public let supportedFeatures: [String: ClosedRange<Int16>]

    public init(
        image: MetadataImage, nodeID: NodeID,
        supportedFeatures: [String: ClosedRange<Int16>] = [MetadataVersion.featureName: MetadataVersion.supportedLevels]
    ) {
        self.image = image
        self.nodeID = nodeID
        self.supportedFeatures = supportedFeatures
    }

    /// The finalized level of `name`: metadata.version's effective level, 0 (off) for a feature never set.
    public func finalizedLevel(_ name: String) -> Int16 {
        name == MetadataVersion.featureName ? image.metadataVersion.level : image.finalizedFeatures[name] ?? 0
    }

    // MARK: UpdateFeatures

    /// Validates every update, then returns their records (none when `validateOnly`) and the request's outcome:
    /// INVALID_UPDATE_VERSION with Kafka's message for the first update refused.
    public func updateFeatures(_ request: UpdateFeaturesRequest, version: Int16) -> ControllerResult<ItemResult> {
        var records = [MetadataRecord]()
        for update in request.featureUpdates {
            let type: UpgradeType =
                version == 0
                ? (update.allowDowngrade ? .safeDowngrade : .upgrade)
                : UpgradeType(rawValue: update.upgradeType)
                    ?? .unknown
            switch self.update(update.feature, to: update.maxVersionLevel, type: type) {
            case .failure(let error): return ControllerResult(records: [], response: error)
            case .success(let record): records.append(.featureLevel(record))
            }
        }
        return ControllerResult(records: request.validateOnly ? [] : records, response: .ok)
    }

    /// The UpdateFeatures response for `result`: a failure names itself for all features; per-feature results are
    /// listed only on success and up to version 1, as Kafka answers.
    public static func response(
        for result: ItemResult, request: UpdateFeaturesRequest, version: Int16
    ) -> UpdateFeaturesResponse {
        var response = UpdateFeaturesResponse()
        response.errorCode = result.error.rawValue
        guard result.isOK else {
            response.errorMessage =
                "The update failed for all features since the following feature had an error: "
                + (result.message ?? "")
            return response
        }
        response.errorMessage = nil
        if version <= 1 {
            response.results = request.featureUpdates.map {
                .init(feature: $0.feature, errorCode: 0, errorMessage: nil)
            }
        }
        return response
    }

    private func update(_ name: String, to level: Int16, type: UpgradeType) -> Result<FeatureLevelRecord, ItemResult> {
        func refuse(_ why: String) -> Result<FeatureLevelRecord, ItemResult> {
            .failure(ItemResult(.invalidUpdateVersion, "Invalid update version \(level) for feature \(name). \(why)"))
        }
        if type == .unknown { return refuse("The controller does not support the given upgrade type.") }
        if level < 0 { return refuse("A feature version cannot be less than 0.") }
        if let reason = reasonNotSupported(name, level: level) { return refuse(reason) }
        let current = finalizedLevel(name)
        if level < current && type == .upgrade {
            return refuse(
                "Can't downgrade the version of this feature without setting the upgrade type to either safe or "
                    + "unsafe downgrade.")
        }
        if level > current && type != .upgrade { return refuse("Can't downgrade to a newer version.") }
        if name == MetadataVersion.featureName {
            return updateMetadataVersion(to: level, unsafe: type == .unsafeDowngrade)
        }
        return .success(FeatureLevelRecord(name: name, featureLevel: level))
    }

    /// Kafka's extra rules for metadata.version: a known level, and a downgrade only when no version between
    /// changed the metadata format (an unsafe downgrade, which would drop records, is not supported).
    private func updateMetadataVersion(to level: Int16, unsafe: Bool) -> Result<FeatureLevelRecord, ItemResult> {
        func refuse(_ why: String) -> Result<FeatureLevelRecord, ItemResult> {
            .failure(ItemResult(.invalidUpdateVersion, "Invalid metadata.version \(level). \(why)"))
        }
        guard let target = MetadataVersion(level: level) else { return refuse("Unknown metadata.version.") }
        let current = image.metadataVersion
        if target < current && target.metadataChanges(comparedTo: current) {
            return refuse(
                unsafe
                    ? "Unsafe metadata downgrade is not supported in this version."
                    : "Refusing to perform the requested downgrade because it might delete metadata information.")
        }
        return .success(FeatureLevelRecord(name: MetadataVersion.featureName, featureLevel: level))
    }

    /// Why `level` of `name` cannot be finalized: this controller, a registered broker or (from 3.7-IV0, when
    /// controllers register) a registered controller does not support it.
    private func reasonNotSupported(_ name: String, level: Int16) -> String? {
        func reason(_ who: String, _ range: ClosedRange<Int16>?) -> String? {
            guard let range, range.upperBound > 0 else {
                return level == 0 ? nil : "\(who) does not support this feature."
            }
            guard !range.contains(level) else { return nil }
            let text =
                range.lowerBound == range.upperBound ? "\(range.lowerBound)" : "\(range.lowerBound)-\(range.upperBound)"
            return "\(who) only supports versions \(text)"
        }
        if let local = reason("Local controller \(nodeID)", supportedFeatures[name]) { return local }
        for broker in image.brokerRegistrations.values.sorted(by: { $0.id < $1.id }) {
            if let refused = reason("Broker \(broker.id)", broker.supportedFeatures[name]) { return refused }
        }
        guard image.metadataVersion.level >= MetadataVersion.controllerRegistration else { return nil }
        for controller in image.controllerRegistrations.values.sorted(by: { $0.id < $1.id })
        where controller.id != nodeID {
            if let refused = reason("Controller \(controller.id)", controller.supportedFeatures[name]) {
                return refused
            }
        }
        return nil
    }

    // MARK: Bootstrap and ApiVersions

    /// The records a controller appends when it becomes active on a log that never set metadata.version: the
    /// bootstrap level (`bootstrap.checkpoint`'s, or the latest production one), as Kafka writes its bootstrap
    /// records into an empty log. Empty when the image already has a metadata.version.
    public static func bootstrapRecords(
        image: MetadataImage, level: Int16 = MetadataVersion.latestProduction.level
    ) -> [MetadataRecord] {
        guard image.finalizedFeatures[MetadataVersion.featureName] == nil else { return [] }
        precondition(MetadataVersion(level: level) != nil, "bootstrap metadata.version \(level) is unknown")
        return [.featureLevel(FeatureLevelRecord(name: MetadataVersion.featureName, featureLevel: level))]
    }

    /// ApiVersions' finalized features: every feature finalized at a level above 0 with min = max = its level,
    /// and their epoch, the offset of the image (as Kafka's `finalizedFeaturesEpoch`).
    public static func finalizedFeatures(image: MetadataImage) -> (
        epoch: Int64, features: [ApiVersionsResponse.FinalizedFeatureKey]
    ) {
        let features = image.finalizedFeatures.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map {
            ApiVersionsResponse.FinalizedFeatureKey(name: $0.key, maxVersionLevel: $0.value, minVersionLevel: $0.value)
        }
        return (image.lastAppliedOffset, features)
    }

    /// ApiVersions' supported features of this build.
    public static func supportedFeatures(
        _ supported: [String: ClosedRange<Int16>] = [MetadataVersion.featureName: MetadataVersion.supportedLevels]
    ) -> [ApiVersionsResponse.SupportedFeatureKey] {
        supported.sorted { $0.key < $1.key }.map {
            .init(name: $0.key, minVersion: $0.value.lowerBound, maxVersion: $0.value.upperBound)
        }
    }
}
