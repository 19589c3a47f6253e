import Foundation
import LoftTestSupport
import MailMessage
import RPCProtocol
import RPCTransport
import Storage
import Testing

@testable import Backend

/// Recipients that fail after the client has its 250 get a bounce to the sender (RFC 5321
/// §6.1), stored in the delivery's own transaction (issue 11: "a silent loss to fix first").
@Suite(.timeLimit(.minutes(1))) struct BounceTests {
    /// example.test with alice (a local sender) and bob, plus `refuser`, set up by each test to
    /// refuse the message.
    static func harness(refuser: AccountAddParams? = nil) async throws -> BackendHarness {
        let h = try await BackendHarness(name: "loft-bounce")
        try await h.addTestAccounts()
        if let refuser { _ = try await h.admin.call(Methods.accountAdd, refuser) }
        return h
    }

    static let message = Array(
        ("From: Alice <alice@example.test>\r\nTo: bob@example.test, small@example.test\r\nSubject: Lunch\r\n"
            + "Message-ID: <lunch-1@example.test>\r\n\r\n" + String(repeating: "Shall we try the new place? ", count: 10) + "\r\n").utf8)

    static func submit(
        _ h: BackendHarness, from sender: String, to recipients: [String], key: String? = nil
    ) async throws -> UploadCommitResult {
        try await h.gateway.call(
            Methods.deliverySubmit,
            DeliverySubmitParams(sender: sender, recipients: recipients, data: Base64Data(message), idempotencyKey: key))
    }

    static func queue(_ h: BackendHarness) async throws -> [RPCProtocol.QueueEntry] {
        try await h.admin.call(Methods.queueList, QueueListParams()).entries
    }

    /// The report's parts, parsed by the module's own parser; the message must start with the
    /// null Return-Path.
    static func report(_ stored: [UInt8]) throws -> (fields: HeaderFields, text: String, status: String, header: String) {
        let prefix = Array("Return-Path: <>\r\n".utf8)
        try #require(Array(stored.prefix(prefix.count)) == prefix)
        let bytes = Array(stored.dropFirst(prefix.count))
        let parsed = MessageParser.parse(bytes)
        #expect(parsed.body.type == "multipart" && parsed.body.subtype == "report")
        guard case .multipart(let parts) = parsed.body.content, parts.count == 3 else {
            throw NotAReport(structure: parsed.body)
        }
        #expect(parts.map { "\($0.type)/\($0.subtype)" } == ["text/plain", "message/delivery-status", "text/rfc822-headers"])
        func text(_ part: BodyStructure) -> String { String(decoding: bytes[part.bodyStart..<part.end], as: UTF8.self) }
        return (HeaderFields(parsing: bytes), text(parts[0]), text(parts[1]), text(parts[2]))
    }

    /// One recipient refuses at commit — its size limit or its quota, known only then because no
    /// size was announced — and one takes it: the client is told both (its SMTP client hears
    /// 250), and the local sender finds a bounce naming the one that refused.
    @Test(arguments: [
        ("max message size", AccountAddParams(address: "small@example.test", password: "pw", maxMessageBytes: 64), "too_big", "5.2.3"),
        (
            "quota smaller than the message", AccountAddParams(address: "small@example.test", password: "pw", quotaBytes: 64),
            "quota_exceeded", "5.2.2"
        ),
        // The message fits the quota; its copy with the Return-Path line does not, which only the
        // transaction finds.
        (
            "quota, inside the transaction",
            AccountAddParams(address: "small@example.test", password: "pw", quotaBytes: Int64(message.count + 4)), "quota_exceeded", "5.2.2"
        ),
    ])
    func aLocalSenderIsToldOfTheRecipientThatRefused(_ what: String, refuser: AccountAddParams, kind: String, status: String) async throws {
        let h = try await Self.harness(refuser: refuser)
        let result = try await Self.submit(h, from: "alice@example.test", to: ["bob@example.test", "small@example.test"])
        #expect(result.recipients?.map(\.status) == [.delivered, .failed], "\(what)")
        #expect(result.recipients?.last?.kind == kind, "\(what)")
        #expect(try await h.inbox("bob@example.test").count == 1)
        #expect(try await h.inbox("small@example.test").isEmpty)

        let inbox = try await h.inbox("alice@example.test")
        try #require(inbox.count == 1, "\(what): the sender has its bounce")
        let report = try Self.report(inbox[0])
        #expect(report.fields["To"] == "<alice@example.test>")
        #expect(report.fields["From"] == "Mail Delivery System <MAILER-DAEMON@localhost>")
        #expect(report.fields["Auto-Submitted"] == "auto-replied")
        #expect(
            report.status.contains("\r\nFinal-Recipient: rfc822; small@example.test\r\nAction: failed\r\nStatus: \(status)\r\n"), "\(what)")
        #expect(report.status.contains("Diagnostic-Code: smtp; 552 \(status) "), "\(what)")
        #expect(!report.status.contains("bob@example.test"))
        #expect(report.text.contains("<small@example.test>:"))
        #expect(report.header.contains("Message-ID: <lunch-1@example.test>\r\n"))
        #expect(try await Self.queue(h).isEmpty)
        #expect(try h.backend.store.verify(deep: true) == [])
        await h.close()
    }

    /// When no recipient takes it, the client hears the failure itself: nothing to bounce.
    @Test func noBounceWhenEveryRecipientFails() async throws {
        let h = try await Self.harness(refuser: AccountAddParams(address: "small@example.test", password: "pw", maxMessageBytes: 64))
        let result = try await Self.submit(h, from: "alice@example.test", to: ["small@example.test"])
        #expect(result.recipients?.map(\.status) == [.failed])
        #expect(try await h.inbox("alice@example.test").isEmpty)
        #expect(try await Self.queue(h).isEmpty)
        await h.close()
    }

    /// A remote sender's bounce waits in the queue for the relay, with the null sender.
    @Test func aRemoteSendersBounceIsQueuedWithTheNullSender() async throws {
        let h = try await Self.harness(refuser: AccountAddParams(address: "small@example.test", password: "pw", maxMessageBytes: 64))
        let result = try await Self.submit(h, from: "Carol@Remote.test", to: ["bob@example.test", "small@example.test"])
        #expect(result.recipients?.map(\.status) == [.delivered, .failed])
        let queue = try await Self.queue(h)
        #expect(queue.map(\.sender) == [""])
        #expect(queue.map(\.recipients) == [["Carol@remote.test"]])
        #expect(try await h.inbox("alice@example.test").isEmpty)
        await h.close()
    }

    /// RFC 5321 §6.1: never to the null reverse-path; nor to a mail system's own address.
    @Test(arguments: ["", "<>", "MAILER-DAEMON@remote.test", "mailer-daemon@example.test"])
    func noBounceToTheNullSenderOrAMailerDaemon(_ sender: String) async throws {
        let h = try await Self.harness(refuser: AccountAddParams(address: "small@example.test", password: "pw", maxMessageBytes: 64))
        let result = try await Self.submit(h, from: sender, to: ["bob@example.test", "small@example.test"])
        #expect(result.recipients?.map(\.status) == [.delivered, .failed])
        #expect(try await Self.queue(h).isEmpty)
        #expect(try await h.inbox("alice@example.test").isEmpty)
        #expect(try h.backend.store.counts().messages == 1)
        await h.close()
    }

    /// The bounce is part of the delivery's transaction: delivering again with the same key
    /// stores neither again.
    @Test func theSameIdempotencyKeyTwiceMakesOneBounce() async throws {
        let h = try await Self.harness(refuser: AccountAddParams(address: "small@example.test", password: "pw", maxMessageBytes: 64))
        let first = try await Self.submit(h, from: "alice@example.test", to: ["bob@example.test", "small@example.test"], key: "once")
        let again = try await Self.submit(h, from: "alice@example.test", to: ["bob@example.test", "small@example.test"], key: "once")
        #expect(again == first)
        try await h.restart()
        #expect(try await Self.submit(h, from: "alice@example.test", to: ["bob@example.test", "small@example.test"], key: "once") == first)
        #expect(try await h.inbox("alice@example.test").count == 1)
        #expect(try await h.inbox("bob@example.test").count == 1)
        await h.close()
    }

    /// A group is delivered when any member takes the message; a member that did not gets
    /// named in the bounce by its own address.
    @Test func aGroupMemberThatRefusedIsBounced() async throws {
        let h = try await Self.harness(refuser: AccountAddParams(address: "small@example.test", password: "pw", quotaBytes: 64))
        _ = try await h.admin.call(
            Methods.groupAdd, GroupAddParams(address: "team@example.test", members: ["bob@example.test", "small@example.test"]))
        let result = try await Self.submit(h, from: "alice@example.test", to: ["team@example.test", "small@example.test"])
        #expect(result.recipients?.map(\.status) == [.delivered, .failed])
        let inbox = try await h.inbox("alice@example.test")
        try #require(inbox.count == 1)
        let report = try Self.report(inbox[0])
        // small@ reached twice (through team@ and directly) is reported once.
        #expect(report.status.components(separatedBy: "Final-Recipient:").count == 2)
        #expect(report.status.contains("Final-Recipient: rfc822; small@example.test\r\nAction: failed\r\nStatus: 5.2.2\r\n"))
        #expect(report.text.contains("<small@example.test> (reached through <team@example.test>):"))
        await h.close()
    }

    /// The sender's own mailbox is full too: the bounce is not stored, and is not bounced; the
    /// delivery stands.
    @Test func aBounceThatCannotBeStoredIsOnlyLogged() async throws {
        let h = try await Self.harness(refuser: AccountAddParams(address: "small@example.test", password: "pw", maxMessageBytes: 64))
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "tiny@example.test", password: "pw", quotaBytes: 10))
        let result = try await Self.submit(h, from: "tiny@example.test", to: ["bob@example.test", "small@example.test"])
        #expect(result.recipients?.map(\.status) == [.delivered, .failed])
        #expect(try await h.inbox("tiny@example.test").isEmpty)
        #expect(try await Self.queue(h).isEmpty)
        #expect(try h.backend.store.counts().messages == 1)
        #expect(try h.backend.store.verify(deep: true) == [])
        await h.close()
    }

    struct NotAReport: Error {
        let structure: BodyStructure
    }
}
