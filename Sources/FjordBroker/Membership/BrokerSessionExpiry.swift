import FjordController
import Logging
import NIOPosix
import ServiceLifecycle

/// Fences brokers whose session ran out (`broker.session.timeout.ms` without a heartbeat), on the active
/// controller only: every `interval` it checks the tracker, and when a session expired runs
/// `ClusterControl.fenceExpiredBrokers` as a metadata command on the I/O thread pool (it waits for the commit).
///
/// It stops on cancellation only, not on graceful shutdown: it runs beside the quorum's driver, which outlives the
/// broker side's controlled shutdown.
struct BrokerSessionExpiry: Service {
    let metadata: MetadataService
    let driver: RaftDriver
    let sessions: BrokerSessions
    let threadPool: NIOThreadPool
    let logger: Logger
    /// How often sessions are checked; a broker is fenced at most this long after its session expired.
    var interval: Duration = .milliseconds(100)

    func run() async throws {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
            let status = driver.status
            guard status.isLeader, sessions.hasExpired(image: metadata.publisher.image, epoch: status.role.epoch)
            else { continue }
            let (metadata, sessions, logger) = (self.metadata, self.sessions, self.logger)
            let epoch = status.role.epoch
            do {
                let fenced = try await threadPool.runIfActive {
                    try metadata.execute { image in sessions.fenceExpired(image: image, epoch: epoch) }
                }
                if !fenced.isEmpty {
                    logger.warning("brokers fenced: their sessions expired", metadata: ["brokers": "\(fenced)"])
                }
            } catch {
                // Not the leader any more, or the commit timed out: the next check tries again if still due.
                logger.debug("session expiry not committed", metadata: ["error": "\(error)"])
            }
        }
    }
}
