import FjordSecurity
import KafkaProtocol
import Testing

@testable import FjordController

/// AlterUserScramCredentials as Kafka's ScramControlManager answers it, and its records replayed into the image.
@Suite struct ScramControlTests {
    let empty = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])

    func replayed(_ image: MetadataImage, _ records: [MetadataRecord]) -> MetadataImage {
        var image = image
        for record in records { image.replay(try! MetadataRecord(decoding: record.encoded())!) }
        return image
    }

    func upsert(_ user: String, _ mechanism: ScramMechanism = .sha256, iterations: Int32 = 4096)
        -> ScramControl.Upsertion
    {
        let salted = mechanism.saltedPassword(Array("\(user)-secret".utf8), salt: [7, 7, 7], iterations: iterations)
        return ScramControl.Upsertion(
            user: user, mechanism: mechanism.rawValue, iterations: iterations, salt: [7, 7, 7], saltedPassword: salted)
    }

    @Test func anUpsertionStoresTheDerivedKeysThatAuthenticateThePassword() {
        let result = ScramControl(image: empty).alter(
            deletions: [], upsertions: [upsert("bob"), upsert("bob", .sha512)])
        #expect(result.response.map(\.user) == ["bob"] && result.response.allSatisfy { $0.1.isOK })
        let image = replayed(empty, result.records)
        let expected = ScramCredential(mechanism: .sha256, password: "bob-secret", salt: [7, 7, 7], iterations: 4096)
        #expect(image.scramCredential(.sha256, user: "bob") == expected)
        #expect(image.scramCredential(.sha512, user: "bob")?.iterations == 4096)
        // A snapshot carries them, byte for byte.
        #expect(replayed(empty, image.scramSnapshotRecords).scramCredentials == image.scramCredentials)
        // Deleting one mechanism leaves the other.
        let deleted = ScramControl(image: image).alter(
            deletions: [.init(user: "bob", mechanism: ScramMechanism.sha256.rawValue)], upsertions: [])
        let after = replayed(image, deleted.records)
        #expect(
            after.scramCredential(.sha256, user: "bob") == nil && after.scramCredential(.sha512, user: "bob") != nil)
    }

    @Test func refusalsAreKafkasAndKeepTheUsersOtherChangesOut() {
        let control = ScramControl(image: empty)
        let result = control.alter(
            deletions: [.init(user: "ghost", mechanism: 1), .init(user: "dup", mechanism: 1)],
            upsertions: [
                upsert("few", iterations: 1000), upsert("many", iterations: 20000), upsert("dup"), upsert(""),
                ScramControl.Upsertion(user: "odd", mechanism: 9, iterations: 4096, salt: [1], saltedPassword: [1]),
                upsert("fine"),
            ])
        let answers = Dictionary(uniqueKeysWithValues: result.response.map { ($0.user, $0.1) })
        #expect(
            answers["ghost"] == ItemResult(.resourceNotFound, "Attempt to delete a user credential that does not exist")
        )
        #expect(
            answers["dup"]
                == ItemResult(.duplicateResource, "A user credential cannot be altered twice in the same request"))
        #expect(answers["few"] == ItemResult(.unacceptableCredential, "Too few iterations"))
        #expect(answers["many"] == ItemResult(.unacceptableCredential, "Too many iterations"))
        #expect(answers[""] == ItemResult(.unacceptableCredential, "Username must not be empty"))
        #expect(answers["odd"] == ItemResult(.unsupportedSaslMechanism, "Unknown SCRAM mechanism"))
        #expect(answers["fine"] == .ok)
        #expect(Array(replayed(empty, result.records).scramCredentials.keys) == ["fine"])
    }
}
