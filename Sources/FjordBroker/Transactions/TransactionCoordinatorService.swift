import FjordStorage
import Logging
import NIOPosix
import ServiceLifecycle

/// Aborts transactions that outlived their timeout and forgets idle transactional ids (a `Service`): every
/// `transaction.abort.timed.out.transaction.cleanup.interval.ms`, on the I/O thread pool (an abort appends the
/// Prepare record, writes markers and appends the Complete record).
struct TransactionCoordinatorService: Service {
    let coordinator: TransactionCoordinator
    let threadPool: NIOThreadPool
    let interval: Duration
    var sleep: StorageSleep = systemStorageSleep

    func run() async throws {
        let coordinator = self.coordinator
        try await runPeriodically(every: interval, sleep: sleep) { [threadPool] in
            try? await threadPool.runIfActive { coordinator.tick() }
        }
    }
}
