import FjordController
import KafkaProtocol
import Testing

@Suite struct SessionExpiryTests {
    @Test func aBrokerSilentLongerThanTheSessionTimeoutIsFencedAndLosesItsLeaderships() {
        // Flow:
        // 1. Brokers 1, 2, 3 unfenced at t = 1000; "solo" on [3], "pair" on [3, 1].
        // 2. Brokers 1 and 2 heartbeat at t = 6000; broker 3 stays silent.
        // 3. At t = 10000 (exactly 9000 ms after its last heartbeat) nothing has expired.
        // 4. At t = 10001 broker 3 has: fenceExpiredBrokers fences it (BrokerRegistrationChangeRecord fenced = 1),
        //    "solo" gets leader -1 (no other ISR member), "pair" moves to 1 with ISR [1].
        // 5. Asked again, nothing more expires (the tracker remembers broker 3 is fenced).
        var harness = ControllerHarness()
        for id: Int32 in 1...3 { harness.startBroker(id) }
        harness.createTopic("solo", assignments: [[3]])
        harness.createTopic("pair", assignments: [[3, 1]])
        harness.now = 6_000
        harness.heartbeat(1)
        harness.heartbeat(2)
        harness.now = 10_000
        #expect(harness.tracker.expiredBrokers(image: harness.image, now: harness.now).isEmpty)
        harness.now = 10_001
        #expect(harness.tracker.expiredBrokers(image: harness.image, now: harness.now) == [3])
        let result = ClusterControl(image: harness.image).fenceExpiredBrokers(
            tracker: &harness.tracker, now: harness.now)
        #expect(result.response == [3])
        #expect(
            result.records.last
                == .brokerRegistrationChange(BrokerRegistrationChangeRecord(brokerID: 3, brokerEpoch: 5, fenced: 1)))
        harness.commit(result.records)
        #expect(harness.image.brokerRegistrations[3]?.isFenced == true)
        #expect(harness.partition("solo", 0).leader == -1)
        #expect(harness.partition("solo", 0).inSyncReplicas == [3])
        #expect(harness.partition("pair", 0).leader == 1)
        #expect(harness.partition("pair", 0).inSyncReplicas == [1])
        let again = ClusterControl(image: harness.image).fenceExpiredBrokers(tracker: &harness.tracker, now: 20_000)
        #expect(again.response == [1, 2])
        #expect(!again.records.isEmpty)
    }

    @Test func aHeartbeatNotedOnArrivalKeepsTheBrokerAliveWhileItWaitsToBeProcessed() {
        // Flow:
        // 1. Brokers 1 and 2 unfenced at t = 1000 (session 9000 ms).
        // 2. Broker 2's heartbeat arrives at t = 9000 but waits behind other commands: only its arrival is noted.
        // 3. At t = 10001 broker 1 has expired, broker 2 has not (its session counts from the arrival).
        // 4. A fenced broker's arrival is not a session: noting it changes nothing.
        var harness = ControllerHarness()
        for id: Int32 in 1...2 { harness.startBroker(id) }
        harness.tracker.noteContact(2, image: harness.image, now: 9_000)
        #expect(harness.tracker.expiredBrokers(image: harness.image, now: 10_001) == [1])
        #expect(harness.tracker.session(2, image: harness.image)?.isFenced == false)
        // An arrival older than the last contact never moves it back.
        harness.tracker.noteContact(2, image: harness.image, now: 5_000)
        #expect(harness.tracker.session(2, image: harness.image)?.lastContactMs == 9_000)
        harness.tracker.fence(1)
        harness.tracker.noteContact(1, image: harness.image, now: 10_002)
        #expect(harness.tracker.session(1, image: harness.image)?.isFenced == true)
        #expect(harness.tracker.expiredBrokers(image: harness.image, now: 18_000).isEmpty)
        #expect(harness.tracker.expiredBrokers(image: harness.image, now: 18_001) == [2])
    }

    @Test func brokersExpiringTogetherDoNotElectEachOther() {
        // Flow:
        // 1. Brokers 1, 2, 3; "p" on [1, 2, 3] led by 1. Only broker 3 keeps heartbeating.
        // 2. Brokers 1 and 2 expire in the same check: the records fence 1 then 2, each computed on the image the
        //    previous left, so "p" ends led by 3 with ISR [3] — never by 2, which is being fenced too.
        var harness = ControllerHarness()
        for id: Int32 in 1...3 { harness.startBroker(id) }
        harness.createTopic("p", assignments: [[1, 2, 3]])
        harness.now = 9_000
        harness.heartbeat(3)
        harness.now = 10_500
        let result = ClusterControl(image: harness.image).fenceExpiredBrokers(
            tracker: &harness.tracker, now: harness.now)
        #expect(result.response == [1, 2])
        harness.commit(result.records)
        #expect(harness.partition("p", 0).leader == 3)
        #expect(harness.partition("p", 0).inSyncReplicas == [3])
        let leaders = result.records.compactMap { record -> Int32? in
            if case .partitionChange(let change) = record, change.leader != -2 { return change.leader }
            return nil
        }
        #expect(!leaders.contains(2))
    }

    @Test func aNewActiveControllerGivesEveryBrokerAFreshSession() {
        // Flow:
        // 1. Brokers 1 and 2 registered and unfenced; the last heartbeats were at t = 1000.
        // 2. A new controller becomes active at t = 50000 with an empty tracker rebuilt from the image.
        // 3. No broker expires until 9000 ms after activation; then both do.
        // 4. A heartbeat after activation renews that broker's session only.
        var harness = ControllerHarness()
        harness.startBroker(1)
        harness.startBroker(2)
        var tracker = BrokerHeartbeatTracker(sessionTimeoutMs: 9_000)
        tracker.activate(image: harness.image, now: 50_000)
        #expect(tracker.expiredBrokers(image: harness.image, now: 59_000).isEmpty)
        #expect(tracker.hasValidSession(1, image: harness.image, now: 59_000))
        harness.tracker = tracker
        harness.now = 55_000
        harness.heartbeat(2)
        #expect(harness.tracker.expiredBrokers(image: harness.image, now: 59_001) == [1])
        #expect(harness.tracker.expiredBrokers(image: harness.image, now: 64_001) == [1, 2])
    }

    @Test func aBrokerRegisteredButNeverTrackedStartsItsSessionAtActivation() {
        // Flow:
        // 1. An image with broker 1 unfenced; a tracker activated at t = 100 before broker 1 existed in it.
        // 2. Broker 1 has a session from t = 100: valid at 9100, expired at 9101, then fenced by the check.
        var harness = ControllerHarness()
        harness.startBroker(1)
        let tracker = BrokerHeartbeatTracker(sessionTimeoutMs: 9_000, now: 100)
        #expect(tracker.hasValidSession(1, image: harness.image, now: 9_100))
        #expect(tracker.expiredBrokers(image: harness.image, now: 9_101) == [1])
        var expiring = tracker
        let result = ClusterControl(image: harness.image).fenceExpiredBrokers(tracker: &expiring, now: 9_101)
        harness.commit(result.records)
        #expect(harness.image.brokerRegistrations[1]?.isFenced == true)
        #expect(expiring.expiredBrokers(image: harness.image, now: 99_999).isEmpty)
    }
}
