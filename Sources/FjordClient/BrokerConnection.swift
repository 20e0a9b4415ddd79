import FjordSecurity
import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// One TCP connection to one broker: frames requests, assigns correlation ids, limits requests in flight, and knows
/// which version of each API both sides speak (negotiated with ApiVersions when the connection opens).
public final class BrokerConnection: Sendable {
    /// The broker's node id, or nil for a bootstrap connection opened before metadata named it.
    public let brokerID: Int32?
    /// Where the connection goes.
    public let address: BrokerAddress
    /// The versions the broker serves, per API key.
    public let brokerVersions: [Int16: ClosedRange<Int16>]

    private let channel: any Channel
    private let clientID: String
    private let requestTimeout: Duration
    private let limiter: InFlightLimiter
    private let nextCorrelationID = NIOLockedValueBox<Int32>(1)

    private init(
        channel: any Channel, brokerID: Int32?, address: BrokerAddress, configuration: ClientConfiguration,
        brokerVersions: [Int16: ClosedRange<Int16>], renewBy: ContinuousClock.Instant? = nil
    ) {
        self.renewBy = renewBy
        self.channel = channel
        self.brokerID = brokerID
        self.address = address
        self.clientID = configuration.clientID
        self.requestTimeout = configuration.requestTimeout
        self.limiter = InFlightLimiter(limit: configuration.maxInFlightPerConnection)
        self.brokerVersions = brokerVersions
    }

    /// When a SASL session must be renewed (a little before the broker's session lifetime ends); nil: never.
    private let renewBy: ContinuousClock.Instant?

    /// Whether the socket is still open (and its SASL session not about to end: then a new connection replaces it).
    public var isActive: Bool { channel.isActive && renewBy.map { ContinuousClock.now < $0 } ?? true }

    /// Opens a connection and negotiates API versions.
    static func connect(
        to address: BrokerAddress, brokerID: Int32?, configuration: ClientConfiguration,
        group: any EventLoopGroup
    ) async throws -> BrokerConnection {
        let maxFrame = configuration.maxResponseBytes
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.nanoseconds(Int64(configuration.connectTimeout.nanoseconds)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tls = configuration.tls {
                            // An IP address is checked against the certificate's IP names, a host name against its
                            // DNS names (SNI carries only host names).
                            let isAddress = address.host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
                            try channel.pipeline.syncOperations.addHandler(
                                try NIOSSLClientHandler(
                                    context: tls.context, serverHostname: isAddress ? nil : address.host))
                        }
                        try channel.pipeline.syncOperations.addHandler(
                            ByteToMessageHandler(KafkaFrameDecoder.responses(maximumFrameBytes: maxFrame))
                        )
                        try channel.pipeline.syncOperations.addHandler(
                            RequestResponseHandler(brokerID: brokerID, address: address)
                        )
                    }
                }
                .connect(host: address.host, port: address.port)
                .get()
        } catch {
            throw ClientError(.connection, "cannot connect to \(address)", broker: brokerID, cause: error)
        }
        let bare = BrokerConnection(
            channel: channel, brokerID: brokerID, address: address, configuration: configuration, brokerVersions: [:]
        )
        do {
            let versions = try await bare.negotiateVersions()
            var renewBy: ContinuousClock.Instant?
            if let sasl = configuration.sasl {
                let lifetimeMs = try await bare.authenticate(sasl, versions: versions)
                // Renew at 85% of the lifetime, as Kafka's clients re-authenticate between 85% and 95% of it.
                if lifetimeMs > 0 { renewBy = .now + .milliseconds(lifetimeMs * 85 / 100) }
            }
            return BrokerConnection(
                channel: channel, brokerID: brokerID, address: address, configuration: configuration,
                brokerVersions: versions, renewBy: renewBy
            )
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Asks the broker which versions it serves: first in ApiVersions v3 (flexible); a broker that does not speak
    /// it answers UNSUPPORTED_VERSION in v0, and the client asks again in v0.
    private func negotiateVersions() async throws -> [Int16: ClosedRange<Int16>] {
        var request = ApiVersionsRequest()
        request.clientSoftwareName = "fjord-client"
        request.clientSoftwareVersion = "0.1.0"
        var response = try await send(request, version: 3)
        if ErrorCode(rawValue: response.errorCode) == .unsupportedVersion {
            let fallback = response.apiKeys.first { $0.apiKey == ApiVersionsRequest.apiKey.rawValue }
            let version = min(fallback?.maxVersion ?? 0, 3)
            response = try await send(request, version: version)
        }
        if let error = ClientError.kafka(response.errorCode, "ApiVersions failed", broker: brokerID) { throw error }
        var versions: [Int16: ClosedRange<Int16>] = [:]
        for key in response.apiKeys where key.minVersion <= key.maxVersion {
            versions[key.apiKey] = key.minVersion...key.maxVersion
        }
        return versions
    }

    /// SaslHandshake v1, then SaslAuthenticate (v0–v2, as the broker serves it) until the exchange is done; the
    /// session lifetime the broker gave (ms, 0 for none). A refusal is `.authentication`, not retriable.
    private func authenticate(_ sasl: SaslAuthentication, versions: [Int16: ClosedRange<Int16>]) async throws -> Int64 {
        func refused(_ message: String) -> ClientError {
            ClientError(
                .authentication, message, kafkaError: .saslAuthenticationFailed, isRetriable: false, broker: brokerID)
        }
        let handshake = try await send(SaslHandshakeRequest(mechanism: sasl.mechanism.rawValue), version: 1)
        if handshake.errorCode != 0 {
            throw refused(
                "SASL handshake for \(sasl.mechanism) refused by \(address) (error \(handshake.errorCode)); it offers "
                    + "\(handshake.mechanisms.joined(separator: ", "))")
        }
        let version = min(versions[SaslAuthenticateRequest.apiKey.rawValue]?.upperBound ?? 0, 2)
        var exchange = SaslClientExchange(mechanism: sasl.mechanism, credentials: sasl.credentials)
        var step = exchange.start()
        var lifetimeMs: Int64 = 0
        while case .respond(let token) = step {
            let response = try await send(
                SaslAuthenticateRequest(authBytes: ByteBuffer(bytes: token)), version: version)
            if response.errorCode != 0 {
                throw refused(
                    "SASL authentication as \(sasl.mechanism) failed at \(address): "
                        + (response.errorMessage ?? "error \(response.errorCode)"))
            }
            lifetimeMs = response.sessionLifetimeMs
            step = exchange.evaluate(Array(response.authBytes.readableBytesView))
        }
        if case .failed(let reason) = step { throw refused("SASL authentication at \(address): \(reason)") }
        return lifetimeMs
    }

    /// The highest version of `R` that both this client and the broker speak.
    public func version<R: KafkaRequest>(for type: R.Type) throws -> Int16 {
        let ours = ClientVersions.supported(R.self)
        guard let theirs = brokerVersions[R.apiKey.rawValue] else {
            throw ClientError(
                .unsupportedVersion, "broker at \(address) does not serve \(R.apiKey.name)", isRetriable: false,
                broker: brokerID
            )
        }
        let high = min(ours.upperBound, theirs.upperBound)
        guard high >= max(ours.lowerBound, theirs.lowerBound) else {
            throw ClientError(
                .unsupportedVersion,
                "no common version of \(R.apiKey.name): client \(ours), broker \(theirs)", isRetriable: false,
                broker: brokerID
            )
        }
        return high
    }

    /// Sends `request` in the negotiated version (or `version`) and returns the decoded response.
    public func send<R: KafkaRequest>(_ request: R, version: Int16? = nil, timeout: Duration? = nil) async throws
        -> R.Response
    {
        let version = try version ?? self.version(for: R.self)
        var frame = try await exchange(request, version: version, expectResponse: true, timeout: timeout)!
        do {
            _ = try ResponseHeader(from: &frame, version: R.responseHeaderVersion(for: version))
            return try R.Response(from: &frame, version: version)
        } catch {
            throw ClientError(
                .protocolViolation, "cannot decode \(R.apiKey.name) v\(version) response from \(address)",
                isRetriable: false, broker: brokerID, cause: error
            )
        }
    }

    /// Sends a request that gets no response (Produce with acks=0); returns once it is written.
    public func sendWithoutResponse<R: KafkaRequest>(_ request: R, version: Int16? = nil) async throws {
        let version = try version ?? self.version(for: R.self)
        _ = try await exchange(request, version: version, expectResponse: false, timeout: nil)
    }

    private func exchange<R: KafkaRequest>(
        _ request: R, version: Int16, expectResponse: Bool, timeout: Duration?
    ) async throws -> ByteBuffer? {
        let correlationID = nextCorrelationID.withLockedValue { id -> Int32 in
            defer { id = id == Int32.max ? 1 : id + 1 }
            return id
        }
        var frame = channel.allocator.buffer(capacity: 256)
        frame.writeInteger(Int32(0))
        RequestHeader(
            requestApiKey: R.apiKey.rawValue, requestApiVersion: version, correlationID: correlationID,
            clientID: clientID
        ).write(to: &frame, version: R.requestHeaderVersion(for: version))
        request.write(to: &frame, version: version)
        frame.setInteger(Int32(frame.readableBytes - 4), at: frame.readerIndex)

        await limiter.acquire()
        defer { limiter.release() }
        guard channel.isActive else {
            throw ClientError(.connection, "connection to \(address) is closed", broker: brokerID)
        }
        let promise = expectResponse ? channel.eventLoop.makePromise(of: ByteBuffer.self) : nil
        let wait = timeout ?? requestTimeout
        let outbound = OutboundRequest(
            frame: frame, correlationID: correlationID, response: promise,
            timeout: .nanoseconds(Int64(wait.nanoseconds)), label: "\(R.apiKey.name) v\(version)"
        )
        let written = channel.eventLoop.makePromise(of: Void.self)
        let address = self.address
        let brokerID = self.brokerID
        written.futureResult.whenFailure { error in
            promise?.fail(ClientError(.connection, "cannot write to \(address)", broker: brokerID, cause: error))
        }
        channel.writeAndFlush(outbound, promise: written)
        guard let promise else {
            do {
                try await written.futureResult.get()
            } catch {
                throw ClientError(.connection, "cannot write to \(address)", broker: brokerID, cause: error)
            }
            return nil
        }
        // A failed write fails `promise` (above): one wait per request instead of two.
        return try await promise.futureResult.get()
    }

    /// Closes the socket; requests still waiting fail with `.connection`.
    public func close() async {
        try? await channel.close()
    }
}

extension Duration {
    /// The duration in whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        return product &+ attoseconds / 1_000_000_000
    }

    /// The duration in whole milliseconds, clamped to Int32 (the wire's `...Ms` fields).
    var millisecondsInt32: Int32 {
        Int32(clamping: nanoseconds / 1_000_000)
    }
}
