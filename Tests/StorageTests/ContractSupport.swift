import Foundation
import MailCore
import Storage
import Testing

/// What the checks share: accounts, bodies and deliveries made through the protocols only.
extension StorageUnderTest {
    static let domain = "example.test"
    static let date: Int64 = 1_700_000_000

    /// An account `local@example.test` (the domain is added the first time).
    @discardableResult
    func addAccount(_ local: String, quota: Int64 = 0) throws -> AccountRecord {
        if try !store.isLocalDomain(Self.domain) { _ = try store.addDomain(Self.domain) }
        return try store.addAccount(Self.newAccount("\(local)@\(Self.domain)", quota: quota))
    }

    static func newAccount(_ address: String, domain: String = domain, quota: Int64 = 0) -> NewAccount {
        NewAccount(
            address: address, domain: domain, displayName: nil, passwordHash: "hash", scramSHA256: nil, quotaBytes: quota,
            maxMessageBytes: 0, forwardTo: nil, forwardKeepCopy: true, apopSecret: nil, mayManageMailboxes: true, enabled: true)
    }

    /// Bodies on both sides of the inline limit: one stored with its rows (when the limit has
    /// room for it) and one stored apart.
    var bodySizes: [Int] { [300, store.inlineBodyLimit + 1] }

    /// `bytes` written through a new body writer in `chunk`-sized appends.
    func prepare(_ bytes: [UInt8], chunk: Int = 4096) throws -> PreparedBody {
        let writer = try store.newBody()
        var at = 0
        while at < bytes.count {
            let end = min(at + chunk, bytes.count)
            try writer.append(Array(bytes[at..<end]))
            at = end
        }
        return try writer.finish()
    }

    func request(
        _ bytes: [UInt8], prefix: [UInt8] = [], to placements: [Placement], structure: String? = nil, date: Int64 = date,
        outcome: RecordedOutcome? = nil
    ) throws -> StoreRequest {
        StoreRequest(
            body: try prepare(bytes), structure: structure, prefix: prefix, internalDate: date, placements: placements, outcome: outcome)
    }

    /// Stores one message in a batch of its own.
    func deliver(_ bytes: [UInt8], prefix: [UInt8] = [], to placements: [Placement], structure: String? = nil) throws -> StoreResult {
        try store.store([try request(bytes, prefix: prefix, to: placements, structure: structure)], now: nil)[0]
    }

    /// Stores one message in one mailbox and answers its UID.
    @discardableResult
    func put(
        _ bytes: [UInt8], prefix: [UInt8] = [], into accountID: Int64, _ mailbox: String = "INBOX", flags: MessageFlags = MessageFlags(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> UInt32 {
        let result = try deliver(bytes, prefix: prefix, to: [Placement(accountID: accountID, mailbox: mailbox, flags: flags)])
        return try #require(result.placements.first?.uid, "not stored: \(result)", sourceLocation: sourceLocation)
    }

    func mailbox(_ accountID: Int64, _ name: String) throws -> MailboxRecord {
        try store.mailbox(accountID: accountID, name: mailboxName(name))
    }

    func names(_ accountID: Int64) throws -> [String] {
        try store.mailboxes(accountID: accountID).map(\.name)
    }

    /// Every message of a mailbox, in UID order.
    func list(_ mailboxID: Int64, withStructure: Bool = false) throws -> [MessageRecord] {
        try store.messages(mailboxID: mailboxID, uids: nil, changedSince: nil, afterUID: nil, limit: 100_000, withStructure: withStructure)
    }

    func uids(_ accountID: Int64, _ name: String) throws -> [UInt32] {
        try list(try mailbox(accountID, name).id).map(\.uid)
    }

    func message(_ accountID: Int64, _ mailbox: String, _ uid: UInt32) throws -> MessageRecord {
        try store.message(accountID: accountID, mailbox: mailboxName(mailbox), uid: uid, withStructure: false)
    }

    /// The whole message as clients see it, asked for with room to spare.
    func whole(_ message: MessageRecord) throws -> [UInt8] {
        try store.read(message, offset: 0, length: Int(message.size) + 16)
    }

    func whole(_ accountID: Int64, _ mailbox: String, _ uid: UInt32) throws -> [UInt8] {
        try whole(try message(accountID, mailbox, uid))
    }

    var totals: (messages: Int64, bodies: Int64) {
        get throws { try store.counts() }
    }
}

func mailboxName(_ text: String) -> MailboxName {
    guard let name = MailboxName(text) else { fatalError("test mailbox name \(text) is not valid") }
    return name
}

enum Fixture {
    /// `count` bytes that differ with `seed` (from the first byte on), shaped like a message.
    static func body(_ count: Int, seed: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count)
        let header = Array("Subject: \(seed)\r\n\r\n".utf8)
        for i in 0..<count {
            if i < header.count && count > 2 * header.count {
                out.append(header[i])
            } else {
                out.append(UInt8(truncatingIfNeeded: (i &* 7) &+ (seed &* 13) &+ (i >> 8)))
            }
        }
        return out
    }

    static func returnPath(_ sender: String) -> [UInt8] { Array("Return-Path: <\(sender)>\r\n".utf8) }

    static let seen = MessageFlags(system: .seen)
    static let deleted = MessageFlags(system: .deleted)
}

extension PlacementResult {
    var uid: UInt32? {
        if case .stored(_, _, let uid, _) = self { return uid }
        return nil
    }
    var modseq: Int64? {
        if case .stored(_, _, _, let modseq) = self { return modseq }
        return nil
    }
    var failure: StorageError.Kind? {
        if case .failed(let error) = self { return error.kind }
        return nil
    }
}

/// Expects `body` to throw a `StorageError` of `kind`.
func expectError<R>(
    _ kind: StorageError.Kind, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> R
) {
    do {
        let value = String(describing: try body())
        Issue.record("expected \(kind), got \(value.prefix(120)) \(comment.map { "(\($0))" } ?? "")", sourceLocation: sourceLocation)
    } catch let error as StorageError {
        #expect(error.kind == kind, "\(error) \(comment.map { "(\($0))" } ?? "")", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected \(kind), got \(error) \(comment.map { "(\($0))" } ?? "")", sourceLocation: sourceLocation)
    }
}
