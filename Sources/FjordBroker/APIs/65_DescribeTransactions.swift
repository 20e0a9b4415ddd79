// DescribeTransactions v0: the state, producer id and epoch, timeout, start time and partitions of each
// transactional id (TRANSACTIONAL_ID_NOT_FOUND for unknown ids).
import KafkaProtocol
import NIOCore

struct DescribeTransactionsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...0
    let services: BrokerServices

    func handle(_ request: DescribeTransactionsRequest, context: RequestContext) -> EventLoopFuture<
        DescribeTransactionsResponse
    > {
        var response = DescribeTransactionsResponse()
        response.transactionStates = services.transactions.describe(request.transactionalIDs)
        return context.eventLoop.makeSucceededFuture(response)
    }
}
