// InitProducerId v0-v5. Without a transactional id (idempotent producers): a fresh producer id from a block
// reserved in the metadata log, epoch 0. With one: the transaction coordinator's answer — a producer id and a
// bumped epoch that fences older producers with the same id; an open transaction is aborted first and the
// caller told CONCURRENT_TRANSACTIONS, to retry (Kafka's behaviour). PRODUCER_FENCED exists from v4; older
// versions get INVALID_PRODUCER_EPOCH.
import FjordSecurity
import KafkaProtocol
import NIOCore

struct InitProducerIDHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...5
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: InitProducerIDRequest, context: RequestContext) -> EventLoopFuture<InitProducerIDResponse> {
        let version = context.apiVersion
        if let refusal = refusal(request, context: context) {
            return context.eventLoop.makeSucceededFuture(
                InitProducerIDResponse(errorCode: refusal.rawValue, producerID: -1, producerEpoch: -1))
        }
        guard let transactionalID = request.transactionalID else {
            let allocator = services.producerIDs
            return context.eventLoop.makeCompletedFuture { try allocator.next() }
                .map { InitProducerIDResponse(errorCode: 0, producerID: $0, producerEpoch: 0) }
                .flatMapErrorThrowing { _ in
                    InitProducerIDResponse(
                        errorCode: ErrorCode.coordinatorNotAvailable.rawValue, producerID: -1, producerEpoch: -1)
                }
        }
        let transactions = services.transactions
        return context.eventLoop.makeCompletedFuture {
            try transactions.createTopicIfNeeded()
            var response = transactions.initProducerID(
                transactionalID: transactionalID, timeoutMs: request.transactionTimeoutMs,
                producerID: version >= 3 ? request.producerID : -1,
                producerEpoch: version >= 3 ? request.producerEpoch : -1
            )
            response.errorCode =
                ErrorCode(rawValue: response.errorCode).fencedError(supportsProducerFenced: version >= 4).rawValue
            return response
        }.flatMapErrorThrowing { _ in
            InitProducerIDResponse(
                errorCode: ErrorCode.coordinatorNotAvailable.rawValue, producerID: -1, producerEpoch: -1)
        }
    }
}

extension InitProducerIDHandler {
    /// Kafka's checks: WRITE on the transactional id; for an idempotent producer IDEMPOTENT_WRITE on the cluster
    /// or WRITE on some topic (KIP-679), else CLUSTER_AUTHORIZATION_FAILED.
    func refusal(_ request: InitProducerIDRequest, context: RequestContext) -> ErrorCode? {
        guard let authorizer = services.authorizer else { return nil }
        if let transactionalID = request.transactionalID {
            return services.authorize(context, .write, .transactionalID, transactionalID)
                ? nil : .transactionalIDAuthorizationFailed
        }
        let allowed =
            authorizer.authorize(context, .idempotentWrite, .cluster, AclResourceType.clusterName, logIfDenied: false)
            || authorizer.authorizeAny(context, .write, .topic)
        return allowed ? nil : .clusterAuthorizationFailed
    }
}

extension ErrorCode {
    /// PRODUCER_FENCED as a request version can carry it: versions before it existed get INVALID_PRODUCER_EPOCH,
    /// which clients of that age treat the same way (Kafka's own mapping).
    func fencedError(supportsProducerFenced: Bool) -> ErrorCode {
        self == .producerFenced && !supportsProducerFenced ? .invalidProducerEpoch : self
    }
}
