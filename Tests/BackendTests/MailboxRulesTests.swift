import Foundation
import LoftTestSupport
import MailCore
import RPCProtocol
import RPCTransport
import Storage
import Testing

@testable import Backend

/// RFC 3501's mailbox rules through the RPC (issue 9 part 3): subscriptions as their own list,
/// DELETE's `\Noselect`, CREATE reviving a `\Noselect` name, RENAME keeping UIDVALIDITY, and an
/// error kind for each refusal.
@Suite(.timeLimit(.minutes(1))) struct MailboxRulesTests {
    /// Expects `body` to fail with `kind`.
    static func expectError<R>(
        _ kind: RPCError.Kind, _ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> R
    ) async {
        do {
            _ = try await body()
            Issue.record("\(what): expected \(kind.name), it succeeded", sourceLocation: sourceLocation)
        } catch let error as RPCError {
            #expect(error.kind == kind.name, "\(what): \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what): expected \(kind.name), got \(error)", sourceLocation: sourceLocation)
        }
    }

    static func names(_ h: BackendHarness, _ session: String) async throws -> [String: MailboxInfo] {
        let list = try await h.gateway.call(Methods.mailboxList, MailboxListParams(session: session))
        return Dictionary(uniqueKeysWithValues: list.mailboxes.map { ($0.name, $0) })
    }

    /// `names` sorted with the mailboxes every account has from its creation.
    static func withDefaults(_ names: String...) -> [String] { (StoreOptions.standardMailboxes.map(\.name) + names).sorted() }

    @Test func subscriptionsAreTheirOwnList() async throws {
        let (h, session) = try await SelectTests.harness()
        let g = h.gateway
        func subscribe(_ name: String, _ on: Bool = true) async throws {
            _ = try await g.call(Methods.mailboxSubscribe, MailboxSubscribeParams(session: session, mailbox: name, subscribed: on))
        }
        func subscriptions() async throws -> [String] {
            try await g.call(Methods.mailboxSubscriptions, SessionParams(session: session)).names
        }
        #expect(try await subscriptions() == Self.withDefaults("INBOX"))
        try await subscribe("Lists/Not yet")
        try await subscribe("Lists/Not yet")
        try await subscribe("Never", false)
        #expect(try await subscriptions() == Self.withDefaults("INBOX", "Lists/Not yet"), "a name that is no mailbox, once")
        _ = try await g.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "Work/2026"))
        try await subscribe("Work", false)
        var boxes = try await Self.names(h, session)
        #expect(boxes["Work/2026"]?.subscribed == true && boxes["Work"]?.subscribed == false)
        let subscribedOnly = try await g.call(Methods.mailboxList, MailboxListParams(session: session, subscribedOnly: true))
        #expect(subscribedOnly.mailboxes.map(\.name) == Self.withDefaults("INBOX", "Work/2026"))

        _ = try await g.call(Methods.mailboxDelete, MailboxParams(session: session, mailbox: "Work/2026"))
        #expect(try await subscriptions() == Self.withDefaults("INBOX", "Lists/Not yet", "Work/2026"), "delete keeps the subscription")
        _ = try await g.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "Work/a/b"))
        try await subscribe("Work/gone")
        _ = try await g.call(Methods.mailboxRename, MailboxRenameParams(session: session, from: "Work", to: "Play"))
        #expect(
            try await subscriptions() == Self.withDefaults("INBOX", "Lists/Not yet", "Play/2026", "Play/a", "Play/a/b", "Play/gone"))
        boxes = try await Self.names(h, session)
        #expect(boxes["Play"]?.subscribed == false && boxes["Play/a/b"]?.subscribed == true)
        await Self.expectError(.invalidMailboxName, "subscribe to a malformed name") { try await subscribe("a//b") }
        await h.close()
    }

    @Test func deleteWithChildrenLeavesNoselect() async throws {
        let (h, session) = try await SelectTests.harness()
        let g = h.gateway
        _ = try await g.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "Projects/2026", specialUse: nil))
        try await SelectTests.append(h, session, Array("Subject: kept\r\n\r\nx\r\n".utf8), mailbox: "Projects")
        try await SelectTests.append(h, session, Array("Subject: inbox\r\n\r\nx\r\n".utf8))
        let before = try await g.call(Methods.quotaGet, SessionParams(session: session))

        _ = try await g.call(Methods.mailboxDelete, MailboxParams(session: session, mailbox: "Projects"))
        let projects = try #require(try await Self.names(h, session)["Projects"])
        #expect(projects.noselect == true && projects.specialUse == nil)
        #expect(try await Self.names(h, session)["INBOX"]?.noselect == nil, "ordinary mailboxes leave it out")
        let after = try await g.call(Methods.quotaGet, SessionParams(session: session))
        #expect(after.usedBytes < before.usedBytes, "its messages are gone")

        let p = MailboxParams(session: session, mailbox: "Projects")
        await Self.expectError(.notSelectable, "select") {
            try await g.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "Projects"))
        }
        await Self.expectError(.notSelectable, "examine") {
            try await g.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "Projects", readOnly: true))
        }
        await Self.expectError(.notSelectable, "status") {
            try await g.call(Methods.mailboxStatus, MailboxStatusParams(session: session, mailbox: "Projects"))
        }
        await Self.expectError(.notSelectable, "uids") {
            try await g.call(Methods.messageUids, MessageUidsParams(session: session, mailbox: "Projects"))
        }
        await Self.expectError(.notSelectable, "list") {
            try await g.call(Methods.messageList, MessageListParams(session: session, mailbox: "Projects"))
        }
        await Self.expectError(.notSelectable, "append") {
            try await g.call(Methods.messageAppend, MessageAppendParams(session: session, mailbox: "Projects"))
        }
        for method in [Methods.messageCopy, Methods.messageMove] {
            await Self.expectError(.notSelectable, method.name) {
                try await g.call(method, MessageCopyParams(session: session, mailbox: "INBOX", uids: .all, to: "Projects"))
            }
        }
        await Self.expectError(.notEmpty, "delete a \\Noselect mailbox with children") { try await g.call(Methods.mailboxDelete, p) }

        // CREATE of its name makes it a mailbox again (Dovecot's way), empty, new UIDVALIDITY.
        let revived = try await g.call(
            Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "Projects", specialUse: "\\Archive"))
        #expect(revived.noselect == nil && revived.specialUse == "\\Archive" && revived.uidValidity != projects.uidValidity)
        let selected = try await g.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "Projects"))
        #expect(selected.status.messages == 0 && selected.status.uidNext == 1)

        // Without children it goes; a \Noselect one whose children went goes too.
        _ = try await g.call(Methods.mailboxDelete, p)
        _ = try await g.call(Methods.mailboxDelete, MailboxParams(session: session, mailbox: "Projects/2026"))
        #expect(try await Self.names(h, session)["Projects"]?.noselect == true)
        _ = try await g.call(Methods.mailboxDelete, p)
        #expect(try await Self.names(h, session).keys.sorted() == Self.withDefaults("INBOX"))
        await h.close()
    }

    @Test func renameKeepsUIDValidityExceptINBOXs() async throws {
        let (h, session) = try await SelectTests.harness()
        let g = h.gateway
        _ = try await g.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "Work/2026"))
        try await SelectTests.append(h, session, Array("Subject: a\r\n\r\nx\r\n".utf8), mailbox: "Work/2026")
        try await SelectTests.append(h, session, Array("Subject: b\r\n\r\nx\r\n".utf8), mailbox: "Work/2026")
        for n in 1...3 { try await SelectTests.append(h, session, Array("Subject: \(n)\r\n\r\nx\r\n".utf8)) }
        _ = try await g.call(
            Methods.messageExpunge, MessageExpungeParams(session: session, mailbox: "INBOX", uids: UIDSet("1"), regardlessOfFlags: true))
        let before = try await Self.names(h, session)
        _ = try await g.call(Methods.mailboxRename, MailboxRenameParams(session: session, from: "Work", to: "Old/Work"))
        let after = try await Self.names(h, session)
        #expect(after["Old/Work"]?.uidValidity == before["Work"]?.uidValidity)
        #expect(after["Old/Work/2026"]?.uidValidity == before["Work/2026"]?.uidValidity)
        let uids = try await g.call(Methods.messageUids, MessageUidsParams(session: session, mailbox: "Old/Work/2026"))
        #expect(uids.uids?.description == "1:2", "the UIDs are kept")

        // INBOX's rename moves its messages into a new mailbox: new UIDVALIDITY, UIDs from 1.
        _ = try await g.call(Methods.mailboxRename, MailboxRenameParams(session: session, from: "INBOX", to: "INBOX/old"))
        let moved = try await g.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "INBOX/old"))
        #expect(moved.uids?.description == "1:2" && moved.status.uidValidity != before["INBOX"]?.uidValidity)
        let inbox = try await g.call(Methods.mailboxSelect, MailboxSelectParams(session: session, mailbox: "INBOX"))
        #expect(inbox.status.messages == 0 && inbox.status.uidValidity == before["INBOX"]?.uidValidity && inbox.status.uidNext == 4)
        await h.close()
    }

    @Test func refusalsHaveTheirOwnKinds() async throws {
        let (h, session) = try await SelectTests.harness()
        let g = h.gateway
        _ = try await g.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "a/b"))
        await Self.expectError(.mailboxIsInbox, "delete INBOX") {
            try await g.call(Methods.mailboxDelete, MailboxParams(session: session, mailbox: "inbox"))
        }
        for (from, to) in [("a", "a"), ("a", "a/b"), ("a", "a/x/y"), ("a/b", "a/b"), ("INBOX", "inbox")] {
            await Self.expectError(.invalidRename, "rename \(from) to \(to)") {
                try await g.call(Methods.mailboxRename, MailboxRenameParams(session: session, from: from, to: to))
            }
        }
        await Self.expectError(.mailboxExists, "rename onto an existing name") {
            try await g.call(Methods.mailboxRename, MailboxRenameParams(session: session, from: "a/b", to: "a"))
        }
        // The limit is the store's (SQLiteStoreTests fills 10,000 mailboxes); here its mapping.
        let mapped = h.backend.rpcError(
            StorageError(.tooManyMailboxes, "an account may have at most 10000 mailboxes"), method: "mailbox.create")
        #expect(mapped.kind == RPCError.Kind.tooManyMailboxes.name && mapped.code == 1061 && mapped.data?.temporary == nil)
        for (kind, expected) in [
            (StorageError.Kind.mailboxIsInbox, RPCError.Kind.mailboxIsInbox), (.invalidRename, .invalidRename),
            (.notSelectable, .notSelectable), (.mailboxNotEmpty, .notEmpty),
        ] {
            #expect(h.backend.rpcError(StorageError(kind, "x"), method: "m").kind == expected.name)
        }
        // An account that may not manage mailboxes: permission_denied, as before.
        _ = try await h.admin.call(Methods.accountUpdate, AccountUpdateParams(address: "alice@example.test", mayManageMailboxes: false))
        let refused = try await h.session("alice@example.test")
        await Self.expectError(.permissionDenied, "create") {
            try await g.call(Methods.mailboxCreate, MailboxCreateParams(session: refused, mailbox: "x"))
        }
        await Self.expectError(.permissionDenied, "rename") {
            try await g.call(Methods.mailboxRename, MailboxRenameParams(session: refused, from: "a", to: "c"))
        }
        await Self.expectError(.permissionDenied, "delete, even INBOX") {
            try await g.call(Methods.mailboxDelete, MailboxParams(session: refused, mailbox: "INBOX"))
        }
        _ = try await g.call(Methods.mailboxSubscribe, MailboxSubscribeParams(session: refused, mailbox: "x", subscribed: true))
        await h.close()
    }
}
