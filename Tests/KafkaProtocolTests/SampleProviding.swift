import KafkaProtocol

/// A generated type that can produce a value with a non-default value in every field a version has
/// (the `sample(version:)` functions in `Generated/` are written by fjord-codegen).
protocol SampleProviding {
    static func sample(version: Int16) -> Self
}

typealias SampledMessage = KafkaVersionedMessage & SampleProviding
