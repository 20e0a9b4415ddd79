import FjordSecurity
import KafkaProtocol
import NIOCore

extension MetadataImage {
    /// The credential a UserScramCredentialRecord stores; nil for a mechanism this build does not know.
    static func credential(of record: UserScramCredentialRecord) -> ScramCredential? {
        guard let mechanism = ScramMechanism(rawValue: record.mechanism) else { return nil }
        return ScramCredential(
            mechanism: mechanism, salt: Array(record.salt.readableBytesView),
            storedKey: Array(record.storedKey.readableBytesView), serverKey: Array(record.serverKey.readableBytesView),
            iterations: record.iterations)
    }

    /// The record that stores `credential` for `user`.
    static func record(of credential: ScramCredential, user: String) -> UserScramCredentialRecord {
        UserScramCredentialRecord(
            name: user, mechanism: credential.mechanism.rawValue, salt: ByteBuffer(bytes: credential.salt),
            storedKey: ByteBuffer(bytes: credential.storedKey), serverKey: ByteBuffer(bytes: credential.serverKey),
            iterations: credential.iterations)
    }

    /// The records of every SCRAM credential, by user then mechanism, for a snapshot.
    public var scramSnapshotRecords: [MetadataRecord] {
        scramCredentials.keys.sorted().flatMap { user in
            scramCredentials[user]!.keys.sorted { $0.rawValue < $1.rawValue }.map {
                MetadataRecord.userScramCredential(Self.record(of: scramCredentials[user]![$0]!, user: user))
            }
        }
    }

    /// `user`'s credential for `mechanism`, if any.
    public func scramCredential(_ mechanism: ScramMechanism, user: String) -> ScramCredential? {
        scramCredentials[user]?[mechanism]
    }

    mutating func replayScram(_ record: MetadataRecord) {
        switch record {
        case .userScramCredential(let stored):
            guard let credential = Self.credential(of: stored) else { return }
            scramCredentials[stored.name, default: [:]][credential.mechanism] = credential
        case .removeUserScramCredential(let remove):
            guard let mechanism = ScramMechanism(rawValue: remove.mechanism) else { return }
            scramCredentials[remove.name]?[mechanism] = nil
            if scramCredentials[remove.name]?.isEmpty == true { scramCredentials[remove.name] = nil }
        default:
            preconditionFailure("replayScram given \(record)")
        }
    }
}
