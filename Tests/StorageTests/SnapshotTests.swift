import Foundation
import Logging
import MailCore
import Testing

@testable import Storage

/// `SQLiteStore.snapshot` and `restore` (issue 14's `loft backup` / `loft restore`): body
/// removals are held off while a snapshot copies, a held removal of a body stored anew
/// meanwhile is dropped, and a snapshot restores byte-exact into an empty directory only.
@Suite(.timeLimit(.minutes(1))) struct SnapshotTests {
    static func temporary(_ what: String) -> String {
        FileManager.default.temporaryDirectory.path + "/loft-\(what)-\(UUID().uuidString)"
    }

    @Test func removalsWaitForTheSnapshotAndAreCheckedAgain() throws {
        let o = try SQLiteStoreTests.Opened(.inline(1024))
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let inbox = try o.s.mailbox(alice.id, "INBOX").id
        let gone = Fixture.body(5000, seed: 1)
        let back = Fixture.body(6000, seed: 2)
        let goneUID = try o.s.put(gone, into: alice.id)
        let backUID = try o.s.put(back, into: alice.id)
        let store = try #require(o.s.store as? SQLiteStore)
        let goneFile = o.path(try o.s.prepare(gone).digest)
        let backFile = o.path(try o.s.prepare(back).digest)

        store.files.hold()
        _ = try store.expunge(accountID: alice.id, mailboxID: inbox, uids: UIDSet([goneUID, backUID]), regardlessOfFlags: true)
        #expect(o.exists(goneFile) && o.exists(backFile), "held: a snapshot may still copy them")
        try o.s.put(back, into: alice.id)  // the same body stored again while held
        store.dropHeldFiles(store.files.release())
        #expect(!o.exists(goneFile), "unused once the hold ends: removed")
        #expect(o.exists(backFile), "stored anew meanwhile: kept")
        #expect(try store.verify(deep: true) == [])
    }

    @Test func snapshotRestoresByteExactIntoAnEmptyDirectoryOnly() throws {
        let o = try SQLiteStoreTests.Opened(.inline(1024))
        defer { o.s.finish() }
        let alice = try o.s.addAccount("alice")
        let messages = [Fixture.body(300, seed: 1), Fixture.body(5000, seed: 2), Fixture.body(70_000, seed: 3)]
        for m in messages { try o.s.put(m, prefix: Fixture.returnPath("s@remote.test"), into: alice.id) }
        try Data("sealing key".utf8).write(to: URL(fileURLWithPath: o.dir + "/secret.key"))
        let target = Self.temporary("snapshot")
        let restored = Self.temporary("restored")
        defer {
            try? FileManager.default.removeItem(atPath: target)
            try? FileManager.default.removeItem(atPath: restored)
        }
        let manifest = try o.s.store.snapshot(to: target, extraFiles: ["secret.key", "tls/cert.pem"])
        #expect(manifest.messages == 3 && manifest.bodies == 3 && manifest.fileBodies == 2 && manifest.extraFiles == ["secret.key"])

        // Refusals: a target that is not empty or not absolute; a source that is not a backup;
        // a restore target that holds a store.
        for bad in [target, "relative/dir"] {
            #expect(throws: StorageError.self) { _ = try o.s.store.snapshot(to: bad, extraFiles: []) }
        }
        #expect(throws: StorageError.self) { _ = try SQLiteStore.restore(from: o.dir, into: restored, logger: Logger(label: "t")) }
        #expect(throws: StorageError.self) { _ = try SQLiteStore.restore(from: target, into: o.dir, logger: Logger(label: "t")) }

        let (back, problems) = try SQLiteStore.restore(from: target, into: restored, logger: Logger(label: "t"))
        #expect(back == manifest && problems == [])
        #expect(try String(contentsOfFile: restored + "/secret.key", encoding: .utf8) == "sealing key")
        let copy = try SQLiteStore(directory: restored, options: .inline(1024))
        defer { try? copy.close() }
        let account = try #require(try copy.account(address: alice.address))
        let inbox = try copy.mailbox(accountID: account.id, name: mailboxName("INBOX"))
        let stored = try copy.messages(mailboxID: inbox.id, uids: nil, changedSince: nil, afterUID: nil, limit: 10, withStructure: false)
        let original = try o.s.list(o.s.mailbox(alice.id, "INBOX").id)
        #expect(try stored.map { try copy.read($0, offset: 0, length: 1 << 20) } == original.map { try o.s.whole($0) })
        #expect(stored.count == 3)
    }
}

/// One back-end per data directory (issue 14): a second store on an open directory is refused
/// with the holder's pid; once the first closes, the directory opens again.
@Suite struct DirectoryLockTests {
    @Test func aSecondStoreOnTheSameDirectoryIsRefused() throws {
        let dir = SnapshotTests.temporary("lock")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try SQLiteStore(directory: dir)
        do {
            _ = try SQLiteStore(directory: dir)
            Issue.record("a second store opened the same directory")
        } catch let error as StorageError {
            #expect(error.kind == .unusableDirectory && error.message.contains("pid \(getpid())"), "\(error)")
        }
        try first.close()
        try SQLiteStore(directory: dir).close()
    }
}
