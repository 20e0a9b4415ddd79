/// The records a `Consumer` delivers, in order per partition, as an `AsyncSequence`.
///
/// Backpressure: the consumer's fetch loop stops fetching while `maxBufferedRecords` records wait here, so a slow
/// reader never makes the buffer grow without bound. Iteration ends when the consumer is closed.
public struct ConsumerRecords: AsyncSequence, Sendable {
    public typealias Element = ConsumerRecord
    let consumer: Consumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: Consumer

        public mutating func next() async throws -> ConsumerRecord? {
            try await consumer.nextRecord()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer)
    }
}
