import Foundation
import LoftTestSupport
import NIOConcurrencyHelpers
import RPCProtocol
import Storage
import Testing

@testable import Backend

/// `StoreRequest.followUp` on the store the back-end runs on: the message a stored request
/// calls for (a bounce) commits with it or not at all.
@Suite(.timeLimit(.minutes(1))) struct StoreFollowUpTests {
    /// `StoreRequest.followUp` directly on the store: called once with the stored result,
    /// inside the same transaction; not called again for a key that committed; a follow-up that
    /// throws or breaks the contract (a staged body) takes the whole store back with it.
    @Test func followUpsCommitWithTheirRequestOrNotAtAll() async throws {
        let h = try await BackendHarness(name: "loft-follow-up")
        try await h.addTestAccounts()
        let store = h.backend.store
        let alice = try #require(try store.account(address: "alice@example.test"))
        let bob = try #require(try store.account(address: "bob@example.test"))
        let calls = NIOLockedValueBox<[StoreResult]>([])
        func request(_ text: String, key: String?, followUp: StoreRequest.FollowUp?) -> StoreRequest {
            StoreRequest(
                body: .inMemory(Array(text.utf8)), structure: nil, internalDate: 1,
                placements: [Placement(accountID: alice.id, mailbox: "INBOX")],
                outcome: key.map { RecordedOutcome(key: $0) { _ in "recorded" } }, followUp: followUp)
        }
        let followUp: StoreRequest.FollowUp = { result in
            calls.withLockedValue { $0.append(result) }
            return StoreRequest(
                body: .inMemory(Array("Subject: follow-up\r\n\r\n".utf8)), structure: nil, internalDate: 1,
                placements: [Placement(accountID: bob.id, mailbox: "INBOX")], queueSender: "", queueRecipients: ["x@remote.test"])
        }

        let first = try store.store([request("Subject: one\r\n\r\n", key: "f1", followUp: followUp)], now: 1)[0]
        #expect(calls.withLockedValue { $0 } == [StoreResult(placements: first.placements, queueID: nil)])
        let followed = try #require(first.followUp)
        #expect(followed.placements.map(\.isStored) == [true])
        #expect(followed.queueID != nil)

        // The key committed: nothing is stored, the follow-up is not called.
        let again = try store.store([request("Subject: one\r\n\r\n", key: "f1", followUp: followUp)], now: 1)[0]
        #expect(again.earlierOutcome == "recorded" && again.followUp == nil)
        #expect(calls.withLockedValue { $0.count } == 1)
        #expect(try store.counts().messages == 2)

        // A follow-up that throws, or returns a staged body, fails the batch: the request it
        // followed is not stored either.
        struct Refused: Error {}
        let throwing: StoreRequest.FollowUp = { _ in throw Refused() }
        #expect(throws: Refused.self) { try store.store([request("Subject: two\r\n\r\n", key: "f2", followUp: throwing)], now: 1) }
        let staged: StoreRequest.FollowUp = { _ in
            let writer = try store.newBody()
            try writer.append(Array(repeating: UInt8(ascii: "s"), count: store.inlineBodyLimit + 1))
            return StoreRequest(
                body: try writer.finish(), structure: nil, internalDate: 1, placements: [Placement(accountID: bob.id, mailbox: "INBOX")])
        }
        #expect(throws: StorageError.self) { try store.store([request("Subject: three\r\n\r\n", key: "f3", followUp: staged)], now: 1) }
        #expect(try store.recordedOutcome(key: "f2") == nil && store.recordedOutcome(key: "f3") == nil)
        #expect(try store.counts().messages == 2)
        #expect(try store.queueEntries(limit: 10).count == 1)
        #expect(try store.verify(deep: true) == [])
        await h.close()
    }
}
