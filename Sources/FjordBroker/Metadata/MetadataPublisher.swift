import FjordController
import NIOConcurrencyHelpers

/// Holds the current `MetadataImage` and swaps it atomically; readers on any thread get a consistent image.
/// Listeners (`onPublish`) hear of every new image — the coordinators follow the leadership of their internal
/// partitions that way. A listener runs on the publishing thread (the metadata driver's, or a command's), often
/// under the metadata service's image lock: it must only note the change or queue work, never block.
public final class MetadataPublisher: Sendable {
    private let current: NIOLockedValueBox<MetadataImage>
    private let listeners = NIOLockedValueBox<[@Sendable (MetadataImage) -> Void]>([])

    public init(_ image: MetadataImage) {
        current = NIOLockedValueBox(image)
    }

    public var image: MetadataImage { current.withLockedValue { $0 } }

    public func publish(_ image: MetadataImage) {
        current.withLockedValue { $0 = image }
        for listener in listeners.withLockedValue({ $0 }) { listener(image) }
    }

    /// Calls `listener` with every image published from now on.
    func onPublish(_ listener: @escaping @Sendable (MetadataImage) -> Void) {
        listeners.withLockedValue { $0.append(listener) }
    }
}
