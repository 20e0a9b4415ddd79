// DescribeTransactions v0: the state, producer id and epoch, timeout, start time and partitions of each
// transactional id (TRANSACTIONAL_ID_NOT_FOUND for unknown ids).
import FjordSecurity
import KafkaProtocol
import NIOCore

struct DescribeTransactionsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    let services: BrokerServices

    func handle(_ request: DescribeTransactionsRequest, context: RequestContext) -> EventLoopFuture<
        DescribeTransactionsResponse
    > {
        var response = DescribeTransactionsResponse()
        // DESCRIBE on each transactional id, as Kafka checks it.
        let refused = Set(
            request.transactionalIDs.filter { !services.authorize(context, .describe, .transactionalID, $0) })
        let described = services.transactions.describe(request.transactionalIDs.filter { !refused.contains($0) })
        var byID = Dictionary(described.map { ($0.transactionalID, $0) }, uniquingKeysWith: { a, _ in a })
        for id in refused {
            byID[id] = .init(
                errorCode: ErrorCode.transactionalIDAuthorizationFailed.rawValue, transactionalID: id,
                transactionState: "", transactionTimeoutMs: 0, transactionStartTimeMs: -1, producerID: -1,
                producerEpoch: -1, topics: [])
        }
        response.transactionStates = request.transactionalIDs.compactMap { byID[$0] }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
