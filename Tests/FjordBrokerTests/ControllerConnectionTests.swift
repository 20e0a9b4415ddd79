import KafkaProtocol
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing

@testable import FjordBroker

/// A connection to a peer controller whose stream went silent — the peer reads the requests but no answer ever
/// comes back, as through a middlebox that dropped bytes — is ended by the first request timeout: the next request
/// connects afresh and is answered. Kept open, the dead connection swallowed every heartbeat after a network cut
/// healed (a broker stayed fenced).
@Suite struct ControllerConnectionTests {
    /// Answers every request frame with an empty body, unless silent: then it reads and answers nothing.
    final class PeerHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let isSilent: Bool

        init(isSilent: Bool) { self.isSilent = isSilent }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            guard !isSilent, let correlationID = frame.getInteger(at: frame.readerIndex + 4, as: Int32.self) else {
                return
            }
            var answer = context.channel.allocator.buffer(capacity: 8)
            answer.writeInteger(Int32(4))
            answer.writeInteger(correlationID)
            context.writeAndFlush(wrapOutboundOut(answer), promise: nil)
        }
    }

    @Test func aRequestTimeoutEndsTheConnectionAndTheNextRequestReconnects() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let accepted = NIOLockedValueBox(0)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let number = accepted.withLockedValue { count -> Int in
                    count += 1
                    return count
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(
                            KafkaFrameDecoder(minimumFrameBytes: 8, maximumFrameBytes: 1 << 20, limitName: "test")))
                    try channel.pipeline.syncOperations.addHandler(PeerHandler(isSilent: number == 1))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let connection = ControllerConnection(
            nodeID: 2, host: "127.0.0.1", port: server.localAddress!.port!, group: group, clientID: "test",
            logger: Logger(label: "test"))
        var failure: (any Error)?
        do {
            // The first connection is silent: the request times out.
            await #expect(throws: ConnectionFailure.self) {
                _ = try await connection.send(ApiVersionsRequest(), version: 0, timeout: .milliseconds(200)).get()
            }
            // The next one goes over a new connection, which answers.
            let body = try await connection.send(ApiVersionsRequest(), version: 0, timeout: .seconds(10)).get()
            #expect(body.readableBytes == 0)
            #expect(accepted.withLockedValue { $0 } == 2)
        } catch {
            failure = error
        }
        connection.close()
        try await server.close()
        try await group.shutdownGracefully()
        if let failure { throw failure }
    }

    /// A peer that accepts each connection and closes it at once (a proxy refusing traffic during a network cut):
    /// every request fails — connected, queued while connecting or written as the channel closes — and none is left
    /// waiting. A lost one stopped a broker's heartbeats for good.
    @Test func everyRequestCompletesWhenThePeerClosesEachConnectionAtOnce() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in channel.close() }
            .bind(host: "127.0.0.1", port: 0).get()
        var configuration = ControllerConnection.Configuration()
        configuration.reconnectBackoff = .milliseconds(1)
        configuration.reconnectBackoffMax = .milliseconds(1)
        let connection = ControllerConnection(
            nodeID: 2, host: "127.0.0.1", port: server.localAddress!.port!, group: group, clientID: "test",
            configuration: configuration, logger: Logger(label: "test"))
        let failed = NIOLockedValueBox(0)
        let succeeded = NIOLockedValueBox(0)
        for _ in 0..<2000 {
            connection.send(ApiVersionsRequest(), version: 0, timeout: .seconds(600)).whenComplete { result in
                switch result {
                case .success: succeeded.withLockedValue { $0 += 1 }
                case .failure: failed.withLockedValue { $0 += 1 }
                }
            }
        }
        // Each fails within the connect timeout and backoffs; one left waiting would wait out its 600 s timeout.
        for _ in 0..<300 where failed.withLockedValue({ $0 }) < 2000 {
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(failed.withLockedValue { $0 } == 2000)
        #expect(succeeded.withLockedValue { $0 } == 0)
        connection.close()
        try await server.close()
        try await group.shutdownGracefully()
    }
}
