import Backend
import Foundation
import LoftTestSupport
import NIOPosix
import RPCProtocol
import RPCTransport
import Testing

@testable import GatewayKit

/// Event routing against a real in-process back-end on its sockets: events arrive as an async
/// sequence, and a back-end restart is survived with a `.resync` and then new events.
@Suite(.timeLimit(.minutes(1))) struct EventRouterTests {
    static func startBackend(_ dir: String) async throws -> Backend {
        let backend = try Backend(config: BackendHarness.configuration(dir))
        try await backend.listen()
        return backend
    }

    static func deliver(_ client: RPCClient, _ subject: String) async throws {
        let message = Base64Data(Array("Subject: \(subject)\r\n\r\nbody\r\n".utf8))
        _ = try await client.call(
            Methods.deliverySubmit,
            DeliverySubmitParams(sender: "s@remote.test", recipients: ["alice@example.test"], data: message))
    }

    @Test func eventsArriveAndSurviveABackEndRestart() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-events-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var backend = try await Self.startBackend(dir)
        let admin = RPCClient(path: dir + "/admin.sock", software: "test")
        let delivery = RPCClient(path: dir + "/gateway.sock", software: "test")
        let clients = BackendClients(
            socketPath: dir + "/gateway.sock", software: "events-test", connections: 1, group: MultiThreadedEventLoopGroup.singleton)
        _ = try await admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        _ = try await admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "pw"))
        let (client, router) = clients.assignWithEvents()
        let session = try await client.call(Methods.authLogin, LoginParams(username: "alice@example.test", password: "pw"))

        let subscription = try await router.subscribe(session: session.session)
        var events = subscription.makeAsyncIterator()
        try await Self.deliver(delivery, "one")
        guard case .changed(let first)? = await events.next() else {
            Issue.record("no event for the first delivery")
            return
        }
        #expect(first.kind == .messageAdded && first.mailbox == "INBOX" && first.uids == [1])

        await backend.shutdown()
        backend = try await Self.startBackend(dir)
        // The router notices the lost connection, subscribes again by itself, and says so.
        #expect(await events.next() == .resync)
        try await Self.deliver(delivery, "two")
        guard case .changed(let second)? = await events.next() else {
            Issue.record("no event after the restart")
            return
        }
        #expect(second.kind == .messageAdded && second.uids == [2])

        #expect(router.count == 1)
        subscription.cancelSubscription()
        #expect(router.count == 0)
        #expect(await events.next() == nil)

        await clients.close()
        await admin.close()
        await delivery.close()
        await backend.shutdown()
    }

    @Test func aSubscribeAnsweredAfterItsConnectionWentIsNotBound() async throws {
        let router = EventRouter()
        let (_, continuation) = AsyncStream<BackendEvent>.makeStream()
        router.state.withLockedValue { $0.entries[1] = EventRouter.Entry(session: "s", mailbox: nil, continuation: continuation) }
        router.connectionLost()
        router.bind(1, to: 42, generation: 0)
        #expect(router.state.withLockedValue { $0.entries[1]?.backendID } == nil)
        #expect(router.state.withLockedValue { $0.localID[42] } == nil)
        router.bind(1, to: 43, generation: 1)
        #expect(router.state.withLockedValue { $0.entries[1]?.backendID } == 43)
        router.close()
    }
}
