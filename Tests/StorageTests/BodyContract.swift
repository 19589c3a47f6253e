import Crypto
import Foundation
import MailCore
import Storage
import Testing

/// Bodies: one per content whichever way it is stored, reference counts, the inline limit at
/// the limit, discarded writers, per-copy prefixes.
extension StorageContract {
    static let bodyChecks: [ContractCheck] = [
        ContractCheck("the same body for two accounts is one body until both copies go", sharedBody),
        ContractCheck("one body however it arrives: one request, one batch, copies", dedupWithinBatches),
        ContractCheck("bodies at the inline limit, one either side, and empty", inlineLimit),
        ContractCheck("a discarded body leaves nothing", discardedBodies),
        ContractCheck("each copy keeps its own prefix over one shared body", prefixPerCopy),
    ]

    static func sharedBody(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let bob = try s.addAccount("bob")
        for (i, size) in s.bodySizes.enumerated() {
            let bytes = Fixture.body(size, seed: 100 + i)
            let a = try s.put(bytes, into: alice.id)
            let b = try s.put(bytes, into: bob.id)
            #expect(try s.totals == (messages: 2, bodies: 1), "size \(size)")
            let aliceInbox = try s.mailbox(alice.id, "INBOX").id
            let bobInbox = try s.mailbox(bob.id, "INBOX").id
            #expect(try store.expunge(accountID: alice.id, mailboxID: aliceInbox, uids: UIDSet([a]), regardlessOfFlags: true).uids == [a])
            #expect(try s.totals == (messages: 1, bodies: 1), "size \(size)")
            #expect(try s.whole(bob.id, "INBOX", b) == bytes, "size \(size): the other copy is still readable")
            #expect(try store.verify(deep: true) == [], "size \(size)")
            #expect(try store.expunge(accountID: bob.id, mailboxID: bobInbox, uids: UIDSet([b]), regardlessOfFlags: true).uids == [b])
            #expect(try s.totals == (messages: 0, bodies: 0), "size \(size): the last copy takes the body")
            #expect(try store.verify(deep: true) == [], "size \(size): nothing of the body is left")
            // The same content can come back after it was removed.
            let c = try s.put(bytes, into: alice.id)
            #expect(try s.whole(alice.id, "INBOX", c) == bytes, "size \(size)")
            #expect(try s.totals == (messages: 1, bodies: 1), "size \(size)")
            _ = try store.expunge(accountID: alice.id, mailboxID: aliceInbox, uids: nil, regardlessOfFlags: true)
        }
    }

    static func dedupWithinBatches(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        var bob = try s.addAccount("bob")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Other"), specialUse: nil)
        for (i, size) in s.bodySizes.enumerated() {
            let bytes = Fixture.body(size, seed: 200 + i)
            // The same body twice in one batch, and twice in one request.
            _ = try store.store(
                [
                    try s.request(
                        bytes, to: [Placement(accountID: alice.id, mailbox: "INBOX"), Placement(accountID: alice.id, mailbox: "INBOX")]),
                    try s.request(bytes, to: [Placement(accountID: bob.id, mailbox: "INBOX")]),
                ], now: nil)
            #expect(try s.totals == (messages: 3, bodies: 1), "size \(size)")
            let inbox = try s.mailbox(alice.id, "INBOX")
            // A copy is one more reference: it outlives the original.
            let copied = try store.copy(accountID: alice.id, from: inbox.id, uids: .all, to: "Other", move: false)
            #expect(copied.created.count == 2)
            #expect(try s.totals == (messages: 5, bodies: 1), "size \(size)")
            _ = try store.expunge(accountID: alice.id, mailboxID: inbox.id, uids: nil, regardlessOfFlags: true)
            try store.removeAccount(address: bob.address)
            #expect(try s.totals == (messages: 2, bodies: 1), "size \(size)")
            #expect(try s.list(copied.target.id).map { try s.whole($0) } == [bytes, bytes], "size \(size)")
            try store.deleteMailbox(accountID: alice.id, name: mailboxName("Other"))
            #expect(try s.totals == (messages: 0, bodies: 0), "size \(size)")
            #expect(try store.verify(deep: true) == [], "size \(size)")
            _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Other"), specialUse: nil)
            bob = try store.addAccount(StorageUnderTest.newAccount(bob.address))
        }
    }

    /// A body of at most `inlineBodyLimit` bytes comes out of its writer in memory, a larger one
    /// as a staged file; both store and read back byte for byte.
    static func inlineLimit(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let limit = store.inlineBodyLimit
        // The appends that make each body: up to the limit and past it in one append, and
        // across it in two.
        let appends: [[Int]] = [
            [], [0], [1], [limit - 1], [limit - 1, 1], [limit], [limit, 0], [1, limit - 1], [limit + 1], [limit, 1], [1, limit],
            [limit - 1, 2], [limit + 1, 4096, 4096],
        ]
        for (i, chunks) in appends.enumerated() where chunks.allSatisfy({ $0 >= 0 }) {
            let size = chunks.reduce(0, +)
            let bytes = Fixture.body(size, seed: i)
            let writer = try store.newBody()
            var at = 0
            for chunk in chunks {
                try writer.append(Array(bytes[at..<at + chunk]))
                at += chunk
                #expect(writer.size == Int64(at))
            }
            let body = try writer.finish()
            #expect(body.size == Int64(size), "size \(size)")
            #expect(body.digest.hex == Data(SHA256.hash(data: bytes)).map { String(format: "%02x", $0) }.joined(), "size \(size)")
            #expect(try body.contents() == Data(bytes), "size \(size)")
            switch body.content {
            case .memory(let kept):
                #expect(size <= limit, "size \(size) over the limit \(limit) stayed in memory")
                #expect(kept == bytes)
            case .file:
                #expect(size > limit, "size \(size) within the limit \(limit) went to a file")
            }
            let prefix = Fixture.returnPath("s@remote.test")
            let result = try store.store(
                [
                    StoreRequest(
                        body: body, structure: nil, prefix: prefix, internalDate: 1,
                        placements: [Placement(accountID: alice.id, mailbox: "INBOX")])
                ], now: nil)
            let uid = try #require(result[0].placements[0].uid)
            let message = try s.message(alice.id, "INBOX", uid)
            #expect(message.size == Int64(prefix.count + size))
            #expect(try s.whole(message) == prefix + bytes, "size \(size)")
            #expect(try store.verify(deep: true) == [], "size \(size)")
        }
        try s.reopen()
        for record in try s.list(try s.mailbox(alice.id, "INBOX").id) {
            #expect(try s.whole(record).count == Int(record.size))
        }
    }

    static func discardedBodies(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let limit = store.inlineBodyLimit
        for (i, size) in [10, limit + 10].enumerated() {
            let bytes = Fixture.body(size, seed: i)
            let unfinished = try store.newBody()
            try unfinished.append(bytes)
            unfinished.discard()
            let finished = try s.prepare(bytes)
            finished.discard()
            #expect(try s.totals == (messages: Int64(i), bodies: Int64(i)), "size \(size)")
            #expect(try store.verify(deep: true) == [], "size \(size)")
            // The same content stores normally afterwards.
            let uid = try s.put(bytes, into: alice.id)
            #expect(try s.whole(alice.id, "INBOX", uid) == bytes)
        }
        #expect(try s.totals == (messages: 2, bodies: 2))
    }

    static func prefixPerCopy(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let bob = try s.addAccount("bob")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Copies"), specialUse: nil)
        let prefixes = [Fixture.returnPath("a@remote.test"), Fixture.returnPath("a-much-longer-sender@remote.test"), []]
        for (i, size) in s.bodySizes.enumerated() {
            let bytes = Fixture.body(size, seed: 300 + i)
            var copies: [(account: Int64, uid: UInt32, prefix: [UInt8])] = []
            for (j, prefix) in prefixes.enumerated() {
                let account = j == 1 ? bob.id : alice.id
                copies.append((account, try s.put(bytes, prefix: prefix, into: account), prefix))
            }
            #expect(try s.totals.bodies == Int64(i + 1), "size \(size): one body for the three prefixes")
            for copy in copies {
                let message = try s.message(copy.account, "INBOX", copy.uid)
                #expect(message.prefixLength == copy.prefix.count)
                #expect(message.size == Int64(copy.prefix.count + bytes.count))
                #expect(try s.whole(message) == copy.prefix + bytes)
                let batch = try store.readBatch(
                    accountID: copy.account, mailbox: .inbox, uids: [copy.uid], length: Int(message.size), budget: Int(message.size))
                #expect(batch == [.read(uid: copy.uid, bytes: copy.prefix + bytes, total: message.size)])
            }
            // A copy keeps the prefix of the message it copies.
            let copied = try store.copy(
                accountID: alice.id, from: try s.mailbox(alice.id, "INBOX").id, uids: UIDSet([copies[0].uid]), to: "Copies", move: false)
            #expect(try s.whole(alice.id, "Copies", copied.created[0]) == prefixes[0] + bytes)
        }
    }
}
