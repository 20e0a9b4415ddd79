// EndTxn v0-v4: commits or aborts the producer's transaction. Answered after the COMMIT/ABORT markers are in
// every partition of the transaction and the coordinator has recorded the end. A retry of an end that already
// happened succeeds; ending the other way, or with no transaction, is INVALID_TXN_STATE. v5 (KIP-890 part 2,
// an epoch bump per transaction) is not served: Fjord does not advertise transaction.version 2.
import FjordSecurity
import KafkaProtocol
import NIOCore

struct EndTxnHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...4
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: EndTxnRequest, context: RequestContext) -> EventLoopFuture<EndTxnResponse> {
        let version = context.apiVersion
        let transactions = services.transactions
        // WRITE on the transactional id, as Kafka checks it.
        if !services.authorize(context, .write, .transactionalID, request.transactionalID) {
            return context.eventLoop.makeSucceededFuture(
                EndTxnResponse(
                    errorCode: ErrorCode.transactionalIDAuthorizationFailed.rawValue, producerID: -1, producerEpoch: -1)
            )
        }
        return context.eventLoop.makeCompletedFuture {
            let error = transactions.endTransaction(
                transactionalID: request.transactionalID, producerID: request.producerID,
                producerEpoch: request.producerEpoch,
                commit: request.committed
            )
            return EndTxnResponse(
                errorCode: error.fencedError(supportsProducerFenced: version >= 2).rawValue, producerID: -1,
                producerEpoch: -1)
        }
    }
}
