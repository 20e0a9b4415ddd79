// DescribeUserScramCredentials v0, from this broker's metadata image: each user's mechanisms and iteration counts
// (never the keys). No list: every user with a credential. A user asked for twice is DUPLICATE_RESOURCE, one without
// a credential RESOURCE_NOT_FOUND, with Kafka's messages; DESCRIBE on the cluster is required
// (CLUSTER_AUTHORIZATION_FAILED for the whole request).
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DescribeUserScramCredentialsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    let services: BrokerServices

    func handle(_ request: DescribeUserScramCredentialsRequest, context: RequestContext) -> EventLoopFuture<
        DescribeUserScramCredentialsResponse
    > {
        context.eventLoop.makeSucceededFuture(describe(request, context: context))
    }

    func describe(_ request: DescribeUserScramCredentialsRequest, context: RequestContext)
        -> DescribeUserScramCredentialsResponse
    {
        var response = DescribeUserScramCredentialsResponse()
        guard services.authorize(context, .describe, .cluster, AclResourceType.clusterName) else {
            response.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
            response.errorMessage = "Cluster authorization failed."
            return response
        }
        let stored = services.metadata.publisher.image.scramCredentials
        let names = request.users.map { $0.map(\.name) } ?? stored.keys.sorted()
        var counts: [String: Int] = [:]
        for name in names { counts[name, default: 0] += 1 }
        var reported = Set<String>()
        for name in names where reported.insert(name).inserted {
            var result = DescribeUserScramCredentialsResponse.DescribeUserScramCredentialsResult(user: name)
            if counts[name]! > 1 {
                result.errorCode = ErrorCode.duplicateResource.rawValue
                result.errorMessage = "Cannot describe SCRAM credentials for the same user twice in a single request"
            } else if let credentials = stored[name], !credentials.isEmpty {
                result.credentialInfos = credentials.values.sorted { $0.mechanism.rawValue < $1.mechanism.rawValue }
                    .map { .init(mechanism: $0.mechanism.rawValue, iterations: $0.iterations) }
            } else {
                result.errorCode = ErrorCode.resourceNotFound.rawValue
                result.errorMessage = "Attempt to describe a user credential that does not exist"
            }
            response.results.append(result)
        }
        return response
    }
}
