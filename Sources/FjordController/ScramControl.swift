import FjordSecurity
import KafkaProtocol

/// AlterUserScramCredentials on the active controller, as Kafka's `ScramControlManager`: each upsertion becomes a
/// UserScramCredentialRecord (the stored and server keys derived from the salted password the client sent; the
/// password itself never reaches the broker), each deletion a RemoveUserScramCredentialRecord. Answers are per user:
/// a user with one refused change gets its error and none of its changes are written.
public struct ScramControl: Sendable {
    public let image: MetadataImage

    public init(image: MetadataImage) {
        self.image = image
    }

    public struct Deletion: Sendable {
        public var user: String
        public var mechanism: Int8

        public init(user: String, mechanism: Int8) {
            self.user = user
            self.mechanism = mechanism
        }
    }

    public struct Upsertion: Sendable {
        public var user: String
        public var mechanism: Int8
        public var iterations: Int32
        public var salt: [UInt8]
        public var saltedPassword: [UInt8]

        public init(user: String, mechanism: Int8, iterations: Int32, salt: [UInt8], saltedPassword: [UInt8]) {
            self.user = user
            self.mechanism = mechanism
            self.iterations = iterations
            self.salt = salt
            self.saltedPassword = saltedPassword
        }
    }

    /// One result per user, in the order users first appear (deletions, then upsertions).
    public func alter(deletions: [Deletion], upsertions: [Upsertion]) -> ControllerResult<[(user: String, ItemResult)]>
    {
        var order: [String] = []
        var errors: [String: ItemResult] = [:]
        var recordsByUser: [String: [MetadataRecord]] = [:]
        var seen = Set<String>()
        func fail(_ user: String, _ error: ErrorCode, _ message: String) {
            if errors[user] == nil { errors[user] = ItemResult(error, message) }
        }
        // A credential named twice in the request is refused before anything else is looked at.
        for (user, mechanism) in deletions.map({ ($0.user, $0.mechanism) })
            + upsertions.map({ ($0.user, $0.mechanism) })
        where !seen.insert("\(mechanism)/\(user)").inserted {
            fail(user, .duplicateResource, "A user credential cannot be altered twice in the same request")
        }
        func note(_ user: String, mechanism: Int8) -> ScramMechanism? {
            if !order.contains(user) { order.append(user) }
            guard !user.isEmpty else {
                fail(user, .unacceptableCredential, "Username must not be empty")
                return nil
            }
            guard let scram = ScramMechanism(rawValue: mechanism) else {
                fail(user, .unsupportedSaslMechanism, "Unknown SCRAM mechanism")
                return nil
            }
            return scram
        }
        for deletion in deletions {
            guard let mechanism = note(deletion.user, mechanism: deletion.mechanism) else { continue }
            guard image.scramCredential(mechanism, user: deletion.user) != nil else {
                fail(
                    deletion.user, .resourceNotFound, "Attempt to delete a user credential that does not exist")
                continue
            }
            recordsByUser[deletion.user, default: []].append(
                .removeUserScramCredential(
                    RemoveUserScramCredentialRecord(name: deletion.user, mechanism: mechanism.rawValue)))
        }
        for upsertion in upsertions {
            guard let mechanism = note(upsertion.user, mechanism: upsertion.mechanism) else { continue }
            if upsertion.iterations < ScramMechanism.minimumIterations {
                fail(upsertion.user, .unacceptableCredential, "Too few iterations")
                continue
            }
            if upsertion.iterations > ScramMechanism.maximumIterations {
                fail(upsertion.user, .unacceptableCredential, "Too many iterations")
                continue
            }
            guard !upsertion.salt.isEmpty, !upsertion.saltedPassword.isEmpty else {
                fail(upsertion.user, .unacceptableCredential, "The salt and the salted password must not be empty")
                continue
            }
            let credential = ScramCredential(
                mechanism: mechanism, saltedPassword: upsertion.saltedPassword, salt: upsertion.salt,
                iterations: upsertion.iterations)
            recordsByUser[upsertion.user, default: []].append(
                .userScramCredential(MetadataImage.record(of: credential, user: upsertion.user)))
        }
        var records: [MetadataRecord] = []
        var results: [(user: String, ItemResult)] = []
        for user in order {
            if let error = errors[user] {
                results.append((user, error))
            } else {
                records += recordsByUser[user] ?? []
                results.append((user, .ok))
            }
        }
        return ControllerResult(records: records, response: results)
    }

    /// The records `fjord storage format --add-scram` writes into the bootstrap snapshot: one per credential.
    public static func bootstrapRecords(_ credentials: [(user: String, ScramCredential)]) -> [MetadataRecord] {
        credentials.map { .userScramCredential(MetadataImage.record(of: $0.1, user: $0.user)) }
    }
}
