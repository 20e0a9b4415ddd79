// Fetch v4-v17. Long polling (max_wait_ms, min_bytes, max_bytes, partition_max_bytes) with parked fetches woken
// by appends; record data sent with sendfile (FetchResponseWriter); incremental fetch sessions (KIP-227, v7+);
// topic ids from v13; read_committed bounded by the last stable offset; leader-epoch fencing (v9+).
import FjordController
import FjordStorage
import KafkaProtocol
import NIOCore

/// Serves consumers (and, later, follower replicas) from the partition logs.
struct FetchHandler: APIHandler {
    let versions: ClosedRange<Int16> = 4...17
    let services: BrokerServices

    func respond(to request: FetchRequest, context: RequestContext) -> EventLoopFuture<ResponseBody?> {
        let promise = context.eventLoop.makePromise(of: ResponseBody?.self)
        FetchOperation(request: request, context: context, services: services, promise: promise).start()
        return promise.futureResult
    }
}
