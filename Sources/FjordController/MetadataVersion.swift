/// A `metadata.version` feature level this controller knows: what the metadata log may contain, and so which
/// records the controller writes (KIP-778).
///
/// The table is Kafka 4.0's: 3.3-IV3 (level 7, the oldest a Kafka 4 cluster runs) to 4.0-IV3 (level 25, its latest
/// production version). `changesMetadata` marks the versions that introduced a record or field: a downgrade across
/// one of them could drop information, so it is refused (`FeatureControl`).
public struct MetadataVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name of the feature in FeatureLevelRecord, UpdateFeatures and ApiVersions.
    public static let featureName = "metadata.version"

    /// Kafka's name of the version, `3.9-IV0`.
    public let name: String
    /// The feature level written in `FeatureLevelRecord`.
    public let level: Int16
    /// Whether this version changed the metadata format relative to the previous one.
    public let changesMetadata: Bool

    public static let all: [MetadataVersion] = [
        ("3.3-IV3", 7, true), ("3.4-IV0", 8, true), ("3.5-IV0", 9, false), ("3.5-IV1", 10, false),
        ("3.5-IV2", 11, true), ("3.6-IV0", 12, false), ("3.6-IV1", 13, true), ("3.6-IV2", 14, true),
        ("3.7-IV0", 15, true), ("3.7-IV1", 16, false), ("3.7-IV2", 17, true), ("3.7-IV3", 18, false),
        ("3.7-IV4", 19, false), ("3.8-IV0", 20, false), ("3.9-IV0", 21, false), ("4.0-IV0", 22, false),
        ("4.0-IV1", 23, true), ("4.0-IV2", 24, false), ("4.0-IV3", 25, false),
    ].map { MetadataVersion(name: $0.0, level: $0.1, changesMetadata: $0.2) }

    /// The oldest version: also the one a log without any `metadata.version` FeatureLevelRecord is read at.
    public static let minimum = all.first!
    /// The newest production version: what a new cluster starts at unless told otherwise.
    public static let latestProduction = all.last!
    /// The levels this controller (and a broker of this build) supports.
    public static let supportedLevels: ClosedRange<Int16> = minimum.level...latestProduction.level

    /// 3.6-IV0: from here on an ISR shrink no longer needs a leader epoch bump (KAFKA-15021).
    static let noEpochBumpOnIsrShrink: Int16 = 12
    /// 3.7-IV0: controllers register themselves (RegisterControllerRecord).
    static let controllerRegistration: Int16 = 15
    /// 3.7-IV2: brokers register their log directories (KIP-858), which must then be given.
    static let directoryAssignment: Int16 = 17

    /// The version at `level`, nil for a level this controller does not know.
    public init?(level: Int16) {
        guard let known = Self.all.first(where: { $0.level == level }) else { return nil }
        self = known
    }

    private init(name: String, level: Int16, changesMetadata: Bool) {
        self.name = name
        self.level = level
        self.changesMetadata = changesMetadata
    }

    /// Whether going between `self` and `other` (either way) crosses a version that changed the metadata format.
    public func metadataChanges(comparedTo other: MetadataVersion) -> Bool {
        let (low, high) = self < other ? (self, other) : (other, self)
        return Self.all.contains { $0.level > low.level && $0.level <= high.level && $0.changesMetadata }
    }

    public static func < (lhs: MetadataVersion, rhs: MetadataVersion) -> Bool { lhs.level < rhs.level }

    public var description: String { name }
}
