import Foundation
import LoftTestSupport
import NIOCore
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

/// A login storm: the back-end refuses password checks beyond its queue (`overloaded`), and
/// the gateway waits and asks again rather than failing the login.
@Suite(.timeLimit(.minutes(1))) struct OverloadPatienceTests {
    final class Calls: @unchecked Sendable {
        let lock = NSLock()
        var count = 0
        func next() -> Int {
            lock.withLock {
                count += 1; return count
            }
        }
    }

    func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    @Test func overloadedIsAskedAgainOtherErrorsAreNot() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let table: [(String, RPCError?, Int, Bool)] = [
            // what the first two calls fail with, calls made, succeeds
            ("overloaded twice, then answered", RPCError(.overloaded, "busy", temporary: true), 3, true),
            ("a wrong password at once", RPCError(.authFailed, "no"), 1, false),
            ("unavailable at once", RPCError(.unavailable, "down", temporary: true), 1, false),
            ("no error", nil, 1, true),
        ]
        for (name, error, expectedCalls, succeeds) in table {
            let calls = Calls()
            let result = await outcome {
                try await BackendSession.patient(on: loop, giveUpAt: .now() + .seconds(10)) { () -> EventLoopFuture<Int> in
                    let n = calls.next()
                    if let error, n <= 2 { return loop.makeFailedFuture(error) }
                    return loop.makeSucceededFuture(n)
                }.get()
            }
            #expect(calls.count == expectedCalls, "\(name)")
            #expect(((try? result.get()) != nil) == succeeds, "\(name)")
        }
    }

    @Test func patienceEnds() async throws {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let calls = Calls()
        let result = await outcome {
            try await BackendSession.patient(on: loop, giveUpAt: .now() + .milliseconds(400)) { () -> EventLoopFuture<Int> in
                _ = calls.next()
                return loop.makeFailedFuture(RPCError(.overloaded, "busy", temporary: true))
            }.get()
        }
        #expect(throws: RPCError.self) { try result.get() }
        #expect(calls.count >= 2)
    }

    /// Twelve logins at once against one password thread with room for one waiting: every
    /// one succeeds (the back-end alone refuses most of them: AuthTests.passwordQueueIsBounded).
    @Test func aStormOfLoginsAllSucceed() async throws {
        try await withBackend(
            name: "loft-storm",
            configure: {
                $0.passwordThreads = 1; $0.passwordQueueLimit = 1
            }
        ) { h in
            try await h.addTestAccounts()
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let session = BackendSession(client: h.gateway, service: "test", clientAddress: ClientAddress(ip: "192.0.2.9"))
            let accounts = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await session.login(
                            .password(user: "alice@example.test", password: "alice-pw", authorizationIdentity: nil), on: loop
                        ).get().account
                    }
                }
                return try await group.reduce(into: [String]()) { $0.append($1) }
            }
            #expect(accounts.count == 12)
        }
    }
}

extension BackendSession.LoginFailure {
    var isThrottled: Bool {
        if case .throttled = self { true } else { false }
    }
}
