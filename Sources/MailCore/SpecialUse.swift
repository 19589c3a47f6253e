/// RFC 6154 §2: the special uses a stored mailbox can have here (`\All` and `\Flagged` name
/// virtual mailboxes, which Loft has not), and the mailboxes every account gets by default.
public enum SpecialUse {
    public static let attributes = ["\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"]

    /// What a new account gets besides INBOX unless `backend.default_mailboxes` says otherwise.
    public static let defaultMailboxes: [(name: String, specialUse: String)] = [
        ("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"), ("Junk", "\\Junk"), ("Archive", "\\Archive"),
    ]

    /// `word` (with or without its backslash, in any case) as the attribute it names, or nil.
    public static func attribute(_ word: String) -> String? {
        let bare = word.hasPrefix("\\") ? word.dropFirst() : Substring(word)
        return attributes.first { $0.dropFirst().lowercased() == bare.lowercased() }
    }
}
