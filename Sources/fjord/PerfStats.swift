import Foundation
import Histogram
import NIOConcurrencyHelpers

/// Counts, bytes and a latency histogram (microseconds, HdrHistogram) shared by a perf run's workers and its
/// progress reporter.
final class PerfStats: Sendable {
    private struct State {
        var records = 0
        var bytes = 0
        var errors = 0
        var firstError: String?
        var latency = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
    }

    private let state: NIOLockedValueBox<State>
    let started = ContinuousClock.now

    init() {
        var initial = State()
        initial.latency.autoResize = true
        state = NIOLockedValueBox(initial)
    }

    func record(bytes: Int, latencyMicros: UInt64?) {
        state.withLockedValue { state in
            state.records += 1
            state.bytes += bytes
            if let latencyMicros { _ = state.latency.record(max(latencyMicros, 1)) }
        }
    }

    func failed(_ error: any Error) {
        state.withLockedValue { state in
            state.errors += 1
            if state.firstError == nil { state.firstError = "\(error)" }
        }
    }

    var records: Int { state.withLockedValue { $0.records } }
    var errors: Int { state.withLockedValue { $0.errors } }
    var firstError: String? { state.withLockedValue { $0.firstError } }

    /// A snapshot for the progress line and the summary.
    struct Snapshot {
        var records: Int
        var bytes: Int
        var errors: Int
        var elapsed: Double
        var latency: Histogram<UInt64>

        var recordsPerSecond: Double { elapsed > 0 ? Double(records) / elapsed : 0 }
        var megabytesPerSecond: Double { elapsed > 0 ? Double(bytes) / 1_048_576 / elapsed : 0 }

        func millis(_ percentile: Double) -> Double {
            latency.totalCount == 0 ? 0 : Double(latency.valueAtPercentile(percentile)) / 1000
        }

        var progressLine: String {
            String(
                format: "%d records, %.1f records/s, %.2f MB/s, p50 %.2f ms, p99 %.2f ms%@", records, recordsPerSecond,
                megabytesPerSecond, millis(50), millis(99), errors > 0 ? ", \(errors) errors" : ""
            )
        }
    }

    func snapshot() -> Snapshot {
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return state.withLockedValue {
            Snapshot(records: $0.records, bytes: $0.bytes, errors: $0.errors, elapsed: seconds, latency: $0.latency)
        }
    }
}

/// The live progress line: rewritten in place on a terminal, plain periodic lines otherwise (both on stderr, so
/// stdout carries only the summary).
struct PerfProgress {
    let stats: PerfStats
    let interval: Duration
    let isTerminal = Output.stderrIsTerminal

    func run() async {
        let every = isTerminal ? min(interval, .milliseconds(500)) : interval
        while !Task.isCancelled {
            do { try await Task.sleep(for: every) } catch { break }
            let line = stats.snapshot().progressLine
            if isTerminal {
                FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8))
            } else {
                Output.error(line)
            }
        }
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

/// The final summary of a perf run.
struct PerfSummary {
    var mode: String
    var topic: String
    var snapshot: PerfStats.Snapshot
    var latencyLabel: String

    var json: JSONValue {
        let s = snapshot
        let h = s.latency
        return .object([
            ("mode", .string(mode)),
            ("topic", .string(topic)),
            ("records", .int(s.records)),
            ("bytes", .int(s.bytes)),
            ("errors", .int(s.errors)),
            ("elapsed_s", .double(Self.round(s.elapsed))),
            ("records_per_s", .double(Self.round(s.recordsPerSecond))),
            ("mb_per_s", .double(Self.round(s.megabytesPerSecond))),
            ("latency", .string(latencyLabel)),
            (
                "latency_ms",
                .object([
                    ("count", .int(Int64(h.totalCount))),
                    ("min", .double(h.totalCount == 0 ? 0 : Self.round(Double(h.min) / 1000))),
                    ("mean", .double(h.totalCount == 0 ? 0 : Self.round(h.mean / 1000))),
                    ("p50", .double(Self.round(s.millis(50)))),
                    ("p95", .double(Self.round(s.millis(95)))),
                    ("p99", .double(Self.round(s.millis(99)))),
                    ("p99_9", .double(Self.round(s.millis(99.9)))),
                    ("max", .double(h.totalCount == 0 ? 0 : Self.round(Double(h.max) / 1000))),
                ])
            ),
        ])
    }

    static func round(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    func printText() {
        let s = snapshot
        let h = s.latency
        print(
            String(
                format: "%@ %@: %d records (%d errors) in %.2f s: %.1f records/s, %.2f MB/s", mode, topic, s.records,
                s.errors, s.elapsed, s.recordsPerSecond, s.megabytesPerSecond
            ))
        guard h.totalCount > 0 else { return }
        print(
            String(
                format: "%@ (ms): min %.3f, mean %.3f, p50 %.3f, p95 %.3f, p99 %.3f, p99.9 %.3f, max %.3f",
                latencyLabel,
                Double(h.min) / 1000, h.mean / 1000, s.millis(50), s.millis(95), s.millis(99), s.millis(99.9),
                Double(h.max) / 1000
            ))
    }
}
