import FjordStorage
import FjordTestSupport
import Foundation
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import Testing

@testable import FjordBroker

/// The lost wake-up of a long-polling fetch (issue 11, item 3). A fetch at the log end reads, finds nothing and
/// parks: it registers a waiter on the partition, which the next append wakes. An append that lands after the read
/// but before the registration wakes nobody; unless the fetch reads again after registering, it waits the full
/// `max_wait_ms` although a record is there. `FetchOperation` registers first and then reads once more.
///
/// The hammer: many rounds in which a fetch of 16 partitions at their log ends (max_wait_ms 30 s, min_bytes 1) starts
/// on an event loop while another thread appends one batch to one of them at about the same moment, each side after
/// its own small random delay (seeded: the seed is printed and FJORD_WAKEUP_SEED repeats a run's choices). Every
/// fetch must come back with the appended record well before max_wait_ms — within 10 s, however loaded the machine
/// (this checks correctness, not speed). A round whose fetch is stuck is reported, then released by a second append
/// so that nothing is left parked.
///
/// Does it catch the bug? Built from a scratch copy whose `FetchOperation.attempt` parks without reading again
/// (`swift build --scratch-path .build-wakeup`), every run failed: counted over whole runs of 2,000 rounds, 6 to 30
/// fetches per run lost their wake-up (about 1%; 9 in a run with a single partition), measured on a loaded 2-core
/// machine: even at the lowest rate seen, a run misses the bug with a chance well under 1%. With the fix, no fetch
/// ever waited.
@Suite struct LongPollWakeUpTests {
    private typealias H = BrokerHarness

    /// Rounds, and the time after which no new round starts (a slow machine runs fewer rounds; each still counts).
    static let rounds = 2_000
    static let budget: Duration = .seconds(60)
    /// The append's random delay after the go signal (ns): a little jitter. The fetch's delay follows how long an
    /// append takes on this machine and build (see the test).
    static let appendJitter: UInt64 = 2_000
    /// Partitions fetched together: the append goes to one of them. The more partitions a fetch reads before it
    /// registers its waiters, the longer the window in which an append can slip between.
    static let partitions: Int32 = 16

    /// Busy-waits `nanoseconds` (a sleep would be far coarser than the window being aimed at).
    @inline(never)
    static func spin(_ nanoseconds: UInt64) {
        let end = DispatchTime.now().uptimeNanoseconds + nanoseconds
        while DispatchTime.now().uptimeNanoseconds < end {}
    }

    /// The appending side: a thread that, each round, is armed (it wakes and spins, watching for the go signal), sees
    /// the fetch's go signal within a fraction of a microsecond, spins its own delay and appends one batch to the
    /// round's partition. Spinning on the signal instead of sleeping on a semaphore keeps the wake-up latency of the
    /// OS out of the timing.
    final class Appender: @unchecked Sendable {
        private struct Round {
            var replica: PartitionReplica?
            var delay: UInt64 = 0
            var value = ""
            var go = false
            var stop = false
            var outcome: PartitionAppendOutcome?
            var appendNanoseconds: UInt64 = 0
        }

        private let armed = DispatchSemaphore(value: 0)
        private let done = DispatchSemaphore(value: 0)
        private let round = NIOLockedValueBox(Round())

        init() {
            let thread = Thread { [self] in
                while true {
                    armed.wait()
                    if round.withLockedValue({ $0.stop }) { break }
                    // Armed: wait for the fetch's event loop to say go (bounded, in case the loop never runs it).
                    let giveUp = DispatchTime.now().uptimeNanoseconds + 10_000_000_000
                    while !round.withLockedValue({ $0.go }), DispatchTime.now().uptimeNanoseconds < giveUp {}
                    let (replica, delay, value) = round.withLockedValue { ($0.replica!, $0.delay, $0.value) }
                    LongPollWakeUpTests.spin(delay)
                    let batch = BrokerHarness.batch([value])
                    let appendStart = DispatchTime.now().uptimeNanoseconds
                    let outcome = replica.appendAsLeader(batch, now: Int64(Date().timeIntervalSince1970 * 1000))
                    let appendTime = DispatchTime.now().uptimeNanoseconds - appendStart
                    round.withLockedValue {
                        $0.outcome = outcome
                        $0.appendNanoseconds = appendTime
                    }
                    done.signal()
                }
                done.signal()
            }
            thread.name = "wake-up-appender"
            thread.start()
        }

        /// Arms the next round: the thread spins until `go()` (called on the fetch's event loop).
        func arm(_ replica: PartitionReplica, delay: UInt64, value: String) {
            round.withLockedValue { $0 = Round(replica: replica, delay: delay, value: value) }
            armed.signal()
        }

        func go() { round.withLockedValue { $0.go = true } }

        /// Waits for the round's append and returns its outcome and how long `appendAsLeader` took.
        func appended() -> (outcome: PartitionAppendOutcome?, nanoseconds: UInt64) {
            done.wait()
            return round.withLockedValue { ($0.outcome, $0.appendNanoseconds) }
        }

        func stop() {
            round.withLockedValue { $0.stop = true }
            armed.signal()
            done.wait()
        }
    }

    /// Flow, each round: 1. read every partition's log end; 2. arm the appender with a random partition and delay;
    /// 3. on the event loop, say go, wait the fetch's random delay and start a fetch of every partition at its log end
    /// (max_wait_ms 30 s, min_bytes 1), while the appender appends one batch to its partition; 4. the fetch must
    /// answer within 10 s with that record at that offset.
    @Test func aLongPollIsNeverLeftWaitingByAnAppendThatRacesItsParking() async throws {
        let seed =
            ProcessInfo.processInfo.environment["FJORD_WAKEUP_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 0...UInt64.max)
        print("LongPollWakeUpTests: seed \(seed) (FJORD_WAKEUP_SEED=\(seed) repeats these choices)")
        var random = SeededGenerator(seed: seed)
        try await H.withBroker { broker in
            try await broker.createTopic("race", partitions: Self.partitions)
            let replicas = try (0..<Self.partitions).map { try broker.replica("race", $0) }
            let services = broker.services
            let loop = broker.group.next()
            let appender = Appender()
            defer { appender.stop() }
            let started = ContinuousClock.now
            var completed = 0
            var slowest: Duration = .zero
            var appendTimes = [UInt64]()
            for round in 0..<Self.rounds {
                guard ContinuousClock.now - started < Self.budget else { break }
                let offsets = replicas.map(\.highWatermark)
                let target = Int(random.next(upperBound: UInt64(Self.partitions)))
                // Both sides start at the go signal. The append makes its record visible and wakes the waiters near
                // its end, so the fetch waits a random part of 0 to 1.2 times a typical append's duration (the median
                // of the recent ones): its reads and its registrations fall sometimes before, sometimes after, and
                // now and then on either side of that moment — the race —, whatever the speed of machine and build.
                let typical = appendTimes.isEmpty ? 50_000 : appendTimes.sorted()[appendTimes.count / 2]
                let fetchDelay = random.next(upperBound: typical * 6 / 5 + 1)
                let appendDelay = random.next(upperBound: Self.appendJitter)
                let request = H.fetchRequest(
                    (0..<Self.partitions).map { .init(topic: "race", partition: $0, offset: offsets[Int($0)]) },
                    maxWaitMs: 30_000, minBytes: 1
                )
                let context = broker.context(.fetch, version: 12, on: loop)
                let roundStart = ContinuousClock.now
                appender.arm(replicas[target], delay: appendDelay, value: "round-\(round)")
                let future = loop.flatSubmit {
                    appender.go()
                    Self.spin(fetchDelay)
                    return FetchHandler(services: services).respond(to: request, context: context)
                }
                let (outcome, appendTime) = appender.appended()
                appendTimes.append(appendTime)
                if appendTimes.count > 64 { appendTimes.removeFirst() }
                #expect(outcome?.error == ErrorCode.none, "round \(round): \(outcome?.errorMessage ?? "no append")")
                #expect(outcome?.baseOffset == offsets[target])
                let body: ResponseBody?
                do {
                    body = try await broker.wait(future, within: .seconds(10), "the fetch of round \(round)")
                } catch {
                    Issue.record(
                        """
                        round \(round) (seed \(seed)): the fetch was not woken by the append to partition \(target) at \
                        offset \(offsets[target]) that raced it
                        """)
                    // Release it (min_bytes 1 is met by any append) so that it does not outlive the test.
                    _ = replicas[target].appendAsLeader(
                        BrokerHarness.batch(["release"]), now: Int64(Date().timeIntervalSince1970 * 1000))
                    _ = try? await future.get()
                    break
                }
                slowest = max(slowest, ContinuousClock.now - roundStart)
                let response = try H.decode(try #require(body), as: FetchResponse.self, version: 12)
                let records = try H.records(in: response.data("race", partition: Int32(target))?.records)
                #expect(records.map(\.description) == ["\(offsets[target]):round-\(round)"], "round \(round)")
                completed += 1
            }
            let typical = appendTimes.isEmpty ? 0 : appendTimes.sorted()[appendTimes.count / 2]
            print(
                "LongPollWakeUpTests: \(completed) rounds in \(ContinuousClock.now - started), slowest answer \(slowest), typical append \(typical / 1000) µs"
            )
            #expect(completed >= 100, "too few rounds ran to mean anything")
            #expect(broker.parkedFetches == 0)
        }
    }
}
