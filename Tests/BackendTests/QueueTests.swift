import Foundation
import LoftTestSupport
import MailMessage
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// The outbound queue through the relay's socket (Protocol/README §15), on a clock the test
/// moves: leases, reads, reports, retries, lease expiry, lifetime, delay warnings, and the
/// notifications each stores for the sender. No sleeping.
@Suite(.timeLimit(.minutes(1))) struct QueueTests {
    static let message = Array(
        ("From: Alice <alice@example.test>\r\nTo: x@remote.test\r\nSubject: Out\r\nMessage-ID: <out-1@example.test>\r\n\r\n"
            + "Going out.\r\n").utf8)

    static func harness() async throws -> BackendHarness {
        let h = try await BackendHarness(name: "loft-queue", clock: ManualClock()) { config in
            config.queuePolicy = .init(retry: [300, 600], lifetime: 86_400, delayWarning: 3600)
        }
        try await h.addTestAccounts()
        return h
    }

    /// Alice (signed in, so she may relay) sends to `recipients`.
    @discardableResult
    static func send(
        _ h: BackendHarness, to recipients: [String], from sender: String = "alice@example.test"
    ) async throws -> UploadCommitResult {
        try await h.gateway.call(
            Methods.deliverySubmit,
            DeliverySubmitParams(
                sender: sender, recipients: recipients, data: Base64Data(message), session: try await h.session("alice@example.test")))
    }

    static func lease(_ h: BackendHarness, domains: [String]? = nil) async throws -> QueueLeaseResult {
        try await h.relay.call(Methods.queueLease, QueueLeaseParams(domains: domains))
    }

    static func report(
        _ h: BackendHarness, _ lease: String, _ message: Int64, _ outcomes: [QueueOutcome]
    ) async throws -> QueueReportResult {
        try await h.relay.call(Methods.queueReport, QueueReportParams(lease: lease, message: message, outcomes: outcomes))
    }

    static func show(_ h: BackendHarness, _ id: Int64) async throws -> [String: QueueRecipientInfo] {
        let entry = try await h.admin.call(Methods.queueShow, QueueIDParams(id: id))
        return Dictionary(uniqueKeysWithValues: (entry.states ?? []).map { ($0.recipient, $0) })
    }

    /// The delivery-status part of each report in alice's INBOX.
    static func reports(_ h: BackendHarness) async throws -> [String] {
        try await h.inbox("alice@example.test").map { stored in
            let text = String(decoding: stored, as: UTF8.self)
            guard let start = text.range(of: "Content-Type: message/delivery-status") else { return text }
            return String(text[start.upperBound...])
        }
    }

    @Test func leaseReadReportRetryAndBounce() async throws {
        let h = try await Self.harness()
        let sent = try await Self.send(h, to: ["x@remote.test", "y@remote.test", "bob@example.test"])
        #expect(sent.recipients?.map { $0.status } == [.queued, .queued, .delivered])
        var status = try await h.admin.call(Methods.queueStatus, Empty())
        #expect(status.messages == 1 && status.recipients == 2 && status.deferred == 0)

        let first = try await Self.lease(h)
        let lease = try #require(first.lease)
        #expect(first.domain == "remote.test")
        let leased = try #require(first.messages.first)
        #expect(leased.sender == "alice@example.test" && leased.recipients.map(\.recipient) == ["x@remote.test", "y@remote.test"])
        #expect(leased.size == Int64(Self.message.count) && leased.bodyType == "7bit" && !leased.smtputf8)
        // Leased recipients are not handed out twice.
        let again = try await Self.lease(h)
        #expect(again.lease == nil && again.messages.isEmpty && again.nextDueAt == first.deadline)

        // The body as it goes out: without the Return-Path local copies carry, in chunks.
        var body: [UInt8] = []
        while true {
            let part = try await h.relay.call(
                Methods.queueRead, QueueReadParams(lease: lease, message: leased.id, offset: Int64(body.count), length: 10))
            body += part.data.bytes
            if part.data.bytes.isEmpty || Int64(body.count) >= part.total { break }
        }
        #expect(body == Self.message)

        let reported = try await Self.report(
            h, lease, leased.id,
            [
                QueueOutcome(recipient: "x@remote.test", result: "delivered", code: 250, text: "ok", remoteMta: "mx.remote.test"),
                QueueOutcome(recipient: "y@remote.test", result: "deferred", code: 451, enhancedCode: "4.2.0", text: "try later"),
            ])
        #expect(Set(reported.applied) == ["x@remote.test", "y@remote.test"] && reported.ignored.isEmpty)
        // The same report again changes nothing.
        let repeated = try await Self.report(
            h, lease, leased.id, [QueueOutcome(recipient: "y@remote.test", result: "deferred", code: 451)])
        #expect(repeated.applied.isEmpty && repeated.ignored.map(\.recipient) == ["y@remote.test"])
        let states = try await Self.show(h, leased.id)
        #expect(states["x@remote.test"]?.status == "delivered")
        let y = try #require(states["y@remote.test"])
        #expect(y.status == "deferred" && y.attempts == 1 && y.lastCode == 451 && y.lastReply == "try later")
        #expect(y.nextAttemptAt == h.clock!.nowMs / 1000 + 300)
        // The lease ended for y with its report: reading is refused.
        await #expect(throws: RPCError.self) {
            _ = try await h.relay.call(Methods.queueRead, QueueReadParams(lease: lease, message: leased.id))
        }

        // Not due yet; due after the first retry interval.
        #expect(try await Self.lease(h).lease == nil)
        h.clock!.advance(bySeconds: 300)
        let second = try await Self.lease(h)
        let lease2 = try #require(second.lease)
        #expect(second.messages.flatMap(\.recipients).map(\.recipient) == ["y@remote.test"])
        _ = try await Self.report(
            h, lease2, leased.id,
            [
                QueueOutcome(
                    recipient: "y@remote.test", result: "failed", code: 550, enhancedCode: "5.1.1", text: "no such user",
                    remoteMta: "mx.remote.test")
            ])
        // Every recipient final: the message left the queue, and alice has a bounce for y only.
        status = try await h.admin.call(Methods.queueStatus, Empty())
        #expect(status.messages == 0 && status.recipients == 0)
        let dsn = try await Self.reports(h)
        try #require(dsn.count == 1)
        #expect(dsn[0].contains("Final-Recipient: rfc822; y@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"))
        #expect(dsn[0].contains("Remote-MTA: dns; mx.remote.test\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n"))
        #expect(!dsn[0].contains("Final-Recipient: rfc822; x@remote.test"))
        await h.close()
    }

    /// A worker that dies leaves its lease to run out; the recipients go to the next worker,
    /// and a late report of the dead one's is believed only if it says delivered.
    @Test func leaseExpiryAndLateReports() async throws {
        let h = try await Self.harness()
        try await Self.send(h, to: ["x@remote.test", "y@remote.test"])
        let dead = try await Self.lease(h)
        let message = try #require(dead.messages.first).id
        h.clock!.advance(bySeconds: 301)  // past the 5-minute default lease
        let next = try await Self.lease(h)
        let lease = try #require(next.lease)
        #expect(next.messages.flatMap(\.recipients).count == 2)
        // The lease that ran out counts as an attempt.
        #expect(try await Self.show(h, message).values.map(\.attempts) == [1, 1])
        let late = try await Self.report(
            h, dead.lease!, message,
            [
                QueueOutcome(recipient: "x@remote.test", result: "delivered", code: 250),
                QueueOutcome(recipient: "y@remote.test", result: "failed", code: 550),
            ])
        #expect(late.applied == ["x@remote.test"] && late.ignored.map(\.recipient) == ["y@remote.test"])
        let current = try await Self.report(
            h, lease, message,
            [
                QueueOutcome(recipient: "x@remote.test", result: "delivered", code: 250),
                QueueOutcome(recipient: "y@remote.test", result: "delivered", code: 250),
            ])
        #expect(current.applied == ["y@remote.test"] && current.ignored.map(\.recipient) == ["x@remote.test"])
        #expect(try await h.admin.call(Methods.queueStatus, Empty()).messages == 0)
        #expect(try await Self.reports(h).isEmpty, "no NOTIFY: no success report")
        await h.close()
    }

    /// Renewal keeps a lease past its first deadline; a renewal of an ended lease is refused.
    @Test func renewal() async throws {
        let h = try await Self.harness()
        try await Self.send(h, to: ["x@remote.test"])
        let leased = try await Self.lease(h)
        let lease = try #require(leased.lease)
        h.clock!.advance(bySeconds: 200)
        let renewed = try await h.relay.call(Methods.queueRenew, QueueRenewParams(lease: lease, leaseMs: 600_000))
        #expect(renewed.recipients == 1 && renewed.deadline == (h.clock!.nowMs / 1000 + 600) * 1000)
        h.clock!.advance(bySeconds: 200)
        #expect(try await Self.lease(h).lease == nil, "still held")
        h.clock!.advance(bySeconds: 600)
        await #expect(throws: RPCError.self) { _ = try await h.relay.call(Methods.queueRenew, QueueRenewParams(lease: lease)) }
        await h.close()
    }

    /// A recipient still waiting after the warning age gets one "delayed" report; one past the
    /// lifetime fails with a bounce carrying its last remote reply.
    @Test func delayWarningThenExpiry() async throws {
        let h = try await Self.harness()
        try await Self.send(h, to: ["x@remote.test"])
        let leased = try await Self.lease(h)
        let message = try #require(leased.messages.first).id
        _ = try await Self.report(
            h, leased.lease!, message,
            [QueueOutcome(recipient: "x@remote.test", result: "deferred", code: 421, text: "busy", remoteMta: "mx.remote.test")])
        #expect(try h.backend.queueTick() == 0, "nothing to do yet")
        h.clock!.advance(bySeconds: 3600)
        #expect(try h.backend.queueTick() == 1)
        #expect(try h.backend.queueTick() == 0, "warned once")
        var dsn = try await Self.reports(h)
        try #require(dsn.count == 1)
        #expect(dsn[0].contains("Action: delayed\r\nStatus: 4.0.0\r\n"))
        #expect(dsn[0].contains("Will-Retry-Until: "))
        h.clock!.advance(bySeconds: 86_400)
        #expect(try h.backend.queueTick() == 1)
        dsn = try await Self.reports(h)
        try #require(dsn.count == 2)
        #expect(
            dsn[1].contains("Action: failed\r\nStatus: 5.0.0\r\nRemote-MTA: dns; mx.remote.test\r\nDiagnostic-Code: smtp; 421 busy\r\n"))
        #expect(try await h.admin.call(Methods.queueStatus, Empty()).messages == 0)
        await h.close()
    }

    /// A message queued from `<>` (a bounce going out) is never bounced itself.
    @Test func noBounceOfABounce() async throws {
        let h = try await Self.harness()
        try await Self.send(h, to: ["x@remote.test"], from: "")
        let leased = try await Self.lease(h)
        #expect(leased.messages.first?.sender == "")
        _ = try await Self.report(
            h, leased.lease!, leased.messages[0].id, [QueueOutcome(recipient: "x@remote.test", result: "failed", code: 550)])
        #expect(try await Self.reports(h).isEmpty)
        #expect(try await h.admin.call(Methods.queueStatus, Empty()).messages == 0)
        await h.close()
    }

    /// The administrator's retry makes a deferred recipient due now; remove with a bounce fails
    /// the rest and tells the sender.
    @Test func adminRetryAndRemove() async throws {
        let h = try await Self.harness()
        try await Self.send(h, to: ["x@remote.test", "y@other.test"])
        let leased = try await Self.lease(h, domains: ["other.test"])
        #expect(leased.domain == "remote.test", "a busy domain is left for later")
        _ = try await Self.report(
            h, leased.lease!, leased.messages[0].id, [QueueOutcome(recipient: "x@remote.test", result: "deferred", code: 451)])
        let id = leased.messages[0].id
        let list = try await h.admin.call(Methods.queueList, QueueListParams())
        #expect(list.entries.map(\.id) == [id] && list.entries[0].states?.map(\.status) == ["deferred", "pending"])
        #expect(try await h.admin.call(Methods.queueRetry, QueueRetryParams(id: id)).changed == 1)
        let again = try await Self.lease(h, domains: ["other.test"])
        #expect(again.messages.flatMap(\.recipients).map(\.recipient) == ["x@remote.test"])
        #expect(try await h.admin.call(Methods.queueRemove, QueueRemoveParams(id: id, bounce: true)).changed == 2)
        let dsn = try await Self.reports(h)
        try #require(dsn.count == 1)
        #expect(dsn[0].contains("x@remote.test") && dsn[0].contains("y@other.test") && dsn[0].contains("removed from the queue"))
        await #expect(throws: RPCError.self) { _ = try await h.admin.call(Methods.queueShow, QueueIDParams(id: id)) }
        await h.close()
    }

    /// A lease that finds nothing waits for mail to be queued, and answers with it.
    @Test func leaseWaitsForMail() async throws {
        let h = try await Self.harness()
        let waiting = Task { try await h.relay.call(Methods.queueLease, QueueLeaseParams(waitMs: 20_000)) }
        try await Task.sleep(for: .milliseconds(100))
        try await Self.send(h, to: ["x@remote.test"])
        let lease = try await waiting.value
        #expect(lease.lease != nil && lease.messages.first?.recipients.map(\.recipient) == ["x@remote.test"])
        await h.close()
    }

    /// `perDomain` caps the leases running at one destination; `inlineBytes` brings small
    /// bodies with the lease, as `queue.read` would give them.
    @Test func destinationConcurrencyAndInlineBodies() async throws {
        let h = try await Self.harness()
        for _ in 0..<3 { try await Self.send(h, to: ["x@remote.test"]) }
        let lease = { (inline: Int) in
            try await h.relay.call(Methods.queueLease, QueueLeaseParams(max: 1, perDomain: 2, inlineBytes: inline))
        }
        let first = try await lease(Self.message.count)
        #expect(first.messages.first?.data?.bytes == Self.message)
        let second = try await lease(Self.message.count - 1)
        #expect(second.lease != nil && second.messages.first?.data == nil, "too big for what inlineBytes leaves")
        let third = try await lease(1 << 20)
        #expect(third.lease == nil && third.nextDueAt == nil, "remote.test has its two leases running")
        let unlimited = try await h.relay.call(Methods.queueLease, QueueLeaseParams(max: 1, perDomain: 3))
        #expect(unlimited.lease != nil)
        _ = try await Self.report(
            h, try #require(first.lease), first.messages[0].id, [QueueOutcome(recipient: "x@remote.test", result: "delivered")])
        let status = try await h.admin.call(Methods.queueStatus, Empty())
        #expect(status.messages == 2 && status.leased == 2)
        await h.close()
    }

    /// One queued message wakes one waiting lease; a lease that leaves work due wakes the next,
    /// so two waiting workers take two domains without polling.
    @Test func wakesChainOneLeaseAtATime() async throws {
        let h = try await Self.harness()
        let waiters = (0..<2).map { _ in Task { try await h.relay.call(Methods.queueLease, QueueLeaseParams(waitMs: 30_000)) } }
        try await Task.sleep(for: .milliseconds(100))
        let sent = ContinuousClock.now
        try await Self.send(h, to: ["x@remote.test", "y@other.test"])
        var domains: Set<String> = []
        for waiter in waiters { if let domain = try await waiter.value.domain { domains.insert(domain) } }
        #expect(domains == ["remote.test", "other.test"])
        // Both by wakes, not by the second call's 30 s deadline (a very wide margin, not a timing).
        #expect(ContinuousClock.now - sent < .seconds(15))
        await h.close()
    }

    /// `queue.unpark` answers the connection's waiting lease empty, and mail queued after it is
    /// not leased to that call.
    @Test func unparkAnswersWaitingLeasesEmpty() async throws {
        let h = try await Self.harness()
        let waiting = Task { try await h.relay.call(Methods.queueLease, QueueLeaseParams(waitMs: 30_000)) }
        // The lease parks once the back-end has read it, which on a loaded machine can take a
        // while: ask until it has (an unpark before that answers nothing and changes nothing).
        var answered = 0
        for _ in 0..<200 where answered == 0 {
            try await Task.sleep(for: .milliseconds(50))
            answered = try await h.relay.call(Methods.queueUnpark, Empty()).answered
        }
        #expect(answered == 1)
        let answer = try await waiting.value
        #expect(answer.lease == nil && answer.messages.isEmpty)
        try await Self.send(h, to: ["x@remote.test"])
        let status = try await h.admin.call(Methods.queueStatus, Empty())
        #expect(status.recipients == 1 && status.leased == 0)
        await h.close()
    }

    /// The relay's socket serves the queue and nothing else; the gateway's cannot lease.
    @Test func roles() async throws {
        let h = try await Self.harness()
        await #expect(throws: RPCError.self) { _ = try await h.gateway.call(Methods.queueLease, QueueLeaseParams()) }
        await #expect(throws: RPCError.self) { _ = try await h.relay.call(Methods.domainList, Empty()) }
        let session = try await h.session("alice@example.test")
        await #expect(throws: RPCError.self) {
            _ = try await h.relay.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        }
        _ = try await h.relay.call(Methods.ping, Empty())
        await h.close()
    }
}

/// RFC 3461 parameters given with a delivery: kept with queued copies, and the notices NOTIFY
/// asks for made for local mailboxes too.
@Suite(.timeLimit(.minutes(1))) struct DeliveryDSNTests {
    static func submit(_ h: BackendHarness, to recipients: [String], dsn: DeliveryDSN) async throws -> UploadCommitResult {
        try await h.gateway.call(
            Methods.deliverySubmit,
            DeliverySubmitParams(
                sender: "alice@example.test", recipients: recipients, data: Base64Data(QueueTests.message),
                session: try await h.session("alice@example.test"), dsn: dsn))
    }

    @Test func parametersGoWithTheQueuedCopy() async throws {
        let h = try await QueueTests.harness()
        _ = try await Self.submit(
            h, to: ["x@remote.test", "y@remote.test"],
            dsn: DeliveryDSN(
                ret: "HDRS", envid: "trip-1",
                recipients: [RecipientDSN(notify: "SUCCESS,DELAY", orcpt: "rfc822;X@remote.test"), RecipientDSN()]))
        let lease = try await QueueTests.lease(h)
        let message = try #require(lease.messages.first)
        #expect(message.envid == "trip-1" && message.ret == "hdrs")
        #expect(message.recipients.map(\.notify) == ["SUCCESS,DELAY", nil])
        #expect(message.recipients.map(\.orcpt) == ["rfc822;X@remote.test", nil])
        await h.close()
    }

    @Test func aLocalDeliveryWithNotifySuccessGetsADeliveredNotice() async throws {
        let h = try await QueueTests.harness()
        let sent = try await Self.submit(
            h, to: ["bob@example.test"],
            dsn: DeliveryDSN(envid: "e-7", recipients: [RecipientDSN(notify: "SUCCESS", orcpt: "rfc822;Bob@example.test")]))
        #expect(sent.recipients?.map(\.status) == [.delivered])
        let notices = try await QueueTests.reports(h)
        try #require(notices.count == 1)
        #expect(
            notices[0].contains(
                "Original-Recipient: rfc822; Bob@example.test\r\nFinal-Recipient: rfc822; bob@example.test\r\nAction: delivered\r\nStatus: 2.0.0\r\n"
            ))
        await h.close()
    }

    @Test func malformedParametersAreRefused() async throws {
        let h = try await QueueTests.harness()
        for dsn in [
            DeliveryDSN(recipients: [RecipientDSN(notify: "NEVER,SUCCESS")]), DeliveryDSN(ret: "ALL"),
            DeliveryDSN(envid: String(repeating: "e", count: 101)), DeliveryDSN(recipients: []),
            DeliveryDSN(recipients: [RecipientDSN(orcpt: "no-type")]),
        ] {
            await #expect(throws: RPCError.self) { _ = try await Self.submit(h, to: ["bob@example.test"], dsn: dsn) }
        }
        await h.close()
    }
}
