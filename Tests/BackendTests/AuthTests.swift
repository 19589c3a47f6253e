import Crypto
import Foundation
import LoftTestSupport
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

/// Issued challenges as a value, with the test's clock.
@Suite struct IssuedChallengesTests {
    static func policy(lifetimeMs: Int64 = 1000, maxOutstanding: Int = 10) -> IssuedChallenges.Policy {
        var policy = IssuedChallenges.Policy()
        policy.lifetimeMs = lifetimeMs
        policy.maxOutstanding = maxOutstanding
        return policy
    }

    @Test func usableOnceWithinItsLifetime() {
        var c = IssuedChallenges(policy: Self.policy(), processID: 42)
        let a = c.issue(hostname: "mail.example", nowMs: 5_000)
        let b = c.issue(hostname: "mail.example", nowMs: 5_000)
        #expect(a != b && a.hasPrefix("<42.5.") && a.hasSuffix("@mail.example>"))
        #expect(c.take(a, nowMs: 5_999) != nil)  // taken and not given back: used up
        #expect(c.take(a, nowMs: 5_999) == nil)
        #expect(c.take(b, nowMs: 6_000) == nil)  // expired
        #expect(c.take("<1.2.3.4@mail.example>", nowMs: 5_000) == nil)  // never issued
    }

    @Test func takenMeansUnavailableUntilGivenBack() {
        var c = IssuedChallenges(policy: Self.policy())
        let a = c.issue(hostname: "h", nowMs: 0)
        let first = c.take(a, nowMs: 0)
        #expect(first != nil)
        #expect(c.take(a, nowMs: 0) == nil)  // a concurrent second attempt
        c.failed(a, first!)
        #expect(c.take(a, nowMs: 0) != nil)
    }

    @Test func failedAttemptsAreBounded() {
        var c = IssuedChallenges(policy: Self.policy())
        let a = c.issue(hostname: "h", nowMs: 0)
        for _ in 0..<c.policy.maxAttempts {
            let taken = c.take(a, nowMs: 0)
            #expect(taken != nil)
            if let taken { c.failed(a, taken) }
        }
        #expect(c.take(a, nowMs: 0) == nil)
    }

    @Test func oldestDroppedAtTheBound() {
        var c = IssuedChallenges(policy: Self.policy(maxOutstanding: 3))
        let issued = (0..<4).map { _ in c.issue(hostname: "h", nowMs: 0) }
        #expect(c.issued.count == 3)
        #expect(c.take(issued[0], nowMs: 0) == nil)
        for challenge in issued.dropFirst() { #expect(c.take(challenge, nowMs: 0) != nil) }
    }

    @Test func expiredOnesAreForgotten() {
        var c = IssuedChallenges(policy: Self.policy(lifetimeMs: 1000))
        for n in 0..<5 { _ = c.issue(hostname: "h", nowMs: Int64(n)) }
        _ = c.issue(hostname: "h", nowMs: 10_000)
        #expect(c.issued.count == 1)
    }

    @Test(arguments: [("mail.example.org", true), ("", false), ("a b", false), ("x>y", false), ("h@h", false), ("mx-1.example", true)])
    func hostnames(name: String, valid: Bool) {
        #expect(IssuedChallenges.isValidHostname(name) == valid)
    }
}

/// Logins through the back-end's sockets, with an injected clock.
/// The limit only catches a hang: scrypt at cost 15 on two cores shared with builds can take
/// most of a minute for one test.
@Suite(.timeLimit(.minutes(3))) struct AuthSocketTests {
    /// The shared harness on a clock the test moves, with `example.test` added.
    final class Harness: Sendable {
        let base: BackendHarness
        let clock: ManualClock
        var dir: String { base.dir }
        var backend: Backend { base.backend }
        var admin: RPCClient { base.admin }
        var gateway: RPCClient { base.gateway }
        init(configure: (inout BackendConfig) -> Void = { _ in }) async throws {
            let clock = ManualClock(startMs: 1_000_000_000)
            self.clock = clock
            base = try await BackendHarness(clock: clock, configure: configure)
            _ = try await admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        }
        func advance(ms: Int64) { clock.advance(byMs: ms) }
        func close() async { await base.close() }
        func challenge() async throws -> String {
            try await gateway.call(Methods.authChallenge, ChallengeParams(service: "pop3", hostname: "mail.example.test")).challenge
        }
    }

    static func apop(_ timestamp: String, _ secret: String) -> String {
        apopDigest(timestamp: timestamp, secret: secret)
    }

    static func cram(_ challenge: String, _ secret: String) -> String {
        cramDigest(challenge: challenge, secret: secret)
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

    @Test func apopChallengeIsUsableOnceAndOnlyWhileFresh() async throws {
        let h = try await Harness()
        _ = try await h.admin.call(
            Methods.accountAdd, AccountAddParams(address: "bob@example.test", password: "bob-pw", apopSecret: "bob-apop"))
        let ts = try await h.challenge()
        #expect(ts.hasSuffix("@mail.example.test>"))
        let params = APOPParams(username: "bob@example.test", timestamp: ts, digest: Self.apop(ts, "bob-apop"))
        _ = try await h.gateway.call(Methods.authAPOP, params)
        // The same digest again: a replay.
        let replay = await Self.refusal { _ = try await h.gateway.call(Methods.authAPOP, params) }
        #expect(replay?.is(.authFailed) == true)
        // A timestamp the back-end never issued.
        let madeUp = "<1896.697170952@mail.example.test>"
        let forged = await Self.refusal {
            _ = try await h.gateway.call(
                Methods.authAPOP, APOPParams(username: "bob@example.test", timestamp: madeUp, digest: Self.apop(madeUp, "bob-apop")))
        }
        #expect(forged?.is(.authFailed) == true)
        // One issued, but answered after ten minutes.
        let old = try await h.challenge()
        h.advance(ms: 10 * 60 * 1000)
        let late = await Self.refusal {
            _ = try await h.gateway.call(
                Methods.authAPOP, APOPParams(username: "bob@example.test", timestamp: old, digest: Self.apop(old, "bob-apop")))
        }
        #expect(late?.is(.authFailed) == true)
        await h.close()
    }

    /// A failed attempt gives the challenge back (a POP3 client may send APOP again over its
    /// greeting), three in all; a success uses it up.
    @Test func cramChallengeAllowsAFewAttemptsAndOneSuccess() async throws {
        let h = try await Harness()
        _ = try await h.admin.call(
            Methods.accountAdd, AccountAddParams(address: "bob@example.test", password: "bob-pw", apopSecret: "bob-apop"))
        let cram = { (challenge: String, secret: String) async -> RPCError? in
            await Self.refusal {
                _ = try await h.gateway.call(
                    Methods.authCRAMMD5,
                    CRAMMD5Params(username: "bob@example.test", challenge: challenge, digest: Self.cram(challenge, secret)))
            }
        }
        let ch = try await h.challenge()
        #expect(await cram(ch, "nope")?.is(.authFailed) == true)
        #expect(await cram(ch, "bob-apop") == nil)
        #expect(await cram(ch, "bob-apop")?.is(.authFailed) == true)  // used up
        await h.close()
    }

    @Test func threeFailedAttemptsUseAChallengeUp() async throws {
        let h = try await Harness()
        _ = try await h.admin.call(
            Methods.accountAdd, AccountAddParams(address: "bob@example.test", password: "bob-pw", apopSecret: "bob-apop"))
        let ts = try await h.challenge()
        for _ in 0..<3 {
            let wrong = await Self.refusal {
                _ = try await h.gateway.call(
                    Methods.authAPOP,
                    APOPParams(username: "bob@example.test", timestamp: ts, digest: Self.apop(ts, "nope")))
            }
            #expect(wrong?.is(.authFailed) == true)
        }
        h.advance(ms: 5_000)  // past the throttle's first delay, well within the challenge's lifetime
        let right = await Self.refusal {
            _ = try await h.gateway.call(
                Methods.authAPOP, APOPParams(username: "bob@example.test", timestamp: ts, digest: Self.apop(ts, "bob-apop")))
        }
        #expect(right?.is(.authFailed) == true)
        await h.close()
    }

    @Test func unknownChallengesCountAsFailedLogins() async throws {
        let h = try await Harness()
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "alice-pw"))
        for _ in 0..<3 {
            _ = await Self.refusal {
                _ = try await h.gateway.call(
                    Methods.authCRAMMD5, CRAMMD5Params(username: "alice@example.test", challenge: "<1.2@x>", digest: "00"))
            }
        }
        let throttled = await Self.refusal {
            _ = try await h.gateway.call(Methods.authLogin, LoginParams(username: "alice@example.test", password: "alice-pw"))
        }
        #expect(throttled?.is(.authThrottled) == true)
        await h.close()
    }

    @Test func mechanismsFollowTheAccounts() async throws {
        let h = try await Harness()
        #expect(try await h.gateway.call(Methods.authMechanisms, Empty()).challengeResponse == false)
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "alice-pw"))
        #expect(try await h.gateway.call(Methods.authMechanisms, Empty()).challengeResponse == false)
        _ = try await h.admin.call(
            Methods.accountAdd, AccountAddParams(address: "bob@example.test", password: "bob-pw", apopSecret: "bob-apop"))
        #expect(try await h.gateway.call(Methods.authMechanisms, Empty()).challengeResponse == true)
        _ = try await h.admin.call(Methods.accountUpdate, AccountUpdateParams(address: "bob@example.test", enabled: false))
        #expect(try await h.gateway.call(Methods.authMechanisms, Empty()).challengeResponse == false)
        _ = try await h.admin.call(Methods.accountUpdate, AccountUpdateParams(address: "bob@example.test", enabled: true))
        #expect(try await h.gateway.call(Methods.authMechanisms, Empty()).challengeResponse == true)
        _ = try await h.admin.call(Methods.accountRemove, AddressParams(address: "bob@example.test"))
        #expect(try await h.gateway.call(Methods.authMechanisms, Empty()).challengeResponse == false)
        await h.close()
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
