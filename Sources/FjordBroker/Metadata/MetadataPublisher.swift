import FjordController
import NIOConcurrencyHelpers

/// Holds the current `MetadataImage` and swaps it atomically; readers on any thread get a consistent image.
public final class MetadataPublisher: Sendable {
    private let current: NIOLockedValueBox<MetadataImage>

    public init(_ image: MetadataImage) {
        current = NIOLockedValueBox(image)
    }

    public var image: MetadataImage { current.withLockedValue { $0 } }

    public func publish(_ image: MetadataImage) {
        current.withLockedValue { $0 = image }
    }
}
