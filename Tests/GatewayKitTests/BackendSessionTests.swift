import LoftTestSupport
import NIOPosix
import RPCProtocol
import Testing

@testable import GatewayKit

/// BackendSession against a real in-process back-end: every login mechanism's failure means
/// one thing, and a session is refreshed without the password.
@Suite(.timeLimit(.minutes(1))) struct BackendSessionTests {
    @Test func loginsRefreshAndTheOneFailureClassification() async throws {
        try await withBackend(name: "loft-session") { h in
            try await h.addTestAccounts()
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let session = BackendSession(client: h.gateway, service: "test", clientAddress: ClientAddress(ip: "192.0.2.9"))
            let alice = try await session.login(
                .password(user: "alice@example.test", password: "alice-pw", authorizationIdentity: nil), on: loop
            ).get()
            #expect(alice.account == "alice@example.test")

            let refreshed = try await session.refresh(alice.session, on: loop).get()
            #expect(refreshed.account == alice.account && refreshed.expiresAt >= alice.expiresAt)
            #expect(!BackendSession.needsRefresh(refreshed, now: refreshed.expiresAt - 7 * 3600))
            #expect(BackendSession.needsRefresh(refreshed, now: refreshed.expiresAt - 5 * 3600))

            let wrong: [BackendSession.Credentials] = [
                .password(user: "alice@example.test", password: "nope", authorizationIdentity: nil),
                .password(user: "alice@example.test", password: "alice-pw", authorizationIdentity: "bob@example.test"),
                .apop(user: "bob@example.test", timestamp: "<made-up@example.test>", digest: String(repeating: "0", count: 32)),
                .password(user: "not an address", password: "x", authorizationIdentity: nil),
            ]
            for credentials in wrong {
                await #expect(throws: (any Error).self) { _ = try await session.login(credentials, on: loop).get() }
                do {
                    _ = try await session.login(credentials, on: loop).get()
                } catch {
                    #expect(BackendSession.loginFailure(error) == .rejected || BackendSession.loginFailure(error).isThrottled)
                }
            }
            #expect(BackendSession.loginFailure(RPCError(.unavailable, "down")) == .temporary)
            #expect(BackendSession.loginFailure(RPCError(.authThrottled, "wait", retryAfterMs: 1500)) == .throttled(retryAfterSeconds: 2))
        }
    }
}

extension BackendSession.LoginFailure {
    var isThrottled: Bool {
        if case .throttled = self { true } else { false }
    }
}
