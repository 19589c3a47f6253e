import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOPosix
import RPCProtocol
import Testing

@testable import RPCTransport

/// Every call ends — answered, failed or timed out — however the connection goes away
/// (issue 7: a call registered while the connection was being torn down waited for ever).
@Suite(.timeLimit(.minutes(1))) struct RPCClientTests {
    /// What a promise ended with, read without waiting (the embedded loop runs callbacks inline).
    static func outcome(_ promise: EventLoopPromise<ByteBuffer>) -> Result<ByteBuffer, any Error>? {
        let box = NIOLockedValueBox<Result<ByteBuffer, any Error>?>(nil)
        promise.futureResult.whenComplete { result in box.withLockedValue { $0 = result } }
        return box.withLockedValue { $0 }
    }

    static func isUnavailable(_ result: Result<ByteBuffer, any Error>?) -> Bool {
        guard case .failure(let error as RPCError) = result else { return false }
        return error.is(.unavailable)
    }

    @Test func aCallRegisteredAfterChannelInactiveFailsAtOnce() throws {
        let channel = EmbeddedChannel()
        let handler = RPCClientHandler(onNotification: nil, logger: Logger(label: "test"))
        try channel.pipeline.syncOperations.addHandler(handler)
        let before = channel.eventLoop.makePromise(of: ByteBuffer.self)
        handler.register(id: 1, promise: before, deadline: .seconds(60), method: "ping")
        // The back-end went away: channelInactive fails what is pending; the handler is still
        // in the pipeline until a later tick removes it.
        channel.pipeline.fireChannelInactive()
        #expect(Self.isUnavailable(Self.outcome(before)))
        let after = channel.eventLoop.makePromise(of: ByteBuffer.self)
        handler.register(id: 2, promise: after, deadline: .seconds(60), method: "ping")
        let ended = Self.outcome(after)
        #expect(Self.isUnavailable(ended), "a call registered between channelInactive and handlerRemoved must fail at once")
        if ended == nil { after.fail(RPCError(.internalError, "left pending by the handler")) }
        _ = try? channel.finish()
    }

    /// Closes every connection as soon as a call other than `hello` arrives, so each call races
    /// the teardown of the connection the previous one used.
    struct ClosingDispatcher: RPCDispatcher {
        func dispatch(_ request: RPCRequest, connection: RPCConnection, responder: RPCResponder) {
            connection.channel.close(promise: nil)
        }
    }

    @Test func callsRacingAConnectionThatCloses() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loft-closing-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gateway.sock").path
        let server = try await RPCServer.bind(
            path: path, role: .gateway, group: MultiThreadedEventLoopGroup.singleton, dispatcher: ClosingDispatcher(),
            identity: RPCServerIdentity(server: "test", capabilities: []), logger: Logger(label: "test"))
        let client = RPCClient(path: path, software: "test", timeout: .seconds(5))
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    for _ in 0..<25 {
                        do {
                            _ = try await client.call(Methods.ping, Empty())
                            Issue.record("the server never answers a ping")
                        } catch {
                            #expect((error as? RPCError)?.is(.unavailable) == true, "\(error)")
                        }
                    }
                }
            }
        }
        await client.close()
        await server.close()
    }
}
