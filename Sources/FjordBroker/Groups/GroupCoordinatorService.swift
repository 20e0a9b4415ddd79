import FjordStorage
import Logging
import NIOPosix
import ServiceLifecycle

/// Ticks the group coordinator (a `Service`, like retention and the flusher): every
/// `GroupCoordinator.tickIntervalMs` it expires sessions, completes rebalances whose delays passed, expires
/// offsets and checks consumer-group deadlines. A tick appends to `__consumer_offsets`, so it runs on the I/O
/// thread pool, never on an event loop.
struct GroupCoordinatorService: Service {
    let coordinator: GroupCoordinator
    let threadPool: NIOThreadPool
    var interval: Duration = .milliseconds(GroupCoordinator.tickIntervalMs)
    var sleep: StorageSleep = systemStorageSleep

    func run() async throws {
        let coordinator = self.coordinator
        try await runPeriodically(every: interval, sleep: sleep) { [threadPool] in
            try? await threadPool.runIfActive { coordinator.tick() }
        }
    }
}
