import FjordSecurity
import KafkaProtocol
import Testing

@testable import FjordController

/// AlterClientQuotas and DescribeClientQuotas as Kafka's ClientQuotaControlManager answers them.
@Suite struct QuotaControlTests {
    let empty = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])

    func replayed(_ image: MetadataImage, _ records: [MetadataRecord]) -> MetadataImage {
        var image = image
        for record in records { image.replay(try! MetadataRecord(decoding: record.encoded())!) }
        return image
    }

    @Test func quotasAreSetRemovedAndFoundByPrecedence() {
        let set = QuotaControl(image: empty).alter(
            [
                (
                    entity: [(type: "client-id", name: "app")],
                    operations: [.init(key: "producer_byte_rate", value: 1000, remove: false)]
                ),
                (
                    entity: [(type: "user", name: nil)],
                    operations: [.init(key: "producer_byte_rate", value: 5000, remove: false)]
                ),
                (
                    entity: [(type: "user", name: "alice"), (type: "client-id", name: "app")],
                    operations: [.init(key: "consumer_byte_rate", value: 2000, remove: false)]
                ),
            ], validateOnly: false)
        #expect(set.response.allSatisfy { $0.isOK })
        let image = replayed(empty, set.records)
        // The user default (user=<default>) outranks a client-id quota; alice+app has only a consumer rate.
        #expect(image.clientQuota(.producerByteRate, user: "alice", clientID: "app")?.value == 5000)
        #expect(image.clientQuota(.consumerByteRate, user: "alice", clientID: "app")?.value == 2000)
        #expect(image.clientQuota(.consumerByteRate, user: "bob", clientID: "app") == nil)
        #expect(replayed(empty, image.quotaSnapshotRecords).clientQuotas == image.clientQuotas)
        let removed = QuotaControl(image: image).alter(
            [
                (
                    entity: [(type: "user", name: nil)],
                    operations: [.init(key: "producer_byte_rate", value: 0, remove: true)]
                )
            ],
            validateOnly: false)
        let after = replayed(image, removed.records)
        #expect(after.clientQuota(.producerByteRate, user: "alice", clientID: "app")?.value == 1000)
        // Described: exact client id, default user, any client.
        let control = QuotaControl(image: after)
        #expect(control.describe([(type: "client-id", match: .exact("app"))], strict: true).count == 1)
        #expect(control.describe([(type: "client-id", match: .specified)], strict: false).count == 2)
        #expect(control.describe([(type: "user", match: .defaultEntity)], strict: false).isEmpty)
    }

    @Test func badEntriesAreRefusedWholeAndValidateOnlyWritesNothing() {
        let result = QuotaControl(image: empty).alter(
            [
                (
                    entity: [(type: "ip", name: "1.2.3.4")],
                    operations: [.init(key: "connection_creation_rate", value: 1, remove: false)]
                ),
                (entity: [(type: "user", name: "a")], operations: [.init(key: "no_such_key", value: 1, remove: false)]),
                (
                    entity: [(type: "user", name: "a")],
                    operations: [.init(key: "producer_byte_rate", value: 1.5, remove: false)]
                ),
                (
                    entity: [(type: "user", name: "b")],
                    operations: [.init(key: "producer_byte_rate", value: 10, remove: false)]
                ),
            ], validateOnly: false)
        #expect(result.response.map(\.error) == [.invalidRequest, .invalidRequest, .invalidRequest, .none])
        #expect(result.records.count == 1)
        let checked = QuotaControl(image: empty).alter(
            [
                (
                    entity: [(type: "user", name: "b")],
                    operations: [.init(key: "producer_byte_rate", value: 10, remove: false)]
                )
            ],
            validateOnly: true)
        #expect(checked.response.allSatisfy { $0.isOK } && checked.records.isEmpty)
    }
}
