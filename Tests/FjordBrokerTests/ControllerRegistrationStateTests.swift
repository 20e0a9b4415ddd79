import FjordController
import KafkaProtocol
import Testing

@testable import FjordBroker

/// When a controller (re)registers with the active controller (KIP-919, `ControllerRegistrationState`).
@Suite struct ControllerRegistrationStateTests {
    static let request = ControllerRegistrationRequest(
        controllerID: 1, incarnationID: KafkaUUID(high: 1, low: 2), zkMigrationReady: false,
        listeners: [.init(name: "CONTROLLER", host: "127.0.0.1", port: 9093, securityProtocol: 0)],
        features: [.init(name: MetadataVersion.featureName, minSupportedVersion: 7, maxSupportedVersion: 25)])

    static func image(registering request: ControllerRegistrationRequest?) -> MetadataImage {
        var image = MetadataImage(clusterID: "c", controllerID: 1, brokers: [])
        image.replay(.featureLevel(FeatureLevelRecord(name: MetadataVersion.featureName, featureLevel: 25)), offset: 0)
        if let request {
            image.replay(
                .registerController(
                    RegisterControllerRecord(
                        controllerID: request.controllerID, incarnationID: request.incarnationID,
                        endPoints: request.listeners.map {
                            .init(name: $0.name, host: $0.host, port: $0.port, securityProtocol: $0.securityProtocol)
                        })), offset: 1)
        }
        return image
    }

    @Test func theImageDecidesWhetherTheRegistrationIsCurrent() {
        let request = Self.request
        #expect(
            ControllerRegistrationState.registration(of: request, in: Self.image(registering: nil)) == .missingOrStale)
        #expect(ControllerRegistrationState.registration(of: request, in: Self.image(registering: request)) == .current)
        var otherIncarnation = request
        otherIncarnation.incarnationID = KafkaUUID(high: 9, low: 9)
        #expect(
            ControllerRegistrationState.registration(of: request, in: Self.image(registering: otherIncarnation))
                == .missingOrStale)
        var movedListener = request
        movedListener.listeners[0].port = 19093
        #expect(
            ControllerRegistrationState.registration(of: request, in: Self.image(registering: movedListener))
                == .missingOrStale)
    }

    /// Flow: 1. nothing leaves before catching up or below 3.7-IV0; 2. one request at a time; 3. an acknowledgement
    /// waits `imageWaitMs` for the image before sending again; 4. no controller reached: retried after the backoff;
    /// 5. refusals back off exponentially, capped; an acknowledgement resets it.
    @Test func whenARegistrationLeaves() {
        var state = ControllerRegistrationState(retryBackoffMs: 100, maximumBackoffMs: 1000, imageWaitMs: 5000)
        func due(_ now: Int64, caughtUp: Bool = true, supported: Bool = true) -> Bool {
            state.isDue(now: now, caughtUp: caughtUp, versionSupportsIt: supported, registration: .missingOrStale)
        }
        #expect(!due(0, caughtUp: false))
        #expect(!due(0, supported: false))
        #expect(!state.isDue(now: 0, caughtUp: true, versionSupportsIt: true, registration: .current))
        #expect(due(0))
        state.sent()
        #expect(!due(0))
        state.answered(ErrorCode.none, now: 10)
        #expect(state.acknowledged == 1)
        #expect(!due(5009) && due(5010))
        state.sent()
        state.answered(nil, now: 6000)
        #expect(!due(6099) && due(6100))
        state.sent()
        state.answered(.notController, now: 7000)
        #expect(state.lastError == .notController && due(7100))
        var waits = [Int64]()
        var now: Int64 = 10_000
        for _ in 0..<6 {
            state.sent()
            state.answered(.unsupportedVersion, now: now)
            var next = now
            while !due(next) { next += 1 }
            waits.append(next - now)
            now = next
        }
        #expect(waits == [100, 200, 400, 800, 1000, 1000])
        state.sent()
        state.answered(ErrorCode.none, now: now)
        #expect(state.failures == 0 && state.lastError == nil)
    }
}

/// The leader's append-to-commit times (`CommitLatencyTracker`, Kafka's commit-latency-avg / -max).
@Suite struct CommitLatencyTrackerTests {
    /// Flow: 1. two batches appended, the high watermark passes the first: one sample; 2. then the second;
    /// 3. a truncated batch and a role change's pending ones are never sampled; 4. the windows: samples older than
    /// two windows leave the stats, the totals keep them.
    @Test func samplesFromAppendToCommit() {
        var tracker = CommitLatencyTracker(windowMicros: 1_000_000)
        tracker.appended(lastOffset: 4, now: 1_000)
        tracker.appended(lastOffset: 9, now: 2_000)
        tracker.committed(highWatermark: 5, now: 4_000)
        #expect(tracker.stats(now: 4_000) == .init(count: 1, sumMicros: 3_000, maxMicros: 3_000))
        tracker.committed(highWatermark: 5, now: 5_000)
        #expect(tracker.stats(now: 5_000).count == 1)
        tracker.committed(highWatermark: 10, now: 12_000)
        let stats = tracker.stats(now: 12_000)
        #expect(stats == .init(count: 2, sumMicros: 13_000, maxMicros: 10_000))
        #expect(stats.averageMs == 6.5 && stats.maxMs == 10)

        tracker.appended(lastOffset: 12, now: 13_000)
        tracker.appended(lastOffset: 15, now: 13_500)
        tracker.truncated(toEndOffset: 13)
        tracker.committed(highWatermark: 20, now: 14_000)
        #expect(tracker.stats(now: 14_000).count == 3)
        tracker.appended(lastOffset: 30, now: 15_000)
        tracker.forgetPending()
        tracker.committed(highWatermark: 40, now: 16_000)
        #expect(tracker.total.count == 3)

        #expect(tracker.stats(now: 1_500_000).count == 3)
        #expect(tracker.stats(now: 2_500_000).count == 0)
        #expect(tracker.stats(now: 2_500_000).averageMs == nil)
        #expect(tracker.total.count == 3)
    }

    @Test func pendingBatchesAreBounded() {
        var tracker = CommitLatencyTracker(pendingMax: 3)
        for offset in Int64(0)..<10 { tracker.appended(lastOffset: offset, now: offset) }
        #expect(tracker.pending.map(\.lastOffset) == [7, 8, 9])
        tracker.appended(lastOffset: 8, now: 20)
        #expect(tracker.pending.map(\.lastOffset) == [7, 8])
    }

    /// The scrape's gauges: none without samples; avg and max in ms.
    @Test func gauges() {
        #expect(BrokerMetrics.commitLatencyGauges(.init()).isEmpty)
        let gauges = BrokerMetrics.commitLatencyGauges(.init(count: 4, sumMicros: 10_000, maxMicros: 4_000))
        #expect(gauges[ScrapeSeries("fjord_metadata_quorum_commit_latency_avg_ms")] == 2.5)
        #expect(gauges[ScrapeSeries("fjord_metadata_quorum_commit_latency_max_ms")] == 4)
    }
}
