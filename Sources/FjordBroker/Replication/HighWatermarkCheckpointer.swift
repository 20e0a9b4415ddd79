import FjordStorage
import Logging
import NIOPosix
import ServiceLifecycle

/// Writes every data directory's `replication-offset-checkpoint` (`LogManager.checkpointHighWatermarks`) every
/// `replica.high.watermark.checkpoint.interval.ms` (Kafka's default 5000), on the I/O thread pool: the file write
/// and its fsyncs never run on an event loop. `LogManager.shutdown` writes it a last time.
struct HighWatermarkCheckpointer: Service {
    let logManager: LogManager
    let threadPool: NIOThreadPool
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let (logManager, threadPool, logger) = (self.logManager, self.threadPool, self.logger)
        try await runPeriodically(every: interval, sleep: systemStorageSleep) {
            do {
                try await threadPool.runIfActive { try logManager.checkpointHighWatermarks() }
            } catch {
                logger.error("high watermark checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
