/// One message of the maildrop as the back-end listed it when the session took the lock.
public struct POP3MaildropEntry: Hashable, Sendable {
    /// The unique-id listing value (RFC 1939 §7 UIDL): 1 to 70 octets in 0x21-0x7E, stable
    /// across sessions. The back-end guarantees the form; the session does not rewrite it.
    public var uid: String
    /// The size in octets as the client will receive it (CRLF line ends, before stuffing).
    public var size: Int

    public init(uid: String, size: Int) {
        self.uid = uid
        self.size = size
    }
}

/// The TRANSACTION-state view of the maildrop: the snapshot taken at login, numbered 1...n, and
/// the deletion marks (RFC 1939 §5). Marks only become deletions in the UPDATE state.
struct POP3Maildrop: Sendable {
    enum Lookup: Equatable {
        case message(POP3MaildropEntry)
        case noSuchMessage
        case deleted
    }

    let entries: [POP3MaildropEntry]
    private var deleted: [Bool]

    init(_ entries: [POP3MaildropEntry]) {
        self.entries = entries
        self.deleted = Array(repeating: false, count: entries.count)
    }

    func lookup(_ number: Int) -> Lookup {
        guard number >= 1, number <= entries.count else { return .noSuchMessage }
        return deleted[number - 1] ? .deleted : .message(entries[number - 1])
    }

    /// Marks message `number`; the caller has checked `lookup` first.
    mutating func markDeleted(_ number: Int) { deleted[number - 1] = true }

    mutating func unmarkAll() { deleted = Array(repeating: false, count: entries.count) }

    /// Message numbers and entries not marked as deleted (RFC 1939 §5 STAT, LIST, UIDL).
    var live: [(number: Int, entry: POP3MaildropEntry)] {
        entries.indices.filter { !deleted[$0] }.map { ($0 + 1, entries[$0]) }
    }

    /// The first message after message `number` not marked as deleted, or nil at the end.
    func nextLive(after number: Int) -> (number: Int, entry: POP3MaildropEntry)? {
        var index = max(number, 0)
        while index < entries.count {
            if !deleted[index] { return (index + 1, entries[index]) }
            index += 1
        }
        return nil
    }

    var liveCount: Int { deleted.lazy.filter { !$0 }.count }
    var liveSize: Int { entries.indices.lazy.filter { !deleted[$0] }.map { entries[$0].size }.reduce(0, +) }
    var deletedUIDs: [String] { entries.indices.filter { deleted[$0] }.map { entries[$0].uid } }
    var count: Int { entries.count }
}
