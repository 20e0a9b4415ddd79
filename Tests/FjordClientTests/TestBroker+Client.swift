import FjordClient
import FjordTestSupport
import Foundation
import Logging

extension TestBroker {
    /// A client configuration for this broker with short timeouts suited to tests.
    func clientConfiguration() -> ClientConfiguration {
        var configuration = ClientConfiguration(bootstrapServers: bootstrap)
        configuration.requestTimeout = .seconds(15)
        configuration.retryBackoff = .milliseconds(50)
        if ProcessInfo.processInfo.environment["FJORD_CLIENT_DEBUG"] != nil {
            configuration.logger = Logger(
                label: "fjord.client", factory: { label in StreamLogHandler.standardError(label: label) })
            configuration.logger.logLevel = .trace
        }
        return configuration
    }
}

/// Runs a `Service` (producer, consumer) in a child task while `body` runs, then closes it and waits for it.
func withRunning<S: Sendable, T>(
    _ service: S, run: @escaping @Sendable (S) async throws -> Void, close: @escaping @Sendable (S) async -> Void,
    _ body: (S) async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await run(service) }
        let result: T
        do {
            result = try await body(service)
        } catch {
            await close(service)
            group.cancelAll()
            throw error
        }
        await close(service)
        try await group.waitForAll()
        return result
    }
}
