import FjordController
import FjordReplication
import KafkaProtocol
import Logging
import NIOCore

/// The leader's side of ISR changes (Kafka's `AlterPartitionManager` with the ISR-expiry task): every
/// `replica.lag.time.max.ms / 2` each partition this broker leads checks for followers that fell behind
/// (`PartitionLeader` proposes dropping them), and every proposal — a shrink from that check, an expansion from a
/// follower's fetch — goes to the active controller as an AlterPartition (v3: members with broker epochs). The
/// controller's answer goes back to the partition's leader, which applies it (or waits for newer metadata, or
/// retries: the core decides). A request that gets no answer is proposed again at the next check.
final class ISRChangeSender: Sendable {
    static let version: Int16 = 3

    private let localID: NodeID
    private let replicas: ReplicaManager
    private let driver: RaftDriver
    private let peers: ControllerPeers
    private let brokerEpoch: @Sendable () -> Int64?
    private let logger: Logger

    init(
        localID: NodeID, replicas: ReplicaManager, driver: RaftDriver, peers: ControllerPeers,
        brokerEpoch: @escaping @Sendable () -> Int64?, logger: Logger
    ) {
        self.localID = localID
        self.replicas = replicas
        self.driver = driver
        self.peers = peers
        self.brokerEpoch = brokerEpoch
        self.logger = logger
    }

    /// Checks and sends until cancelled.
    func run() async {
        let checkEveryMs = max(replicas.replicaLagTimeMaxMs / 2, 10)
        var nextCheck = PartitionReplica.replicationNow()
        while !Task.isCancelled {
            let now = PartitionReplica.replicationNow()
            if now >= nextCheck {
                nextCheck = now + checkEveryMs
                for replica in replicas.allReplicas.values where replica.isLeader {
                    replicas.dispatch(replica.tickLeader(now: now), of: replica)
                }
            }
            for (replica, proposal) in replicas.takeProposals() {
                await send(proposal, of: replica)
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    private func send(_ proposal: AlterPartitionProposal, of replica: PartitionReplica) async {
        // A proposal of a leadership that ended (this broker follows now, or leads a newer epoch) is dropped: the
        // controller would refuse it, and retrying it would only delay the proposals that still matter.
        guard replica.isLeader, replica.leaderEpoch == proposal.leaderEpoch else { return }
        guard let controller = driver.status.role.leaderID, peers.knows(controller), let epoch = brokerEpoch() else {
            replicas.dispatch([.sendAlterPartition(proposal)], of: replica)  // again at the next round
            try? await Task.sleep(nanoseconds: 100_000_000)
            return
        }
        let request = AlterPartitionRequest(
            brokerID: localID, brokerEpoch: epoch,
            topics: [
                .init(
                    topicID: replica.topicID,
                    partitions: [
                        .init(
                            partitionIndex: replica.topicPartition.partition, leaderEpoch: proposal.leaderEpoch,
                            newIsrWithEpochs: proposal.newISR.map {
                                .init(brokerID: $0.brokerID, brokerEpoch: $0.brokerEpoch)
                            },
                            leaderRecoveryState: 0, partitionEpoch: proposal.partitionEpoch)
                    ])
            ])
        let answer: AlterPartitionAnswer
        do {
            let response = try await peers.forward(
                request, version: Self.version, to: controller, timeout: .seconds(30), purpose: .lifecycle
            ).get()
            if response.errorCode != 0 {
                answer = .rejected(ErrorCode(rawValue: response.errorCode))
            } else if let data = response.topics.first?.partitions.first {
                answer =
                    data.errorCode == 0
                    ? .accepted(leaderEpoch: data.leaderEpoch, partitionEpoch: data.partitionEpoch, isr: data.isr)
                    : .rejected(ErrorCode(rawValue: data.errorCode))
            } else {
                answer = .rejected(.unknownServerError)
            }
        } catch {
            logger.debug(
                "AlterPartition failed", metadata: ["partition": "\(replica.topicPartition)", "error": "\(error)"])
            answer = .rejected(.requestTimedOut)
        }
        if case .rejected(let error) = answer {
            try? await Task.sleep(nanoseconds: 100_000_000)  // a refusal is not retried at once
            logger.info(
                "AlterPartition refused",
                metadata: ["partition": "\(replica.topicPartition)", "proposal": "\(proposal)", "error": "\(error)"])
        }
        let outputs = replica.alterPartitionAnswered(proposal, answer, now: PartitionReplica.replicationNow())
        replicas.dispatch(outputs, of: replica)
    }
}
