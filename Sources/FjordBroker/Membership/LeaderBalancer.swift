import FjordController
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The active controller's own elections, as Kafka's QuorumController schedules them:
/// - with `auto.leader.rebalance.enable`, every `leader.imbalance.check.interval.seconds` it moves each partition
///   not led by its preferred replica back to it, where that replica is live and in the ISR
///   (`ClusterControl.balanceLeaders`): leaderships that moved away when a broker died return when it is back;
/// - every `unclean.leader.election.interval.ms` it gives leaderless partitions of topics that allow unclean
///   elections any live replica (`ClusterControl.electUncleanLeaders`), for a topic that turned
///   `unclean.leader.election.enable` on after it lost its leader.
/// Each run is a metadata command on the I/O thread pool (it waits for the commit); a run that wrote the most
/// elections one run may write is followed by another at once. Like `BrokerSessionExpiry` it stops on
/// cancellation only.
struct LeaderBalancer: Service {
    let metadata: MetadataService
    let driver: RaftDriver
    let threadPool: NIOThreadPool
    let logger: Logger
    /// nil: `auto.leader.rebalance.enable=false`.
    let balanceInterval: Duration?
    let uncleanInterval: Duration
    let uncleanLeaderElectionDefault: Bool

    init(
        configuration: BrokerConfiguration, metadata: MetadataService, driver: RaftDriver, threadPool: NIOThreadPool,
        logger: Logger
    ) {
        self.metadata = metadata
        self.driver = driver
        self.threadPool = threadPool
        self.logger = logger
        balanceInterval =
            configuration.autoLeaderRebalanceEnable ? .seconds(configuration.leaderImbalanceCheckIntervalSeconds) : nil
        uncleanInterval = .milliseconds(configuration.uncleanLeaderElectionIntervalMs)
        uncleanLeaderElectionDefault = configuration.uncleanLeaderElectionEnable
    }

    private enum Run: String {
        case balance = "preferred leader balancing"
        case unclean = "unclean leader elections"
    }

    func run() async throws {
        let clock = ContinuousClock()
        var nextBalance = balanceInterval.map { clock.now + $0 }
        var nextUnclean = clock.now + uncleanInterval
        while !Task.isCancelled {
            let wake = min(nextBalance ?? nextUnclean, nextUnclean)
            do {
                try await Task.sleep(until: wake, clock: clock)
            } catch {
                return
            }
            if let due = nextBalance, due <= clock.now, let interval = balanceInterval {
                let more = await runOnce(.balance)
                nextBalance = clock.now + (more ? .milliseconds(10) : interval)
            }
            if nextUnclean <= clock.now {
                let more = await runOnce(.unclean)
                nextUnclean = clock.now + (more ? .milliseconds(10) : uncleanInterval)
            }
        }
    }

    /// One run on the active controller (nothing elsewhere); true when it hit the per-run limit.
    private func runOnce(_ run: Run) async -> Bool {
        guard driver.status.isLeader else { return false }
        let control = ClusterControl(
            image: metadata.publisher.image, uncleanLeaderElectionDefault: uncleanLeaderElectionDefault)
        // Nothing to do: no command, no lock.
        switch run {
        case .balance where !control.hasImbalancedLeaders: return false
        case .unclean where control.image.leaderlessPartitions.isEmpty: return false
        default: break
        }
        let (metadata, uncleanDefault) = (self.metadata, uncleanLeaderElectionDefault)
        do {
            let elected = try await threadPool.runIfActive {
                try metadata.execute { image in
                    let control = ClusterControl(image: image, uncleanLeaderElectionDefault: uncleanDefault)
                    return run == .balance ? control.balanceLeaders() : control.electUncleanLeaders()
                }
            }
            if elected > 0 { logger.info("\(run.rawValue)", metadata: ["elections": "\(elected)"]) }
            return elected >= ClusterControl.maxElectionsPerRun
        } catch {
            // Not the leader any more, or the commit timed out: the next run tries again.
            logger.debug("\(run.rawValue) not committed", metadata: ["error": "\(error)"])
            return false
        }
    }
}
