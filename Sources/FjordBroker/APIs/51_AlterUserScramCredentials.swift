// AlterUserScramCredentials v0, decided by the active controller (`ScramControl.alter`; a broker listener forwards
// it there): the client sends each user's salt, iteration count and salted password; the controller derives the
// stored and server keys and commits a UserScramCredentialRecord, or removes one. ALTER on the cluster is required
// (CLUSTER_AUTHORIZATION_FAILED for every user). Answers are per user, in the order users first appear.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct AlterUserScramCredentialsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    /// Blocks until the records commit: never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AlterUserScramCredentialsRequest, context: RequestContext) -> EventLoopFuture<
        AlterUserScramCredentialsResponse
    > {
        context.eventLoop.makeSucceededFuture(alter(request, context: context))
    }

    func alter(_ request: AlterUserScramCredentialsRequest, context: RequestContext)
        -> AlterUserScramCredentialsResponse
    {
        var users: [String] = []
        for name in request.deletions.map(\.name) + request.upsertions.map(\.name) where !users.contains(name) {
            users.append(name)
        }
        func everyUser(_ error: ErrorCode, _ message: String) -> AlterUserScramCredentialsResponse {
            AlterUserScramCredentialsResponse(
                results: users.map { .init(user: $0, errorCode: error.rawValue, errorMessage: message) })
        }
        guard services.authorize(context, .alter, .cluster, AclResourceType.clusterName) else {
            return everyUser(.clusterAuthorizationFailed, "Cluster authorization failed.")
        }
        let deletions = request.deletions.map { ScramControl.Deletion(user: $0.name, mechanism: $0.mechanism) }
        let upsertions = request.upsertions.map {
            ScramControl.Upsertion(
                user: $0.name, mechanism: $0.mechanism, iterations: $0.iterations,
                salt: Array($0.salt.readableBytesView), saltedPassword: Array($0.saltedPassword.readableBytesView))
        }
        do {
            let results = try services.metadata.execute { image in
                ScramControl(image: image).alter(deletions: deletions, upsertions: upsertions)
            }
            let changed = results.filter { $0.1.isOK }.map(\.user)
            if !changed.isEmpty {
                services.logger.info("SCRAM credentials altered", metadata: ["users": "\(changed)"])
            }
            return AlterUserScramCredentialsResponse(
                results: results.map {
                    .init(user: $0.user, errorCode: $0.1.error.rawValue, errorMessage: $0.1.message)
                })
        } catch let refusal as MetadataCommandError {
            return everyUser(refusal.code, refusal.message)
        } catch {
            return everyUser(.unknownServerError, "\(error)")
        }
    }
}
