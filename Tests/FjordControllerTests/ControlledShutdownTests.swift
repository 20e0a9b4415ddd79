import FjordController
import KafkaProtocol
import Testing

@Suite struct ControlledShutdownTests {
    @Test func leadershipsMoveAwayThenTheBrokerIsToldToStop() {
        // Flow:
        // 1. Brokers 1, 2 and 3, unfenced. "one" on [1] (replication factor 1), "two" on [1, 2] and [2, 1].
        // 2. Broker 1 heartbeats wantShutDown: it enters controlled shutdown (BrokerRegistrationChangeRecord
        //    inControlledShutdown = 1); "one" gets leader -1, "two"-0 moves to 2, and 1 leaves every ISR.
        //    The reply: not fenced, in controlled shutdown, not yet told to stop.
        // 3. It heartbeats again: it leads nothing, but brokers 2 and 3 have not reported an offset past the
        //    shutdown records, so it must wait.
        // 4. Brokers 2 and 3 heartbeat at the log end; broker 1's next heartbeat is told to shut down, and it is
        //    fenced.
        var harness = ControllerHarness()
        for id: Int32 in 1...3 { harness.startBroker(id) }
        harness.createTopic("one", assignments: [[1]])
        harness.createTopic("two", assignments: [[1, 2], [2, 1]])
        let first = harness.log.count
        let entering = harness.heartbeat(1, offset: harness.nextOffset - 1, wantShutDown: true)
        #expect(
            entering
                == .init(
                    result: .ok, isCaughtUp: true, isFenced: false, inControlledShutdown: true,
                    shouldShutDown: false))
        #expect(
            harness.log[first]
                == .brokerRegistrationChange(
                    BrokerRegistrationChangeRecord(brokerID: 1, brokerEpoch: 1, inControlledShutdown: 1)))
        #expect(harness.image.brokerRegistrations[1]?.inControlledShutdown == true)
        #expect(harness.partition("one", 0).leader == -1)
        #expect(harness.partition("two", 0).leader == 2)
        #expect(harness.partition("two", 0).inSyncReplicas == [2])
        #expect(harness.partition("two", 1).leader == 2)
        #expect(harness.partition("two", 1).inSyncReplicas == [2])
        #expect(harness.image.partitions(ledBy: 1).isEmpty)

        let waiting = harness.heartbeat(1, wantShutDown: true)
        #expect(waiting.inControlledShutdown && !waiting.shouldShutDown)

        harness.heartbeat(2)
        harness.heartbeat(3)
        let stop = harness.heartbeat(1, wantShutDown: true)
        #expect(stop.shouldShutDown && stop.isFenced)
        #expect(harness.image.brokerRegistrations[1]?.isFenced == true)
        #expect(harness.image.brokers.map(\.nodeID) == [2, 3])
    }

    @Test func aBrokerInControlledShutdownGetsNoNewPartitionsAndNoLeadershipBack() {
        // Flow:
        // 1. Brokers 1 and 2; 1 leads "a" on [1, 2]; 1 enters controlled shutdown (leadership to 2).
        // 2. A new topic with replication factor 2 cannot be placed: only broker 2 is usable.
        // 3. Broker 2 is fenced: "a" has no acceptable leader (1 is shutting down), leader -1.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.startBroker(2)
        harness.createTopic("a", assignments: [[1, 2]])
        harness.heartbeat(1, wantShutDown: true)
        let refused = harness.createTopic("b", partitions: 1, replicationFactor: 2)
        #expect(refused.result.error == .invalidReplicationFactor)
        #expect(harness.createTopic("c", partitions: 3, replicationFactor: 1).result == .ok)
        #expect(harness.image.topic(named: "c")!.partitions.allSatisfy { $0.replicas == [2] })
        harness.heartbeat(2, wantFence: true)
        #expect(harness.partition("a", 0).leader == -1)
    }

    @Test func aBrokerLeadingNothingStopsAtOnce() {
        // Flow:
        // 1. Brokers 1 and 2; a topic led by 2 only.
        // 2. Broker 1 heartbeats wantShutDown: shouldShutDown at once, fenced, no controlled shutdown state.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.startBroker(2)
        harness.createTopic("a", assignments: [[2]])
        let reply = harness.heartbeat(1, wantShutDown: true)
        #expect(reply.shouldShutDown && reply.isFenced && !reply.inControlledShutdown)
        #expect(harness.image.brokerRegistrations[1]?.inControlledShutdown == false)
        #expect(harness.partition("a", 0).leader == 2)
    }
}
