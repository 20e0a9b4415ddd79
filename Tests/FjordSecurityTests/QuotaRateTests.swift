import Testing

@testable import FjordSecurity

/// Kafka's quota arithmetic: rates over sampled windows, the throttle that brings a client back to its quota, and
/// which entity's quota applies.
@Suite struct QuotaRateTests {
    @Test func aNewClientIsMeasuredOverAtLeastTheWindowsButOne() {
        var rate = QuotaRate(windows: 11, windowMs: 1000)
        rate.record(5_000_000, now: 100_000)
        // 5 MB at once: judged over 10 s, 500 KB/s — within a 1 MB/s quota.
        #expect(rate.rate(now: 100_000) == 500_000)
        #expect(rate.throttleMs(quota: 1_000_000, now: 100_000) == 0)
        rate.record(10_000_000, now: 100_500)
        // 15 MB over 10 s = 1.5 MB/s: (1.5 - 1) / 1 × 10 s = 5 s.
        #expect(rate.throttleMs(quota: 1_000_000, now: 100_500) == 5000)
    }

    @Test func oldWindowsExpireAndTheThrottleIsCappedAtTheWholeSpan() {
        var rate = QuotaRate(windows: 2, windowMs: 1000)
        rate.record(100_000_000, now: 10_000)
        #expect(rate.throttleMs(quota: 1_000, now: 10_000) == 2000)
        #expect(rate.rate(now: 12_000) == 0)
        #expect(rate.throttleMs(quota: 1_000, now: 12_000) == 0)
    }

    @Test func theMostSpecificEntityComesFirst() {
        let order = ClientQuotaEntity.precedence(user: "alice", clientID: "app")
        #expect(
            order.map(\.description) == [
                "user=alice,client-id=app", "user=alice,client-id=<default>", "user=alice",
                "user=<default>,client-id=app", "user=<default>,client-id=<default>", "user=<default>",
                "client-id=app", "client-id=<default>",
            ])
    }

    @Test func quotaValuesAreChecked() {
        #expect(ClientQuotaKey.producerByteRate.problem(1_048_576) == nil)
        #expect(ClientQuotaKey.producerByteRate.problem(1.5) != nil)
        #expect(ClientQuotaKey.consumerByteRate.problem(0) != nil)
        #expect(ClientQuotaKey.requestPercentage.problem(12.5) == nil)
        #expect(ClientQuotaKey.controllerMutationRate.problem(-1) != nil)
    }
}
