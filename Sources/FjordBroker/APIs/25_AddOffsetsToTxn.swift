// AddOffsetsToTxn v0-v4: adds the group's __consumer_offsets partition to the transaction, so that the offsets
// the producer then commits with TxnOffsetCommit become visible only if the transaction commits.
import FjordSecurity
import KafkaProtocol
import NIOCore

struct AddOffsetsToTxnHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...4
    /// Blocks (metadata commits with fsync, appends, file work): never on an event loop.
    let execution = HandlerExecution.ioThreadPool
    let services: BrokerServices

    func handle(_ request: AddOffsetsToTxnRequest, context: RequestContext) -> EventLoopFuture<AddOffsetsToTxnResponse>
    {
        let version = context.apiVersion
        let transactions = services.transactions
        // WRITE on the transactional id, then READ on the group, as Kafka checks them.
        if !services.authorize(context, .write, .transactionalID, request.transactionalID) {
            return context.eventLoop.makeSucceededFuture(
                AddOffsetsToTxnResponse(errorCode: ErrorCode.transactionalIDAuthorizationFailed.rawValue))
        }
        if !services.authorize(context, .read, .group, request.groupID) {
            return context.eventLoop.makeSucceededFuture(
                AddOffsetsToTxnResponse(errorCode: ErrorCode.groupAuthorizationFailed.rawValue))
        }
        return context.eventLoop.makeCompletedFuture {
            guard !request.groupID.isEmpty else {
                return AddOffsetsToTxnResponse(errorCode: ErrorCode.invalidGroupID.rawValue)
            }
            guard let partition = try transactions.offsetsPartition(for: request.groupID) else {
                return AddOffsetsToTxnResponse(errorCode: ErrorCode.coordinatorNotAvailable.rawValue)
            }
            let errors = transactions.addPartitions(
                transactionalID: request.transactionalID, producerID: request.producerID,
                producerEpoch: request.producerEpoch,
                partitions: [partition]
            )
            let error = errors[partition] ?? .none
            return AddOffsetsToTxnResponse(errorCode: error.fencedError(supportsProducerFenced: version >= 2).rawValue)
        }.flatMapErrorThrowing { _ in AddOffsetsToTxnResponse(errorCode: ErrorCode.coordinatorNotAvailable.rawValue) }
    }
}
