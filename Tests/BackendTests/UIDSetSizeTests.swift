import Foundation
import MailCore
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// UID sets at their item limit (`UIDSet.maxRanges`) through the RPC: every method that takes
/// one must work on it and touch exactly the messages it names. SQLite refuses an expression of
/// more than 1,000 terms, which a set of that many ranges must not turn into.
@Suite(.timeLimit(.minutes(1))) struct UIDSetSizeTests {
    static let messages: UInt32 = 30
    /// 1, 3, 5, … 19,999: as many ranges as a set may hold, none adjacent, so none merge.
    static let odd = UIDSet((0..<UInt32(UIDSet.maxRanges)).map { 2 * $0 + 1 })
    static let expected: [UInt32] = (1...messages).filter { $0 % 2 == 1 }
    static let even: [UInt32] = (1...messages).filter { $0 % 2 == 0 }
    static let every: [UInt32] = Array(1...messages)

    static func mailbox() async throws -> (BackendSocketTests.Harness, String) {
        let h = try await BackendSocketTests.Harness()
        _ = try await h.admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "pw"))
        for n in 1...messages {
            let started = try await h.gateway.call(
                Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: ["alice@example.test"]))
            _ = try await h.gateway.call(
                Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array("Subject: \(n)\r\n\r\n.\r\n".utf8)))
            )
            _ = try await h.gateway.call(Methods.uploadCommit, UploadParams(upload: started.upload))
        }
        let session = try await h.gateway.call(Methods.authLogin, LoginParams(username: "alice@example.test", password: "pw")).session
        _ = try await h.gateway.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "Other"))
        return (h, session)
    }

    @Test func setHasTheMaximumNumberOfRanges() {
        #expect(Self.odd.ranges(largest: 20_000).count == UIDSet.maxRanges)
    }

    @Test func list() async throws {
        let (h, session) = try await Self.mailbox()
        let listed = try await h.gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX", uids: Self.odd))
        #expect(listed.messages.map(\.uid) == Self.expected)
        await h.close()
    }

    @Test func flags() async throws {
        let (h, session) = try await Self.mailbox()
        let result = try await h.gateway.call(
            Methods.messageFlags,
            MessageFlagsParams(session: session, mailbox: "INBOX", uids: Self.odd, operation: .add, flags: MessageFlags(system: .flagged)))
        #expect(result.updated.map(\.uid) == Self.expected)
        let listed = try await h.gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        #expect(listed.messages.filter { $0.flags.system.contains(.flagged) }.map(\.uid) == Self.expected)
        await h.close()
    }

    @Test(arguments: [false, true]) func copyOrMove(move: Bool) async throws {
        let (h, session) = try await Self.mailbox()
        let params = MessageCopyParams(session: session, mailbox: "INBOX", uids: Self.odd, to: "Other")
        let result = try await h.gateway.call(move ? Methods.messageMove : Methods.messageCopy, params)
        #expect(result.sourceUids == Self.expected)
        let other = try await h.gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "Other"))
        #expect(other.messages.count == Self.expected.count)
        let inbox = try await h.gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        let left: [UInt32] = move ? Self.even : Self.every
        #expect(inbox.messages.map(\.uid) == left)
        await h.close()
    }

    @Test func expunge() async throws {
        let (h, session) = try await Self.mailbox()
        let result = try await h.gateway.call(
            Methods.messageExpunge, MessageExpungeParams(session: session, mailbox: "INBOX", uids: Self.odd, regardlessOfFlags: true))
        #expect(result.expunged == Self.expected)
        let inbox = try await h.gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        #expect(inbox.messages.map(\.uid) == Self.even)
        await h.close()
    }
}
