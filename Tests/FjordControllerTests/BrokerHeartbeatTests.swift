import FjordController
import KafkaProtocol
import Testing

@Suite struct BrokerHeartbeatTests {
    @Test func anOldOrUnknownEpochIsStale() {
        // Flow:
        // 1. Broker 1 registers (epoch 1).
        // 2. A heartbeat with epoch 0: STALE_BROKER_EPOCH naming both epochs, fenced, no record.
        // 3. A heartbeat from unregistered broker 2: STALE_BROKER_EPOCH.
        var harness = ControllerHarness()
        harness.register(ControllerHarness.registration(1))
        let log = harness.log
        let stale = harness.heartbeat(1, epoch: 0)
        #expect(stale.result == ItemResult(.staleBrokerEpoch, "Expected broker epoch 1, but got broker epoch 0"))
        #expect(stale.isFenced)
        #expect(stale.response.errorCode == ErrorCode.staleBrokerEpoch.rawValue)
        let unknown = harness.heartbeat(2, epoch: 4)
        #expect(unknown.result == ItemResult(.staleBrokerEpoch, "No broker registration found for broker id 2"))
        #expect(harness.log == log)
    }

    @Test func aBrokerIsUnfencedOnlyOnceCaughtUpWithItsRegistration() {
        // Flow:
        // 1. Broker 1 registers at offset 1; three unrelated records follow.
        // 2. It heartbeats at offset 0: not caught up, stays fenced, no record.
        // 3. It heartbeats at offset 1: caught up, unfenced by a BrokerRegistrationChangeRecord (fenced = -1).
        // 4. After commit the image lists it to clients.
        var harness = ControllerHarness()
        harness.register(ControllerHarness.registration(1))
        harness.commit(
            (0..<3).map { .config(ConfigRecord(resourceType: 4, resourceName: "", name: "x\($0)", value: "1")) })
        let behind = harness.heartbeat(1, offset: 0)
        #expect(
            behind
                == .init(
                    result: .ok, isCaughtUp: false, isFenced: true, inControlledShutdown: false,
                    shouldShutDown: false))
        #expect(harness.image.brokerRegistrations[1]?.isFenced == true)
        let count = harness.log.count
        let caughtUp = harness.heartbeat(1, offset: 1)
        #expect(caughtUp.isCaughtUp && !caughtUp.isFenced && !caughtUp.shouldShutDown)
        #expect(
            Array(harness.log[count...])
                == [.brokerRegistrationChange(BrokerRegistrationChangeRecord(brokerID: 1, brokerEpoch: 1, fenced: -1))])
        #expect(harness.image.brokers.map(\.nodeID) == [1])
        #expect(harness.image.brokers(listener: "PLAINTEXT").first?.port == 9001)
        #expect(harness.image.brokers(listener: "SSL").isEmpty)
    }

    @Test func aFencedBrokerAskingToStayFencedStaysFenced() {
        // Flow:
        // 1. Broker 1 registers and heartbeats caught up but with wantFence: it stays fenced.
        // 2. It heartbeats with wantShutDown while fenced: told to shut down at once.
        var harness = ControllerHarness()
        harness.register(ControllerHarness.registration(1))
        #expect(harness.heartbeat(1, wantFence: true).isFenced)
        #expect(harness.image.brokerRegistrations[1]?.isFenced == true)
        let stop = harness.heartbeat(1, wantShutDown: true)
        #expect(stop.shouldShutDown && stop.isFenced)
    }

    @Test func wantFenceMovesLeadershipsAwayAndAnUnfenceTakesLeaderlessPartitionsBack() {
        // Flow:
        // 1. Brokers 1 and 2; "a" on [1] (replication factor 1) and "b" on [1, 2], both led by 1.
        // 2. Broker 1 asks to be fenced: "a" gets leader -1 and keeps ISR [1]; "b" moves to 2 with ISR [2].
        // 3. Broker 1 heartbeats caught up without wantFence: unfenced, it leads "a" again (new leader epoch);
        //    "b" stays with 2.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.startBroker(2)
        harness.createTopic("a", assignments: [[1]])
        harness.createTopic("b", assignments: [[1, 2]])
        let fenced = harness.heartbeat(1, wantFence: true)
        #expect(fenced.isFenced && !fenced.shouldShutDown)
        #expect(harness.partition("a", 0).leader == -1)
        #expect(harness.partition("a", 0).inSyncReplicas == [1])
        #expect(harness.partition("b", 0).leader == 2)
        #expect(harness.partition("b", 0).inSyncReplicas == [2])
        #expect(harness.image.brokers.map(\.nodeID) == [2])
        let epoch = harness.partition("a", 0).leaderEpoch
        let back = harness.heartbeat(1)
        #expect(!back.isFenced)
        #expect(harness.partition("a", 0).leader == 1)
        #expect(harness.partition("a", 0).leaderEpoch == epoch + 1)
        #expect(harness.partition("b", 0).leader == 2)
    }

    @Test func anUnfencedBrokerAskingForFenceAndShutdownStopsAtOnce() {
        // Flow:
        // 1. Broker 1 is unfenced and leads a partition.
        // 2. It heartbeats with wantFence and wantShutDown: shouldShutDown, fenced, its leadership gone.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.createTopic("a", assignments: [[1]])
        let reply = harness.heartbeat(1, wantFence: true, wantShutDown: true)
        #expect(reply.shouldShutDown && reply.isFenced)
        #expect(harness.partition("a", 0).leader == -1)
        #expect(harness.image.brokerRegistrations[1]?.isFenced == true)
    }

    @Test func beforeThreeSixAnIsrShrinkBumpsTheLeaderEpoch() {
        // Flow:
        // 1. At metadata.version 3.5-IV2 (11), a partition on [1, 2] led by 1.
        // 2. Broker 2 is fenced: the ISR shrinks to [1] and, as KAFKA-15021 needed, the leader epoch grows though
        //    the leader stays 1. At 4.0-IV3 the same shrink keeps the epoch.
        for (level, bump) in [(Int16(11), Int32(1)), (25, 0)] {
            var harness = ControllerHarness(metadataVersion: level)
            harness.startBroker(1)
            harness.startBroker(2)
            harness.createTopic("b", assignments: [[1, 2]])
            harness.heartbeat(2, wantFence: true)
            #expect(harness.partition("b", 0).inSyncReplicas == [1])
            #expect(harness.partition("b", 0).leader == 1)
            #expect(harness.partition("b", 0).leaderEpoch == bump)
        }
    }
}
