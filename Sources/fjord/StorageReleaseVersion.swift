import Foundation

/// A `metadata.version` a new cluster can start at, named as `kafka-storage.sh format --release-version` takes it:
/// `4.0-IV3`, or a release (`4.0`, `3.9`, also `3.9.1`) meaning that release's latest production version.
///
/// The table is Kafka 4.0's `MetadataVersion`, from the oldest version Kafka 4.0 bootstraps (3.3-IV3) to its latest
/// production one (4.0-IV3, the default).
struct StorageReleaseVersion: Hashable, Sendable, CustomStringConvertible {
    /// Kafka's name of the version, `3.9-IV0`.
    var name: String
    /// The `metadata.version` feature level the bootstrap `FeatureLevelRecord` carries.
    var featureLevel: Int16

    static let all: [StorageReleaseVersion] = [
        ("3.3-IV3", 7), ("3.4-IV0", 8), ("3.5-IV0", 9), ("3.5-IV1", 10), ("3.5-IV2", 11), ("3.6-IV0", 12),
        ("3.6-IV1", 13), ("3.6-IV2", 14), ("3.7-IV0", 15), ("3.7-IV1", 16), ("3.7-IV2", 17), ("3.7-IV3", 18),
        ("3.7-IV4", 19), ("3.8-IV0", 20), ("3.9-IV0", 21), ("4.0-IV0", 22), ("4.0-IV1", 23), ("4.0-IV2", 24),
        ("4.0-IV3", 25),
    ].map { StorageReleaseVersion(name: $0.0, featureLevel: $0.1) }

    /// Kafka 4.0's latest production version, used when `--release-version` is not given.
    static let latestProduction = all.last!
    /// The first version with kraft.version 1 (KIP-853 dynamic quorums): `--standalone` and `--initial-controllers`
    /// need it.
    static let firstDynamicQuorum = all.first { $0.name == "3.9-IV0" }!

    /// Parses `3.9-IV0`, `3.9` or `3.9.1` (the first two parts name the release), as Kafka's
    /// `MetadataVersion.fromVersionString`; nil for a version outside the table.
    init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let exact = Self.all.first(where: { $0.name == trimmed }) {
            self = exact
            return
        }
        let release = trimmed.split(separator: ".", omittingEmptySubsequences: false).prefix(2).joined(separator: ".")
        guard let latest = Self.all.last(where: { $0.name.hasPrefix(release + "-") }) else { return nil }
        self = latest
    }

    private init(name: String, featureLevel: Int16) {
        self.name = name
        self.featureLevel = featureLevel
    }

    var description: String { name }
}
