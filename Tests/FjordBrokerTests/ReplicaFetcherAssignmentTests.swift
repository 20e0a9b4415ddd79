import KafkaProtocol
import Testing

@testable import FjordBroker

/// `num.replica.fetchers`: which of a leader's fetchers follows a partition — Kafka's
/// `abs(31 * topic.hashCode + partition) % fetchers`, with Java's `String.hashCode`, so a broker spreads partitions
/// over its fetchers as Kafka does.
@Suite struct ReplicaFetcherAssignmentTests {
    @Test func partitionsGoToTheFetcherKafkaWouldPick() {
        // Expected values computed with Java's String.hashCode ("hello" hashes to 99162322; the products overflow
        // 32 bits and are taken as Kafka's Utils.abs does).
        #expect(
            (0..<6).map { ReplicaFetcherManager.fetcherID(for: TopicPartition("hello", $0), fetchers: 3) } == [
                0, 2, 1, 0, 2, 1,
            ])
        #expect(
            (0..<6).map { ReplicaFetcherManager.fetcherID(for: TopicPartition("orders", $0), fetchers: 4) } == [
                1, 0, 3, 2, 1, 0,
            ])
        #expect(ReplicaFetcherManager.fetcherID(for: TopicPartition("any", 7), fetchers: 1) == 0)
    }
}
