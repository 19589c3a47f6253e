import Foundation
import LoftTestSupport
import MailCore
import MailMessage
import RPCProtocol
import RPCTransport
import Storage
import Testing

@testable import Backend

/// NOTIFY and ORCPT through aliases, forwarding and groups (RFC 3461 §5.2.7): passed on by a
/// single-recipient alias, passed on without SUCCESS by a multiple-recipient one, which tells
/// the sender of the expansion instead (Action: expanded).
@Suite(.timeLimit(.minutes(1))) struct DSNPropagationTests {
    typealias Carried = QueueOptions.RecipientDSN

    /// `carriedDSN` as a table: what the RCPT gave, how the recipient was routed, what its
    /// queued addresses get.
    @Test(
        arguments: [
            // The recipient itself: as given, nothing added.
            ("direct, none", nil, true, false, nil),
            (
                "direct", RecipientDSN(notify: "SUCCESS", orcpt: "rfc822;X@remote.test"), true, false,
                Carried(notify: [.success], orcpt: "rfc822;X@remote.test")
            ),
            ("direct, NOTIFY only", RecipientDSN(notify: "NEVER"), true, false, Carried(notify: [])),
            // One target (§5.2.7.2): as given; ORCPT the recipient's address when not given.
            ("alias, none", nil, false, false, Carried(orcpt: "rfc822;out@example.test")),
            (
                "alias", RecipientDSN(notify: "SUCCESS,DELAY"), false, false,
                Carried(notify: [.success, .delay], orcpt: "rfc822;out@example.test")
            ),
            ("alias, ORCPT", RecipientDSN(orcpt: "rfc822;Out@Example.test"), false, false, Carried(orcpt: "rfc822;Out@Example.test")),
            ("alias, NEVER", RecipientDSN(notify: "NEVER"), false, false, Carried(notify: [], orcpt: "rfc822;out@example.test")),
            // Several (§5.2.7.3 (c)): SUCCESS taken out.
            ("group, none", nil, false, true, Carried(orcpt: "rfc822;out@example.test")),
            ("group, SUCCESS", RecipientDSN(notify: "SUCCESS"), false, true, Carried(notify: [], orcpt: "rfc822;out@example.test")),
            ("group", RecipientDSN(notify: "SUCCESS,FAILURE"), false, true, Carried(notify: [.failure], orcpt: "rfc822;out@example.test")),
            ("group, NEVER", RecipientDSN(notify: "NEVER"), false, true, Carried(notify: [], orcpt: "rfc822;out@example.test")),
        ] as [(String, RecipientDSN?, Bool, Bool, Carried?)])
    func carried(_ what: String, _ given: RecipientDSN?, _ direct: Bool, _ expanded: Bool, _ expected: Carried?) {
        #expect(Backend.carriedDSN(given, recipient: "out@example.test", direct: direct, expanded: expanded) == expected, "\(what)")
    }

    /// §4.2: an address that is not printable US-ASCII is not made an ORCPT.
    @Test func noORCPTIsMadeOfANonASCIIAddress() {
        #expect(Backend.carriedDSN(nil, recipient: "j\u{F6}rg@example.test", direct: false, expanded: false) == nil)
    }

    static func queued(_ h: BackendHarness) async throws -> [String: QueueRecipientInfo] {
        var out: [String: QueueRecipientInfo] = [:]
        for entry in try await h.admin.call(Methods.queueList, QueueListParams()).entries {
            for state in entry.states ?? [] { out[state.recipient] = state }
        }
        return out
    }

    /// The delivery-status part of each report in alice's INBOX.
    static func notices(_ h: BackendHarness) async throws -> [String] { try await QueueTests.reports(h) }

    /// Leases the queue's next message and fails `recipients` of it with a 550 from the remote
    /// side.
    static func fail(_ h: BackendHarness, _ recipients: [String]) async throws {
        let lease = try await QueueTests.lease(h)
        let message = try #require(lease.messages.first)
        _ = try await QueueTests.report(
            h, lease.lease!, message.id,
            recipients.map {
                QueueOutcome(
                    recipient: $0, result: "failed", code: 550, enhancedCode: "5.1.1", text: "no such user", remoteMta: "mx.remote.test")
            })
    }

    /// An alias of one remote target: NOTIFY goes on as given, and ORCPT (the alias when the
    /// client gave none); a failure there is reported with the alias as Original-Recipient.
    @Test func anAliasOfOneTargetPassesThemOn() async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(Methods.aliasAdd, AliasParams(address: "out@example.test", targets: ["far@remote.test"]))
        _ = try await h.admin.call(Methods.aliasAdd, AliasParams(address: "given@example.test", targets: ["near@remote.test"]))
        let sent = try await DeliveryDSNTests.submit(
            h, to: ["out@example.test", "given@example.test"],
            dsn: DeliveryDSN(recipients: [
                RecipientDSN(notify: "SUCCESS,FAILURE"), RecipientDSN(notify: "FAILURE", orcpt: "rfc822;Given@Example.test"),
            ]))
        #expect(sent.recipients?.map(\.status) == [.queued, .queued])
        let queued = try await Self.queued(h)
        #expect(queued["far@remote.test"]?.notify == "SUCCESS,FAILURE")
        #expect(queued["far@remote.test"]?.orcpt == "rfc822;out@example.test")
        #expect(queued["near@remote.test"]?.notify == "FAILURE")
        #expect(queued["near@remote.test"]?.orcpt == "rfc822;Given@Example.test")
        #expect(try await Self.notices(h).isEmpty, "§5.2.7.2: no notice for the alias itself")
        try await Self.fail(h, ["far@remote.test", "near@remote.test"])
        let notices = try await Self.notices(h)
        try #require(notices.count == 1)
        #expect(notices[0].contains("Original-Recipient: rfc822; out@example.test\r\nFinal-Recipient: rfc822; far@remote.test\r\n"))
        #expect(notices[0].contains("Original-Recipient: rfc822; Given@Example.test\r\nFinal-Recipient: rfc822; near@remote.test\r\n"))
        await h.close()
    }

    /// Forwarding without a copy is a single-recipient alias: NOTIFY=NEVER goes on, and the
    /// remote failure bounces to no one.
    @Test func forwardingWithoutACopyPassesNeverOn() async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(
            Methods.accountAdd,
            AccountAddParams(address: "fwd@example.test", password: "pw", forwardTo: "far@remote.test", forwardKeepCopy: false))
        let sent = try await DeliveryDSNTests.submit(
            h, to: ["fwd@example.test"], dsn: DeliveryDSN(recipients: [RecipientDSN(notify: "NEVER")]))
        #expect(sent.recipients?.map(\.status) == [.queued])
        let queued = try await Self.queued(h)
        #expect(queued["far@remote.test"]?.notify == "NEVER" && queued["far@remote.test"]?.orcpt == "rfc822;fwd@example.test")
        try await Self.fail(h, ["far@remote.test"])
        #expect(try await Self.notices(h).isEmpty)
        #expect(try await h.admin.call(Methods.queueStatus, Empty()).messages == 0)
        await h.close()
    }

    /// Forwarding that keeps a copy reaches two places, a multiple-recipient alias
    /// (§5.2.7.3 (c)): the sender asked for SUCCESS, so it hears `expanded` for the account,
    /// not `delivered`; the forwarded copy keeps FAILURE only, and its failure is reported.
    @Test func forwardingWithACopyIsAnExpansion() async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(
            Methods.accountAdd,
            AccountAddParams(address: "fwd@example.test", password: "pw", forwardTo: "far@remote.test", forwardKeepCopy: true))
        let sent = try await DeliveryDSNTests.submit(
            h, to: ["fwd@example.test"], dsn: DeliveryDSN(envid: "e-9", recipients: [RecipientDSN(notify: "SUCCESS,FAILURE")]))
        #expect(sent.recipients?.map(\.status) == [.delivered])
        // The forwarded copy waits in the queue (SMTP then answers "queued", not "delivered").
        #expect(sent.recipients?.map(\.alsoQueued) == [true])
        #expect(try await h.inbox("fwd@example.test").count == 1)
        let queued = try await Self.queued(h)
        #expect(queued["far@remote.test"]?.notify == "FAILURE" && queued["far@remote.test"]?.orcpt == "rfc822;fwd@example.test")
        var notices = try await Self.notices(h)
        try #require(notices.count == 1)
        #expect(notices[0].contains("\r\n\r\nOriginal-Envelope-Id: e-9\r\n"))
        #expect(
            notices[0].contains(
                "\r\nFinal-Recipient: rfc822; fwd@example.test\r\nAction: expanded\r\nStatus: 2.0.0\r\n"
                    + "Diagnostic-Code: smtp; 250 2.0.0 passed on to 2 addresses\r\n"))
        #expect(!notices[0].contains("Action: delivered") && !notices[0].contains("far@remote.test"))
        try await Self.fail(h, ["far@remote.test"])
        notices = try await Self.notices(h)
        try #require(notices.count == 2)
        #expect(
            notices[1].contains(
                "Original-Recipient: rfc822; fwd@example.test\r\nFinal-Recipient: rfc822; far@remote.test\r\nAction: failed\r\n"))
        await h.close()
    }

    /// A group with a local and two remote members and NOTIFY=SUCCESS: one `expanded` notice for
    /// the group; its remote members are queued with NEVER (SUCCESS taken out), so their
    /// failures are not reported; the local member's delivery makes no `delivered` notice.
    @Test func aGroupWithNotifySuccessIsExpandedAndItsMembersNever() async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(
            Methods.groupAdd,
            GroupAddParams(address: "team@example.test", members: ["bob@example.test", "far@remote.test", "y@remote.test"]))
        let sent = try await DeliveryDSNTests.submit(
            h, to: ["team@example.test"], dsn: DeliveryDSN(recipients: [RecipientDSN(notify: "SUCCESS", orcpt: "rfc822;Team@example.test")])
        )
        #expect(sent.recipients?.map(\.status) == [.delivered])
        let queued = try await Self.queued(h)
        #expect(queued["far@remote.test"]?.notify == "NEVER" && queued["y@remote.test"]?.notify == "NEVER")
        #expect(queued["far@remote.test"]?.orcpt == "rfc822;Team@example.test")
        var notices = try await Self.notices(h)
        try #require(notices.count == 1)
        #expect(
            notices[0].contains(
                "\r\nOriginal-Recipient: rfc822; Team@example.test\r\nFinal-Recipient: rfc822; team@example.test\r\nAction: expanded\r\n"))
        #expect(notices[0].components(separatedBy: "Final-Recipient:").count == 2)
        try await Self.fail(h, ["far@remote.test", "y@remote.test"])
        notices = try await Self.notices(h)
        #expect(notices.count == 1, "NOTIFY=NEVER for the members")
        await h.close()
    }

    /// A group of remote members only, and no NOTIFY: no notice at commit (nothing asked for
    /// success), the members get ORCPT, and a member's failure is bounced naming the group.
    @Test func aGroupWithoutNotifyBouncesAMembersFailure() async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(
            Methods.groupAdd, GroupAddParams(address: "team@example.test", members: ["far@remote.test", "y@remote.test"]))
        let sent = try await QueueTests.send(h, to: ["team@example.test"])
        #expect(sent.recipients?.map(\.status) == [.queued])
        let queued = try await Self.queued(h)
        #expect(queued["far@remote.test"]?.notify == nil && queued["far@remote.test"]?.orcpt == "rfc822;team@example.test")
        #expect(try await Self.notices(h).isEmpty)
        try await Self.fail(h, ["far@remote.test"])
        let notices = try await Self.notices(h)
        try #require(notices.count == 1)
        #expect(
            notices[0].contains(
                "Original-Recipient: rfc822; team@example.test\r\nFinal-Recipient: rfc822; far@remote.test\r\nAction: failed\r\n"))
        await h.close()
    }

    /// A group of remote members only with NOTIFY=SUCCESS is expanded although nothing was
    /// delivered here yet: it was accepted and passed on (status queued).
    @Test func aGroupOfRemoteMembersOnlyIsExpandedWhenQueued() async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(
            Methods.groupAdd, GroupAddParams(address: "team@example.test", members: ["far@remote.test", "y@remote.test"]))
        let sent = try await DeliveryDSNTests.submit(
            h, to: ["team@example.test"], dsn: DeliveryDSN(recipients: [RecipientDSN(notify: "SUCCESS,DELAY")]))
        #expect(sent.recipients?.map(\.status) == [.queued])
        let queued = try await Self.queued(h)
        #expect(queued["far@remote.test"]?.notify == "DELAY")
        let notices = try await Self.notices(h)
        try #require(notices.count == 1)
        #expect(notices[0].contains("Final-Recipient: rfc822; team@example.test\r\nAction: expanded\r\n"))
        await h.close()
    }

    /// Where a direct recipient and an alias lead to the same address, the first envelope
    /// recipient's parameters go with it.
    @Test func theFirstRecipientToReachAnAddressGivesItsParameters() async throws {
        let h = try await QueueTests.harness()
        _ = try await h.admin.call(Methods.aliasAdd, AliasParams(address: "out@example.test", targets: ["far@remote.test"]))
        _ = try await DeliveryDSNTests.submit(
            h, to: ["far@remote.test", "out@example.test"],
            dsn: DeliveryDSN(recipients: [RecipientDSN(notify: "DELAY"), RecipientDSN(notify: "NEVER")]))
        let queued = try await Self.queued(h)
        #expect(queued.count == 1)
        #expect(queued["far@remote.test"]?.notify == "DELAY" && queued["far@remote.test"]?.orcpt == nil)
        await h.close()
    }
}
