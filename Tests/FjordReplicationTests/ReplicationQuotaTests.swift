import FjordReplication
import Testing

/// The replication quota's arithmetic (KIP-73): a rate over the recent windows, divided by at least all but one of
/// them, against the bound; unlimited by default.
@Suite struct ReplicationQuotaTests {
    @Test func unlimitedIsNeverExceeded() {
        var quota = ReplicationQuota()
        quota.record(1 << 30, now: 0)
        #expect(!quota.isExceeded(now: 1))
    }

    @Test func aBurstBeyondTheWindowsAllowanceIsHeldBackUntilTheRateFallsBelowTheBound() {
        // 100 bytes/s over 3 windows of a second: the elapsed time counts as at least 2 s.
        var quota = ReplicationQuota(bytesPerSecond: 100, windowCount: 3, windowMs: 1000)
        quota.record(150, now: 0)
        #expect(!quota.isExceeded(now: 10), "150 bytes over 2 s: 75/s")
        quota.record(100, now: 500)
        #expect(quota.isExceeded(now: 600), "250 bytes over 2 s: 125/s")
        #expect(quota.isExceeded(now: 2400), "still 250 bytes over 2.4 s")
        #expect(!quota.isExceeded(now: 2600), "250 bytes over 2.6 s: below 100/s")
        #expect(!quota.isExceeded(now: 3001), "the window of those bytes has passed")
    }

    @Test func oldWindowsStopCounting() {
        var quota = ReplicationQuota(bytesPerSecond: 100, windowCount: 2, windowMs: 1000)
        quota.record(1000, now: 0)
        #expect(quota.isExceeded(now: 100))
        #expect(!quota.isExceeded(now: 2000), "two windows later the bytes are forgotten")
        quota.record(50, now: 2100)
        #expect(!quota.isExceeded(now: 2200))
    }
}
