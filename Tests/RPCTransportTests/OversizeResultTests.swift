import Foundation
import Logging
import NIOCore
import NIOPosix
import RPCProtocol
import Testing

@testable import RPCTransport

/// A result too large for one line is answered with `line_too_long`, and the connection (which
/// a gateway shares between many sessions) goes on working.
@Suite(.timeLimit(.minutes(1))) struct OversizeResultTests {
    struct Dispatcher: RPCDispatcher {
        func dispatch(_ request: RPCRequest, connection: RPCConnection, responder: RPCResponder) {
            if let text = try? request.params(MailboxParams.self).mailbox, text == "big" {
                responder.succeed(["padding": String(repeating: "x", count: RPCLimits.maxLineBytes)])
            } else {
                responder.succeed(Empty())
            }
        }
    }

    @Test func anOversizeResultIsAnErrorAndTheConnectionLives() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("loft-oversize-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gateway.sock").path
        let server = try await RPCServer.bind(
            path: path, role: .gateway, group: MultiThreadedEventLoopGroup.singleton, dispatcher: Dispatcher(),
            identity: RPCServerIdentity(server: "test", capabilities: []), logger: Logger(label: "test"))
        let client = RPCClient(path: path, software: "test")
        do {
            _ = try await client.call(Methods.mailboxStatus, MailboxStatusParams(session: "s", mailbox: "big"))
            Issue.record("expected line_too_long")
        } catch {
            #expect(error.kind == "line_too_long")
        }
        _ = try await client.call(Methods.ping, Empty())
        await client.close()
        await server.close()
    }
}
