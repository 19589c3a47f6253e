import Crypto
import Foundation
import NIOConcurrencyHelpers
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// The auth cache as a value, with the test's clock.
@Suite struct AuthCacheTests {
    static func cache(entries: Int = 10, lifetimeMs: Int64 = 1000) -> AuthCache {
        AuthCache(policy: AuthCache.Policy(lifetimeMs: lifetimeMs, maxEntries: entries))
    }

    @Test func hitAndWrongPassword() {
        var c = Self.cache()
        #expect(!c.contains(accountID: 1, generation: 0, password: "pw", nowMs: 0))
        c.insert(accountID: 1, generation: 0, password: "pw", nowMs: 0)
        #expect(c.contains(accountID: 1, generation: 0, password: "pw", nowMs: 999))
        #expect(!c.contains(accountID: 1, generation: 0, password: "pW", nowMs: 1))
        #expect(!c.contains(accountID: 2, generation: 0, password: "pw", nowMs: 1))
        #expect(!c.contains(accountID: 1, generation: 1, password: "pw", nowMs: 1))  // a new generation
    }

    @Test func expiry() {
        var c = Self.cache(lifetimeMs: 1000)
        c.insert(accountID: 1, generation: 0, password: "pw", nowMs: 5000)
        #expect(c.contains(accountID: 1, generation: 0, password: "pw", nowMs: 5999))
        #expect(!c.contains(accountID: 1, generation: 0, password: "pw", nowMs: 6000))
    }

    @Test func oldestEvictedAtTheBound() {
        var c = Self.cache(entries: 3)
        for id in 1...3 { c.insert(accountID: Int64(id), generation: 0, password: "pw", nowMs: 0) }
        #expect(c.entries.count == 3)
        c.insert(accountID: 1, generation: 0, password: "pw", nowMs: 1)  // refreshed: now the newest
        c.insert(accountID: 4, generation: 0, password: "pw", nowMs: 2)
        #expect(c.entries.count == 3)
        #expect(!c.contains(accountID: 2, generation: 0, password: "pw", nowMs: 2))
        for id in [1, 3, 4] { #expect(c.contains(accountID: Int64(id), generation: 0, password: "pw", nowMs: 2)) }
        for id in 5..<1000 { c.insert(accountID: Int64(id), generation: 0, password: "pw", nowMs: 3) }
        #expect(c.entries.count == 3)
    }

    @Test func forgetDropsOnlyThatAccount() {
        var c = Self.cache()
        c.insert(accountID: 1, generation: 0, password: "a", nowMs: 0)
        c.insert(accountID: 1, generation: 0, password: "b", nowMs: 0)
        c.insert(accountID: 2, generation: 0, password: "a", nowMs: 0)
        c.forget(accountID: 1)
        #expect(!c.contains(accountID: 1, generation: 0, password: "a", nowMs: 0))
        #expect(!c.contains(accountID: 1, generation: 0, password: "b", nowMs: 0))
        #expect(c.contains(accountID: 2, generation: 0, password: "a", nowMs: 0))
    }

    @Test func keysDifferPerProcess() {
        let a = Self.cache()
        let b = Self.cache()
        #expect(a.tag(accountID: 1, generation: 0, password: "pw") != b.tag(accountID: 1, generation: 0, password: "pw"))
    }
}

/// Logins through the back-end's sockets, with an injected clock.
@Suite(.timeLimit(.minutes(1))) struct AuthSocketTests {
    final class Harness: Sendable {
        let dir: String
        let backend: Backend
        let admin: RPCClient
        let gateway: RPCClient
        let now = NIOLockedValueBox<Int64>(1_000_000_000)
        init(configure: (inout BackendConfig) -> Void = { _ in }) async throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-test-\(UUID().uuidString)").path
            var config = BackendConfig(dataDirectory: dir)
            config.passwordHashLog2Cost = 4
            config.scramIterations = 16
            configure(&config)
            let now = self.now
            backend = try Backend(config: config, clock: { now.withLockedValue { $0 } })
            try await backend.listen()
            admin = RPCClient(path: dir + "/admin.sock", software: "test")
            gateway = RPCClient(path: dir + "/gateway.sock", software: "test")
            _ = try await admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        }
        func advance(ms: Int64) { now.withLockedValue { $0 += ms } }
        func close() async {
            await admin.close()
            await gateway.close()
            await backend.shutdown()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    static func apop(_ timestamp: String, _ secret: String) -> String {
        Insecure.MD5.hash(data: Data((timestamp + secret).utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func cram(_ challenge: String, _ secret: String) -> String {
        HMAC<Insecure.MD5>.authenticationCode(for: Data(challenge.utf8), using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// The RPC error a call fails with, or nil when it succeeds.
    static func refusal(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch let error as RPCError {
            return error
        } catch {
            Issue.record("not an RPC error: \(error)")
            return RPCError(.internalError, "\(error)")
        }
    }

    /// The cache in the back-end: a repeated login is a hit; a password change, disabling and
    /// removal end it; a wrong password after a success is still refused and still counted.
    @Test func cachedLogins() async throws {
        let h = try await Harness()
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "alice-pw"))
        let login = { (password: String) async throws(RPCError) -> SessionResult in
            try await h.gateway.call(Methods.authLogin, LoginParams(username: "alice@example.test", password: password))
        }
        _ = try await login("alice-pw")
        #expect(h.backend.authCache.withLockedValue { $0.entries.count } == 1)
        _ = try await login("alice-pw")
        for _ in 0..<3 {
            let wrong = await Self.refusal { _ = try await login("wrong") }
            #expect(wrong?.is(.authFailed) == true)
        }
        let throttled = await Self.refusal { _ = try await login("alice-pw") }
        #expect(throttled?.is(.authThrottled) == true)  // a cached password does not skip the throttle
        h.advance(ms: 60 * 60 * 1000)
        _ = try await login("alice-pw")
        _ = try await h.admin.call(Methods.accountUpdate, AccountUpdateParams(address: "alice@example.test", password: "new-pw"))
        #expect(h.backend.authCache.withLockedValue { $0.entries.count } == 0)
        let old = await Self.refusal { _ = try await login("alice-pw") }
        #expect(old?.is(.authFailed) == true)
        _ = try await login("new-pw")
        _ = try await h.admin.call(Methods.accountUpdate, AccountUpdateParams(address: "alice@example.test", enabled: false))
        #expect(h.backend.authCache.withLockedValue { $0.entries.count } == 0)
        let disabled = await Self.refusal { _ = try await login("new-pw") }
        #expect(disabled?.is(.accountDisabled) == true)
        _ = try await h.admin.call(Methods.accountUpdate, AccountUpdateParams(address: "alice@example.test", enabled: true))
        _ = try await login("new-pw")
        #expect(h.backend.authCache.withLockedValue { $0.entries.count } == 1)
        _ = try await h.admin.call(Methods.accountRemove, AddressParams(address: "alice@example.test"))
        #expect(h.backend.authCache.withLockedValue { $0.entries.count } == 0)
        await h.close()
    }

    /// Logins beyond the password pool's queue are refused at once, temporarily.
    @Test func passwordQueueIsBounded() async throws {
        let h = try await Harness {
            $0.passwordHashLog2Cost = 14
            $0.passwordThreads = 1
            $0.passwordQueueLimit = 2
        }
        let outcomes = await withTaskGroup(of: RPCError?.self) { group in
            for i in 0..<8 {
                group.addTask {
                    await Self.refusal {
                        _ = try await h.gateway.call(Methods.authLogin, LoginParams(username: "nobody\(i)@example.test", password: "x"))
                    }
                }
            }
            var all: [RPCError?] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let overloaded = outcomes.compactMap { $0 }.filter { $0.is(.overloaded) }
        #expect(overloaded.count >= 1)
        #expect(overloaded.allSatisfy { $0.data?.temporary == true })
        #expect(outcomes.compactMap { $0 }.filter { $0.is(.authFailed) }.count >= 2)
        await h.close()
    }

    /// A burst of slow password checks (unknown accounts cost a full scrypt at the configured
    /// cost) leaves the worker threads free: deliveries complete while logins are still queued.
    @Test func slowLoginsDoNotDelayDeliveries() async throws {
        let h = try await Harness {
            $0.passwordHashLog2Cost = 15
            $0.passwordThreads = 1
            $0.workerThreads = 2
        }
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "pw"))
        let finishedLogins = NIOLockedValueBox(0)
        let logins = 12
        let burst = Task {
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<logins {
                    group.addTask {
                        _ = await Self.refusal {
                            _ = try await h.gateway.call(Methods.authLogin, LoginParams(username: "nobody\(i)@example.test", password: "x"))
                        }
                        finishedLogins.withLockedValue { $0 += 1 }
                    }
                }
            }
        }
        // Long enough for every login to reach the back-end, short against one check's cost.
        try await Task.sleep(for: .milliseconds(500))
        for n in 0..<5 {
            let started = try await h.gateway.call(
                Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: ["alice@example.test"]))
            _ = try await h.gateway.call(
                Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array("Subject: \(n)\r\n\r\n.\r\n".utf8)))
            )
            let committed = try await h.gateway.call(Methods.uploadCommit, UploadParams(upload: started.upload))
            #expect(committed.recipients?.first?.status == .delivered)
        }
        // Were logins and deliveries sharing threads, the deliveries would wait behind the queued
        // logins, and most of those would be done by now.
        #expect(finishedLogins.withLockedValue { $0 } < logins / 2)
        await burst.value
        #expect(finishedLogins.withLockedValue { $0 } == logins)
        await h.close()
    }
}
