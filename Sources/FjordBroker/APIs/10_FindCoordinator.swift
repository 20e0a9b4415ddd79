// FindCoordinator v0-v6: group keys (key type 0), single (v0-v3) and batched coordinator keys (v4+). The first
// request creates `__consumer_offsets` (on the thread pool); a group's coordinator is the leader of its partition.
// Transaction keys (type 1) get COORDINATOR_NOT_AVAILABLE until transactions exist; other types INVALID_REQUEST.
import FjordController
import KafkaProtocol
import NIOCore

/// Tells a client which broker coordinates its group.
struct FindCoordinatorHandler: APIHandler {
    let versions: ClosedRange<Int16> = 0...6
    let services: BrokerServices

    func handle(_ request: FindCoordinatorRequest, context: RequestContext) -> EventLoopFuture<FindCoordinatorResponse> {
        let version = context.apiVersion
        let groups = services.groups
        let keys = version >= 4 ? request.coordinatorKeys : [request.key]
        let ready: EventLoopFuture<Void> = request.keyType == 0 && groups.topic == nil
            ? services.blocking(on: context.eventLoop) { try groups.createTopicIfNeeded() }
            : context.eventLoop.makeSucceededVoidFuture()
        return ready.recover { _ in }.map {
            let answers = keys.map { key in coordinator(for: key, keyType: request.keyType) }
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

    private func coordinator(for key: String, keyType: Int8) -> FindCoordinatorResponse.Coordinator {
        let failure = { (error: ErrorCode, message: String?) in
            FindCoordinatorResponse.Coordinator(key: key, nodeID: -1, host: "", port: -1, errorCode: error.rawValue, errorMessage: message)
        }
        switch keyType {
        case 0:
            guard !key.isEmpty else { return failure(.invalidRequest, "The group id must not be empty") }
            switch services.groups.coordinator(for: key) {
            case .success(let broker):
                return .init(key: key, nodeID: broker.nodeID, host: broker.host, port: broker.port, errorCode: 0, errorMessage: nil)
            case .failure(let error):
                return failure(error, "The coordinator is not available.")
            }
        case 1:
            return failure(.coordinatorNotAvailable, "Transactions are not supported yet.")
        default:
            return failure(.invalidRequest, "Unknown coordinator key type \(keyType)")
        }
    }
}
