import Foundation
import LoftTestSupport
import NIOCore
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// The back-end in process, over its real sockets in a temporary directory, through the same
/// RPCClient the gateways use.
@Suite(.timeLimit(.minutes(1))) struct BackendSocketTests {
    typealias Harness = BackendHarness

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
        // Each call must throw, and with the refusal itself: any other error (or none) fails.
        let domainAdd = await #expect(throws: RPCError.self) {
            _ = try await h.gateway.call(Methods.domainAdd, DomainParams(name: "x.test"))
        }
        #expect(domainAdd?.is(.permissionDenied) == true)
        let accountList = await #expect(throws: RPCError.self) {
            _ = try await h.gateway.call(Methods.accountList, ListParams())
        }
        #expect(accountList?.is(.permissionDenied) == true)
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
        let again = try Backend(config: BackendHarness.configuration(h.dir))
        try await again.listen()
        _ = try await h.admin.call(Methods.ping, Empty())
        await h.admin.close()
        await h.gateway.close()
        await again.shutdown()
    }
}
