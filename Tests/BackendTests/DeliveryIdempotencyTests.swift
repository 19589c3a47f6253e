import Foundation
import LoftTestSupport
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RPCProtocol
import RPCTransport
import Storage
import Testing

@testable import Backend

/// A delivery with an idempotency key is stored at most once, and `delivery.outcome` tells a
/// caller that lost the answer what the commit said (issue 7, Protocol/README §8).
@Suite(.timeLimit(.minutes(1))) struct DeliveryIdempotencyTests {
    /// The shared harness on a clock the test moves, with alice (`pw`) added.
    final class Harness: Sendable {
        let base: BackendHarness
        let clock: ManualClock
        var dir: String { base.dir }
        var backend: Backend { base.backend }
        var gateway: RPCClient { base.gateway }
        init() async throws {
            let clock = ManualClock(startMs: 1_800_000_000_000)
            self.clock = clock
            base = try await BackendHarness(clock: clock)
            _ = try await base.admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
            _ = try await base.admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "pw"))
        }
        func restart() async throws {
            try await base.restart()
        }
        func submit(_ key: String?, _ text: String = "Subject: once\r\n\r\nbody\r\n") async throws(RPCError) -> UploadCommitResult {
            try await gateway.call(
                Methods.deliverySubmit,
                DeliverySubmitParams(
                    sender: "s@remote.test", recipients: ["alice@example.test"], data: Base64Data(Array(text.utf8)), idempotencyKey: key))
        }
        func outcome(_ key: String) async throws(RPCError) -> DeliveryOutcomeResult {
            try await gateway.call(Methods.deliveryOutcome, DeliveryOutcomeParams(idempotencyKey: key))
        }
        func messageCount() async throws -> Int {
            let session = try await gateway.call(Methods.authLogin, LoginParams(username: "alice@example.test", password: "pw")).session
            return try await gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX")).messages.count
        }
        func close() async {
            await base.close()
        }
    }

    @Test func theSameKeyTwiceStoresOneCopy() async throws {
        let h = try await Harness()
        let first = try await h.submit("k1")
        #expect(try await h.submit("k1") == first)
        // begin/append/commit with a key that a submit committed: nothing stored either.
        let started = try await h.gateway.call(
            Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: ["alice@example.test"], idempotencyKey: "k1"))
        _ = try await h.gateway.call(
            Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array("x\r\n".utf8))))
        #expect(try await h.gateway.call(Methods.uploadCommit, UploadParams(upload: started.upload)) == first)
        #expect(try await h.messageCount() == 1)
        // Without a key every delivery is stored.
        _ = try await h.submit(nil)
        _ = try await h.submit(nil)
        #expect(try await h.messageCount() == 3)
        await h.close()
    }

    @Test func concurrentCommitsWithOneKeyStoreOneCopy() async throws {
        let h = try await Harness()
        let results = try await withThrowingTaskGroup(of: UploadCommitResult.self) { group in
            for _ in 0..<16 { group.addTask { try await h.submit("raced") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(results.map(\.sha256)).count == 1)
        #expect(results.allSatisfy { $0 == results[0] })
        #expect(try await h.messageCount() == 1)
        await h.close()
    }

    @Test func outcomesSurviveARestartAndUnknownKeysAreNotCommitted() async throws {
        let h = try await Harness()
        let first = try await h.submit("kept")
        #expect(try await h.outcome("kept") == DeliveryOutcomeResult(committed: true, result: first))
        try await h.restart()
        #expect(try await h.outcome("kept") == DeliveryOutcomeResult(committed: true, result: first))
        #expect(try await h.outcome("unknown") == DeliveryOutcomeResult(committed: false))
        #expect(try await h.submit("kept") == first)
        #expect(try await h.messageCount() == 1)
        await h.close()
    }

    @Test(arguments: ["", String(repeating: "k", count: 129), "é", "a\nb", "\u{7F}"])
    func malformedKeysAreInvalidParams(_ key: String) async throws {
        let h = try await Harness()
        do {
            _ = try await h.submit(key)
            Issue.record("delivery.submit accepted \(key.debugDescription)")
        } catch {
            #expect(error.is(.invalidParams) && error.data?.field == "idempotencyKey", "\(error)")
        }
        do {
            _ = try await h.outcome(key)
            Issue.record("delivery.outcome accepted \(key.debugDescription)")
        } catch {
            #expect(error.is(.invalidParams) && error.data?.field == "idempotencyKey", "\(error)")
        }
        #expect(try await h.submit(String(repeating: "~", count: 128)).recipients?.first?.status == .delivered)
        await h.close()
    }

    @Test func outcomesAreKeptADayThenPruned() async throws {
        let h = try await Harness()
        let old = try await h.submit("old")
        h.clock.advance(bySeconds: SQLiteStore.deliveryOutcomeRetention)
        _ = try await h.submit("day-later")
        #expect(try await h.outcome("old") == DeliveryOutcomeResult(committed: true, result: old), "kept for 24 hours")
        h.clock.advance(bySeconds: 1)
        _ = try await h.submit("later-still")
        #expect(try await h.outcome("old") == DeliveryOutcomeResult(committed: false), "pruned by a later commit")
        #expect(try await h.outcome("day-later").committed)
        await h.close()
    }

    /// A delivery being committed: `delivery.outcome` waits until its transaction has ended.
    @Test func outcomeWaitsForACommitInProgress() async throws {
        let h = try await Harness()
        h.backend.deliveriesInFlight.begin("slow")
        let answered = NIOLockedValueBox(false)
        let asking = Task {
            defer { answered.withLockedValue { $0 = true } }
            return try await h.outcome("slow")
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!answered.withLockedValue { $0 }, "answered while the commit was in progress")
        h.backend.deliveriesInFlight.end("slow")
        #expect(try await asking.value == DeliveryOutcomeResult(committed: false))
        await h.close()
    }
}

/// The registry behind `delivery.outcome`'s wait, without a back-end.
@Suite struct InFlightDeliveriesTests {
    func waitResult(_ registry: InFlightDeliveries, _ key: String, timeout: TimeAmount, during: @Sendable () -> Void = {}) async -> Bool {
        await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            registry.wait(key, timeout: timeout, on: MultiThreadedEventLoopGroup.singleton.next()) { c.resume(returning: $0) }
            during()
        }
    }

    @Test func nothingInFlightAnswersAtOnce() async {
        #expect(await waitResult(InFlightDeliveries(), "k", timeout: .hours(1)))
    }

    @Test func theEndOfTheLastCommitWakesEveryWaiter() async {
        let registry = InFlightDeliveries()
        registry.begin("k")
        registry.begin("k")
        async let a = waitResult(registry, "k", timeout: .hours(1))
        async let b = waitResult(registry, "k", timeout: .hours(1))
        try? await Task.sleep(for: .milliseconds(50))
        registry.end("k")
        #expect(registry.isInFlight("k"), "one of the two commits is still running")
        registry.end("k")
        let (first, second) = await (a, b)
        #expect(first && second)
        #expect(!registry.isInFlight("k"))
        #expect(registry.state.withLockedValue { $0.entries.isEmpty })
    }

    @Test func aCommitThatOutlastsTheWaitTimesOut() async {
        let registry = InFlightDeliveries()
        registry.begin("k")
        #expect(await waitResult(registry, "k", timeout: .milliseconds(20)) == false)
        #expect(registry.state.withLockedValue { $0.entries["k"]?.waiters.isEmpty } == true, "the timed-out waiter is gone")
        registry.end("k")
        #expect(!registry.isInFlight("k"))
    }
}
