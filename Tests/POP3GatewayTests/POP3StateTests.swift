import MailCore
import NIOCore
import NIOEmbedded
import POP3Codec
import RPCProtocol
import Testing

@testable import POP3Gateway

/// The POP3 connection's state that is neither I/O nor protocol, without sockets.
@Suite struct POP3StateTests {
    static func page(_ uids: [UInt32], validity: UInt32 = 7, next: UInt32? = nil) -> MessageListResult {
        let messages = uids.map { uid in
            MessageSummary(uid: uid, flags: MessageFlags(), internalDate: 0, size: Int64(uid) * 100, modseq: 1)
        }
        return MessageListResult(uidValidity: validity, uidNext: 100, highestModseq: 1, messages: messages, nextAfterUid: next)
    }

    @Test func snapshotNumbersMessagesAcrossPagesInOrder() {
        var snapshot = POP3Snapshot()
        snapshot.add(Self.page([3, 5], next: 5))
        snapshot.add(Self.page([9]))
        #expect(snapshot.entries.map(\.uid) == ["7.3", "7.5", "7.9"])
        #expect(snapshot["7.9"] == POP3Snapshot.Message(uid: 9, number: 3, size: 900))
        #expect(snapshot["8.9"] == nil)
        #expect(snapshot.uids(of: ["7.5", "nope", "7.3"]) == [5, 3])
    }

    static func snapshot(_ count: UInt32, size: UInt32 = 10) -> POP3Snapshot {
        var snapshot = POP3Snapshot()
        snapshot.add(
            MessageListResult(
                uidValidity: 1, uidNext: count + 1, highestModseq: 1,
                messages: (1...count).map {
                    MessageSummary(uid: $0, flags: MessageFlags(), internalDate: 0, size: Int64(size), modseq: 1)
                }, nextAfterUid: nil))
        return snapshot
    }

    /// The next message after `n` in a maildrop of `count`, as POP3Session gives it.
    static func following(_ count: Int, deleted: Set<Int> = []) -> (Int) -> (number: Int, uid: String)? {
        { n in
            var next = n + 1
            while deleted.contains(next) { next += 1 }
            return next <= count ? (next, "1.\(next)") : nil
        }
    }

    @Test func readAheadPlansWithinItsBoundsAndTopsUpAtHalf() {
        var cache = POP3ReadAhead<Int>(maximumMessages: 4, maximumBytes: 35, chunkBytes: 1000)
        let snapshot = Self.snapshot(20)
        let first = cache.plan(after: 1, following: Self.following(20), snapshot: snapshot)
        // 10 bytes each, 35 in all: three fit.
        #expect(first.map(\.uid) == [2, 3, 4])
        let again = cache.plan(after: 1, following: Self.following(20), snapshot: snapshot)
        #expect(again.isEmpty)
        let taken = cache.take(2)
        #expect(taken?.serial == first[0].serial)
        // Two left (≤ half of 4): top up after the last one held, within the byte budget.
        let topUp = cache.plan(after: 2, following: Self.following(20), snapshot: snapshot)
        #expect(topUp.map(\.uid) == [5])
    }

    @Test func readAheadSkipsDeletedMessagesAndDropsWhatTheClientSkips() {
        var cache = POP3ReadAhead<Int>(maximumMessages: 8, maximumBytes: 1000, chunkBytes: 1000)
        let snapshot = Self.snapshot(10)
        let batch = cache.plan(after: 1, following: Self.following(10, deleted: [3, 4]), snapshot: snapshot)
        #expect(batch.map(\.uid) == [2, 5, 6, 7, 8, 9, 10])
        let kept = cache.complete(serial: batch[1].serial, .success(42))
        #expect(kept)
        let taken = cache.take(5)
        #expect(taken?.uid == 5)
        if case .success(42)? = taken?.result {} else { Issue.record("the answer was not kept") }
        #expect(cache.entries.map(\.uid) == [6, 7, 8, 9, 10])
        let skipped = cache.take(2)
        #expect(skipped == nil)
        #expect(cache.entries.isEmpty)
        let late = cache.complete(serial: batch[3].serial, .success(1))
        #expect(!late)
    }

    @Test func readAheadOffReadsNothing() {
        var cache = POP3ReadAhead<Int>(maximumMessages: 0, maximumBytes: 0, chunkBytes: 1000)
        let none = cache.plan(after: 0, following: Self.following(5), snapshot: Self.snapshot(5))
        #expect(none.isEmpty)
    }

    @Test func maildropLockRenewsEveryThirdOfTheLeaseUntilRenewalFails() {
        let loop = EmbeddedEventLoop()
        var renewals = 0
        var failNext = false
        var lost: (any Error)?
        let lock = MaildropLock(
            eventLoop: loop,
            renew: { token, _ in
                renewals += 1
                if failNext { return loop.makeFailedFuture(RPCError(.noSuchLock, "gone")) }
                return loop.makeSucceededFuture(LockInfo(lock: token, leaseMs: 30_000))
            },
            onLost: { lost = $0 })
        lock.acquired(LockInfo(lock: "L1", leaseMs: 30_000))
        loop.advanceTime(by: .seconds(9))
        #expect(renewals == 0)
        loop.advanceTime(by: .seconds(1))
        #expect(renewals == 1)
        loop.advanceTime(by: .seconds(10))
        #expect(renewals == 2)
        failNext = true
        loop.advanceTime(by: .seconds(10))
        #expect(renewals == 3 && lost != nil && lock.token == nil)
        loop.advanceTime(by: .seconds(60))
        #expect(renewals == 3)
    }

    @Test func relinquishedLockStopsRenewing() {
        let loop = EmbeddedEventLoop()
        var renewals = 0
        let lock = MaildropLock(
            eventLoop: loop,
            renew: { token, _ in
                renewals += 1
                return loop.makeSucceededFuture(LockInfo(lock: token, leaseMs: 3000))
            }, onLost: { _ in })
        lock.acquired(LockInfo(lock: "L2", leaseMs: 3000))
        #expect(lock.relinquish() == "L2")
        #expect(lock.relinquish() == nil)
        loop.advanceTime(by: .seconds(10))
        #expect(renewals == 0)
    }
}
