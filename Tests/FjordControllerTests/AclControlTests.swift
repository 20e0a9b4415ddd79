import FjordSecurity
import KafkaProtocol
import Testing

@testable import FjordController

/// CreateAcls and DeleteAcls as Kafka's AclControlManager answers them, and their records replayed into the image.
@Suite struct AclControlTests {
    let readOrders = AclBinding(
        ResourcePattern(.topic, "orders"),
        AccessControlEntry(principal: "User:alice", operation: .read, permission: .allow))
    let denyPrefix = AclBinding(
        ResourcePattern(.topic, "ord", .prefixed),
        AccessControlEntry(principal: "User:bob", operation: .write, permission: .deny))
    let groupRead = AclBinding(
        ResourcePattern(.group, "billing"),
        AccessControlEntry(principal: "User:alice", operation: .read, permission: .allow))

    /// Ids 1, 2, 3, ... so tests can name them.
    final class Counter: @unchecked Sendable {
        var next: UInt64 = 0
        func id() -> KafkaUUID {
            next += 1
            return KafkaUUID(high: 0, low: next)
        }
    }

    func replayed(_ image: MetadataImage, _ records: [MetadataRecord]) -> MetadataImage {
        var image = image
        for record in records {
            // Through the log's framing, as a broker replays them.
            image.replay(try! #require(try MetadataRecord(decoding: record.encoded())))
        }
        return image
    }

    @Test func createsStoreEachNewAclOnceAndRefuseInvalidOnes() throws {
        let empty = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        let ids = Counter()
        var cluster = AclBinding(
            ResourcePattern(.cluster, "my-cluster"),
            AccessControlEntry(principal: "User:alice", operation: .alter, permission: .allow))
        let created = AclControl(image: empty).createAcls(
            [readOrders, denyPrefix, cluster, readOrders, groupRead], newID: ids.id)
        #expect(created.response.map(\.error) == [.none, .none, .invalidRequest, .none, .none])
        #expect(created.response[2].message == "The only valid name for the CLUSTER resource is kafka-cluster")
        #expect(created.records.count == 3, "the duplicate in the same request is stored once")
        let image = replayed(empty, created.records)
        #expect(Set(image.acls.values) == [readOrders, denyPrefix, groupRead])

        // Again on the new image: already there, so nothing to write, and still a success.
        let again = AclControl(image: image).createAcls([readOrders], newID: ids.id)
        #expect(again.response == [.ok] && again.records.isEmpty)

        cluster.pattern.name = AclResourceType.clusterName
        // A generator that first offers an id in use (1): the ACL gets the next id it offers instead.
        var offered: [UInt64] = [1, 100]
        let valid = AclControl(image: image).createAcls(
            [cluster], newID: { KafkaUUID(high: 0, low: offered.removeFirst()) })
        #expect(valid.response == [.ok])
        guard case .accessControlEntry(let record) = valid.records.first else {
            Issue.record("no record for a new ACL: \(valid.records)")
            return
        }
        #expect(record.id == KafkaUUID(high: 0, low: 100), "an id in use is not reused")
    }

    @Test func deletesRemoveWhatEachFilterMatchesOnce() throws {
        let ids = Counter()
        let empty = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        let image = replayed(
            empty, AclControl(image: empty).createAcls([readOrders, denyPrefix, groupRead], newID: ids.id).records)
        let deleted = AclControl(image: image).deleteAcls([
            AclBindingFilter(resourceType: .topic, name: "orders", patternType: .match),
            AclBindingFilter(principal: "User:bob"),
            AclBindingFilter(operation: .unknown),
        ])
        guard case .success(let first) = deleted.response[0], case .success(let second) = deleted.response[1],
            case .failure(let third) = deleted.response[2]
        else {
            Issue.record("unexpected answers \(deleted.response)")
            return
        }
        #expect(Set(first) == [readOrders, denyPrefix])
        #expect(second == [denyPrefix])
        #expect(third.error == .invalidRequest)
        #expect(deleted.records.count == 2, "an ACL two filters match is removed once")
        #expect(Array(replayed(image, deleted.records).acls.values) == [groupRead])
    }

    @Test func recordsOfUnknownValuesAreSkippedOnReplay() {
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        image.replay(
            .accessControlEntry(
                AccessControlEntryRecord(
                    id: KafkaUUID(high: 1, low: 1), resourceType: 99, resourceName: "t", patternType: 3,
                    principal: "User:a", host: "*", operation: 3, permissionType: 3)))
        #expect(image.acls.isEmpty)
    }
}
