import Foundation
import LoftTestSupport
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

/// Below `minFreeBytes` of free space the back-end refuses new mail with `storage_full`
/// (temporary) at every door — RCPT's check, a delivery's start, `delivery.submit`, APPEND —
/// while reads and deletions go on; with the floor lowered again, mail flows at once.
@Suite(.timeLimit(.minutes(1))) struct FreeSpaceTests {
    @Test func belowTheFloorNewMailIsRefusedButDeletingWorks() async throws {
        let h = try await BackendHarness()
        try await h.addTestAccounts()
        try await h.deliver(Array("Subject: before\r\n\r\nkept\r\n".utf8))
        try await h.restart(configure: { $0.minFreeBytes = Int64.max / 4 })
        let session = try await h.session("alice@example.test")

        let check = try await h.gateway.call(
            Methods.deliveryCheck, DeliveryCheckParams(sender: "s@remote.test", recipient: "alice@example.test", size: 100))
        #expect(check.status == .failed && check.kind == "storage_full" && check.temporary == true)
        for attempt in [
            {
                _ = try await h.gateway.call(
                    Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: ["alice@example.test"]))
            },
            {
                _ = try await h.gateway.call(
                    Methods.deliverySubmit,
                    DeliverySubmitParams(sender: "s@remote.test", recipients: ["alice@example.test"], data: Base64Data(Array("x\r\n".utf8)))
                )
            },
            { _ = try await h.gateway.call(Methods.messageAppend, MessageAppendParams(session: session, mailbox: "INBOX", size: 10)) },
        ] as [@Sendable () async throws -> Void] {
            let error = await #expect(throws: RPCError.self) { try await attempt() }
            #expect(error?.is(.storageFull) == true && error?.data?.temporary == true, "\(String(describing: error))")
        }
        // Reading and deleting still work: that is what the floor is for.
        #expect(try await h.read(session: session, uid: 1).count > 0)
        let expunged = try await h.gateway.call(
            Methods.messageExpunge, MessageExpungeParams(session: session, mailbox: "INBOX", uids: .all, regardlessOfFlags: true))
        #expect(expunged.expunged == [1])

        try await h.restart(configure: { $0.minFreeBytes = 0 })
        #expect(try await h.deliver(Array("Subject: after\r\n\r\nflows\r\n".utf8)).recipients?.first?.status == .delivered)
        await h.close()
    }
}
