// ListTransactions v0-v1: the transactional ids this coordinator knows, filtered by state names (unknown names are
// echoed in unknown_state_filters), producer ids and (v1) how long the transaction has been open.
import FjordSecurity
import FjordTransactions
import KafkaProtocol
import NIOCore

struct ListTransactionsHandler: TypedAPIHandler {
    let versions: ClosedRange<Int16> = 0...1
    let services: BrokerServices

    func handle(_ request: ListTransactionsRequest, context: RequestContext) -> EventLoopFuture<
        ListTransactionsResponse
    > {
        var response = ListTransactionsResponse()
        var states = Set<TransactionState>()
        for name in request.stateFilters {
            if let state = TransactionState(name: name) {
                states.insert(state)
            } else {
                response.unknownStateFilters.append(name)
            }
        }
        // Filters that name only unknown states match nothing.
        if !request.stateFilters.isEmpty, states.isEmpty { return context.eventLoop.makeSucceededFuture(response) }
        let listed = services.transactions.list(
            states: states, producerIDs: Set(request.producerIDFilters),
            minimumDurationMs: context.apiVersion >= 1 ? request.durationFilter : -1
        )
        // Only the transactional ids the principal may describe (Kafka).
        response.transactionStates = listed.filter {
            services.authorize(context, .describe, .transactionalID, $0.transactionalID)
        }.map {
            .init(transactionalID: $0.transactionalID, producerID: $0.producerID, transactionState: $0.state.name)
        }
        return context.eventLoop.makeSucceededFuture(response)
    }
}
