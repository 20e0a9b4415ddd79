import Glibc
import Logging
import NIOConcurrencyHelpers

/// How the client libraries log under the command line: warnings and worse to standard error (set `FJORD_LOG_LEVEL`
/// for more), and every error-level event counted, so a command can fail when records were lost in the background.
enum CLILogging {
    /// Error-level events logged by the client since start.
    static let errors = NIOLockedValueBox<[String]>([])

    /// The logger handed to FjordClient configurations.
    static var clientLogger: Logger {
        Logger(label: "fjord.client") { label in
            CountingHandler(inner: StreamLogHandler.standardError(label: label))
        }
    }

    private struct CountingHandler: LogHandler {
        var inner: StreamLogHandler

        init(inner: StreamLogHandler) {
            self.inner = inner
            let name = ProcessInfoLevel.current
            self.inner.logLevel = name
        }

        var metadata: Logger.Metadata {
            get { inner.metadata }
            set { inner.metadata = newValue }
        }

        var logLevel: Logger.Level {
            get { .trace }
            set {}
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { inner[metadataKey: key] }
            set { inner[metadataKey: key] = newValue }
        }

        func log(event: LogEvent) {
            if event.level >= .error {
                var text = "\(event.message)"
                if let metadata = event.metadata, !metadata.isEmpty {
                    text +=
                        " " + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                }
                CLILogging.errors.withLockedValue { $0.append(text) }
            }
            if event.level >= inner.logLevel { inner.log(event: event) }
        }
    }
}

/// The level from `FJORD_LOG_LEVEL` (default `critical`: the commands report failures themselves).
private enum ProcessInfoLevel {
    static var current: Logger.Level {
        guard let raw = getenvString("FJORD_LOG_LEVEL"), let level = Logger.Level(rawValue: raw) else {
            return .critical
        }
        return level
    }
}

private func getenvString(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}
