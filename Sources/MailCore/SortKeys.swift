/// What IMAP SORT and THREAD (RFC 5256) need of a message, taken from its header once and
/// kept by the store (`MailMessage` makes it from a header: `SortKeys(header:)`), so sorting a
/// mailbox reads small rows instead of parsing headers.
///
/// Strings are compared as RFC 5256 §7 asks (i;unicode-casemap): they are kept case-folded,
/// so plain byte order is the collation.
public struct SortKeys: Sendable, Equatable {
    /// The sent date (§2.2) in seconds since 1970 UTC; nil when the Date field is missing or
    /// not a date (the internal date is used then).
    public var sentDate: Int64?
    /// The base subject (§2.1), case-folded.
    public var baseSubject: String
    /// §3 REFERENCES: extracting the base subject removed a reply or forward marker.
    public var isReplyOrForward: Bool
    /// The addr-mailbox of the first From, To and Cc address, case-folded ("" when absent).
    public var from: String
    public var to: String
    public var cc: String
    /// The normalised Message-ID (§3: `<"a"@b>` and `<a@b>` are the same), nil when none.
    public var messageID: String?
    /// §3 REFERENCES: the Message IDs of References, or else the first of In-Reply-To.
    public var references: [String]

    public init(
        sentDate: Int64?, baseSubject: String, isReplyOrForward: Bool, from: String, to: String, cc: String, messageID: String?,
        references: [String]
    ) {
        self.sentDate = sentDate
        self.baseSubject = baseSubject
        self.isReplyOrForward = isReplyOrForward
        self.from = from
        self.to = to
        self.cc = cc
        self.messageID = messageID
        self.references = references
    }
}
