/// The features of a cluster as ApiVersions v3+ reports them (KIP-584; Kafka's `FeatureMetadata`): what the
/// answering node supports, what is finalized cluster-wide, and the epoch of those finalized levels.
public struct FeatureMetadata: Sendable, Equatable {
    /// Feature name → the levels the answering node supports.
    public var supportedFeatures: [String: ClosedRange<Int16>]
    /// Feature name → its finalized level (features at level 0, off, are not listed).
    public var finalizedFeatures: [String: Int16]
    /// The metadata offset the finalized levels are as of; nil when the node reported none.
    public var finalizedFeaturesEpoch: Int64?

    public init(
        supportedFeatures: [String: ClosedRange<Int16>], finalizedFeatures: [String: Int16],
        finalizedFeaturesEpoch: Int64?
    ) {
        self.supportedFeatures = supportedFeatures
        self.finalizedFeatures = finalizedFeatures
        self.finalizedFeaturesEpoch = finalizedFeaturesEpoch
    }
}

/// One change to a finalized feature (Kafka's `FeatureUpdate`): its new level and how it may move.
public struct FeatureUpdate: Sendable, Equatable {
    /// UpdateFeatures' `UpgradeType`.
    public enum UpgradeType: Int8, Sendable {
        /// Only to a higher level (or the same).
        case upgrade = 1
        /// To a lower level that loses no metadata.
        case safeDowngrade = 2
        /// To a lower level even if metadata is lost (Kafka 4 refuses it for metadata.version).
        case unsafeDowngrade = 3
    }

    public var maxVersionLevel: Int16
    public var upgradeType: UpgradeType

    public init(maxVersionLevel: Int16, upgradeType: UpgradeType = .upgrade) {
        self.maxVersionLevel = maxVersionLevel
        self.upgradeType = upgradeType
    }
}
