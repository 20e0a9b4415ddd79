// FindCoordinator v0-v6: group keys (key type 0) and transactional ids (key type 1), single (v0-v3) and batched
// coordinator keys (v4+). The first request of a type creates its internal topic (`__consumer_offsets`,
// `__transaction_state`) on the thread pool; a key's coordinator is the leader of its partition there, and
// COORDINATOR_NOT_AVAILABLE while that partition has no leader (its broker fenced or shut down). Other key types get
// INVALID_REQUEST.
import FjordController
import FjordSecurity
import KafkaProtocol
import NIOCore

/// Tells a client which broker coordinates its group.
struct FindCoordinatorHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...6
    let services: BrokerServices

    func handle(_ request: FindCoordinatorRequest, context: RequestContext) -> EventLoopFuture<FindCoordinatorResponse>
    {
        let version = context.apiVersion
        let keys = version >= 4 ? request.coordinatorKeys : [request.key]
        let groups = services.groups
        let transactions = services.transactions
        let ready: EventLoopFuture<Void> =
            switch request.keyType {
            case 0 where groups.topic == nil:
                services.blocking(on: context.eventLoop) { try groups.createTopicIfNeeded() }
            case 1 where transactions.internalTopic.topic == nil:
                services.blocking(on: context.eventLoop) { try transactions.createTopicIfNeeded() }
            default:
                context.eventLoop.makeSucceededVoidFuture()
            }
        return ready.recover { _ in }.map {
            let answers = keys.map { key in coordinator(for: key, keyType: request.keyType, context: context) }
            var response = FindCoordinatorResponse()
            if version >= 4 {
                response.coordinators = answers
            } else if let answer = answers.first {
                response.errorCode = answer.errorCode
                response.errorMessage = answer.errorMessage
                response.nodeID = answer.nodeID
                response.host = answer.host
                response.port = answer.port
            }
            return response
        }
    }

    /// DESCRIBE on the group or transactional id is required, as Kafka checks it (GROUP_ or
    /// TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    private func coordinator(for key: String, keyType: Int8, context: RequestContext)
        -> FindCoordinatorResponse.Coordinator
    {
        let failure = { (error: ErrorCode, message: String?) in
            FindCoordinatorResponse.Coordinator(
                key: key, nodeID: -1, host: "", port: -1, errorCode: error.rawValue, errorMessage: message)
        }
        if keyType == 0, !services.authorize(context, .describe, .group, key) {
            return failure(.groupAuthorizationFailed, "Group authorization failed.")
        }
        if keyType == 1, !services.authorize(context, .describe, .transactionalID, key) {
            return failure(.transactionalIDAuthorizationFailed, "Transactional Id authorization failed.")
        }
        let topic: InternalTopic
        switch keyType {
        case 0:
            guard !key.isEmpty else { return failure(.invalidRequest, "The group id must not be empty") }
            topic = services.groups.internalTopic
        case 1:
            guard !key.isEmpty else { return failure(.invalidRequest, "The transactional id must not be empty") }
            topic = services.transactions.internalTopic
        default:
            return failure(.invalidRequest, "Unknown coordinator key type \(keyType)")
        }
        switch topic.coordinator(for: key, listener: context.listenerName) {
        case .success(let broker):
            return .init(
                key: key, nodeID: broker.nodeID, host: broker.host, port: broker.port, errorCode: 0, errorMessage: nil)
        case .failure(let error):
            return failure(error, "The coordinator is not available.")
        }
    }
}
