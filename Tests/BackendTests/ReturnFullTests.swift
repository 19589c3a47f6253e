import Foundation
import LoftTestSupport
import MailMessage
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// RET=FULL (RFC 3461 §4.3, §6.2): a report of failures returns the whole message, after
/// acceptance and from the queue; a delay warning returns the header.
@Suite(.timeLimit(.minutes(1))) struct ReturnFullTests {
    /// The parts of each report in alice's INBOX: (type/subtype, content) each.
    static func reports(_ h: BackendHarness) async throws -> [[(type: String, content: String)]] {
        let prefix = Array("Return-Path: <>\r\n".utf8)
        return try await h.inbox("alice@example.test").map { stored in
            let bytes = Array(stored.dropFirst(prefix.count))
            let parsed = MessageParser.parse(bytes)
            guard case .multipart(let parts) = parsed.body.content else { return [] }
            return parts.map { ("\($0.type)/\($0.subtype)", String(decoding: bytes[$0.bodyStart..<$0.end], as: UTF8.self)) }
        }
    }

    static let whole = String(decoding: QueueTests.message, as: UTF8.self)
    static let header = String(whole[..<whole.range(of: "\r\n\r\n")!.lowerBound]) + "\r\n"

    @Test func aFailedQueuedRecipientGetsTheWholeMessageBack() async throws {
        let h = try await QueueTests.harness()
        _ = try await DeliveryDSNTests.submit(h, to: ["x@remote.test"], dsn: DeliveryDSN(ret: "FULL"))
        let lease = try await QueueTests.lease(h)
        let message = try #require(lease.messages.first)
        #expect(message.ret == "full")
        _ = try await QueueTests.report(
            h, lease.lease!, message.id, [QueueOutcome(recipient: "x@remote.test", result: "failed", code: 550, text: "no")])
        let reports = try await Self.reports(h)
        try #require(reports.count == 1)
        #expect(reports[0].map(\.type) == ["text/plain", "message/delivery-status", "message/rfc822"])
        #expect(reports[0][2].content == Self.whole)
        #expect(reports[0][0].content.contains("Your message is attached."))
        #expect(reports[0][1].content.contains("Final-Recipient: rfc822; x@remote.test\r\nAction: failed\r\n"))
        await h.close()
    }

    /// The delay warning carries the header (RFC 3461 §4.3: no failure in it); the bounce at
    /// expiry the whole message.
    @Test func aDelayWarningCarriesTheHeaderOnly() async throws {
        let h = try await QueueTests.harness()
        _ = try await DeliveryDSNTests.submit(h, to: ["x@remote.test"], dsn: DeliveryDSN(ret: "FULL"))
        let lease = try await QueueTests.lease(h)
        _ = try await QueueTests.report(
            h, lease.lease!, lease.messages[0].id, [QueueOutcome(recipient: "x@remote.test", result: "deferred", code: 421)])
        h.clock!.advance(bySeconds: 3600)
        #expect(try h.backend.queueTick() == 1)
        h.clock!.advance(bySeconds: 86_400)
        #expect(try h.backend.queueTick() == 1)
        let reports = try await Self.reports(h)
        try #require(reports.count == 2)
        #expect(reports[0][1].content.contains("Action: delayed"))
        #expect(reports[0].map(\.type).last == "text/rfc822-headers")
        #expect(reports[0][2].content == Self.header)
        #expect(reports[1][1].content.contains("Action: failed"))
        #expect(reports[1].map(\.type).last == "message/rfc822")
        #expect(reports[1][2].content == Self.whole)
        await h.close()
    }

    /// RET=HDRS and no RET: the header, from the queue.
    @Test(arguments: ["HDRS", nil] as [String?])
    func withoutFullTheHeader(_ ret: String?) async throws {
        let h = try await QueueTests.harness()
        _ = try await DeliveryDSNTests.submit(h, to: ["x@remote.test"], dsn: DeliveryDSN(ret: ret, envid: "e"))
        let lease = try await QueueTests.lease(h)
        _ = try await QueueTests.report(
            h, lease.lease!, lease.messages[0].id, [QueueOutcome(recipient: "x@remote.test", result: "failed", code: 550)])
        let reports = try await Self.reports(h)
        try #require(reports.count == 1)
        #expect(reports[0].map(\.type).last == "text/rfc822-headers")
        #expect(reports[0][2].content == Self.header)
        await h.close()
    }

    /// After acceptance (a recipient too small for the message, found at commit) the bounce
    /// returns the whole message with RET=FULL, the header without.
    @Test(arguments: ["FULL", "HDRS"])
    func aBounceAtCommitReturnsWhatRETAsks(_ ret: String) async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "small@example.test", password: "pw", maxMessageBytes: 64))
        let sent = try await DeliveryDSNTests.submit(h, to: ["bob@example.test", "small@example.test"], dsn: DeliveryDSN(ret: ret))
        #expect(sent.recipients?.map(\.status) == [.delivered, .failed])
        let reports = try await Self.reports(h)
        try #require(reports.count == 1)
        #expect(reports[0][1].content.contains("Final-Recipient: rfc822; small@example.test\r\nAction: failed\r\n"))
        if ret == "FULL" {
            #expect(reports[0].map(\.type).last == "message/rfc822")
            #expect(reports[0][2].content == Self.whole)
        } else {
            #expect(reports[0].map(\.type).last == "text/rfc822-headers")
            #expect(reports[0][2].content == Self.header)
        }
        await h.close()
    }
}
