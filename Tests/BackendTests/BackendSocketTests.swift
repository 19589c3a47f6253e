import Foundation
import NIOCore
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// The back-end in process, over its real sockets in a temporary directory, through the same
/// RPCClient the gateways use.
@Suite(.timeLimit(.minutes(1))) struct BackendSocketTests {
    final class Harness {
        let dir: String
        let backend: Backend
        let admin: RPCClient
        let gateway: RPCClient
        init() async throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-test-\(UUID().uuidString)").path
            var config = BackendConfig(dataDirectory: dir)
            config.passwordHashLog2Cost = 4
            config.scramIterations = 16
            backend = try Backend(config: config)
            try await backend.listen()
            admin = RPCClient(path: dir + "/admin.sock", software: "test")
            gateway = RPCClient(path: dir + "/gateway.sock", software: "test")
        }
        func close() async {
            await admin.close()
            await gateway.close()
            await backend.shutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    @Test func deliverAndReadBack() async throws {
        let h = try await Harness()
        _ = try await h.admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "pw"))
        let message = Array("Subject: hi\r\n\r\nbody\r\n".utf8)
        let started = try await h.gateway.call(
            Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: ["alice@example.test"]))
        _ = try await h.gateway.call(
            Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(message)))
        let committed = try await h.gateway.call(Methods.uploadCommit, UploadParams(upload: started.upload))
        #expect(committed.recipients?.first?.status == .delivered)
        let session = try await h.gateway.call(Methods.authLogin, LoginParams(username: "alice@example.test", password: "pw")).session
        let read = try await h.gateway.call(Methods.messageRead, MessageReadParams(session: session, mailbox: "INBOX", uid: 1))
        #expect(read.data.bytes == Array("Return-Path: <s@remote.test>\r\n".utf8) + message)
        await h.close()
    }

    @Test func adminMethodsAreRefusedOnTheGatewaySocket() async throws {
        let h = try await Harness()
        await #expect(throws: RPCError.self) { _ = try await h.gateway.call(Methods.domainAdd, DomainParams(name: "x.test")) }
        do {
            _ = try await h.gateway.call(Methods.accountList, ListParams())
        } catch {
            #expect(error.is(.permissionDenied))
        }
        await h.close()
    }

    @Test func clientReconnectsAfterBackendRestart() async throws {
        let h = try await Harness()
        _ = try await h.admin.call(Methods.ping, Empty())
        await h.backend.shutdown()
        do {
            _ = try await h.admin.call(Methods.ping, Empty(), timeout: .seconds(2))
            Issue.record("expected the call to fail while the back-end is down")
        } catch {
            #expect(error.is(.unavailable) || error.is(.timeout))
        }
        var config = BackendConfig(dataDirectory: h.dir)
        config.passwordHashLog2Cost = 4
        let again = try Backend(config: config)
        try await again.listen()
        _ = try await h.admin.call(Methods.ping, Empty())
        await h.admin.close()
        await h.gateway.close()
        await again.shutdown()
    }
}
