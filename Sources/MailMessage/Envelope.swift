/// The IMAP ENVELOPE of a message (RFC 3501 §7.4.2), built from its header fields.
///
/// Strings are field values unfolded but not decoded: IMAP sends encoded words as they are.
/// Absent fields are nil, absent address lists empty (IMAP NIL).
public struct Envelope: Sendable, Equatable, Codable {
    public var date: String?
    public var subject: String?
    public var from: [EnvelopeAddress]
    public var sender: [EnvelopeAddress]
    public var replyTo: [EnvelopeAddress]
    public var to: [EnvelopeAddress]
    public var cc: [EnvelopeAddress]
    public var bcc: [EnvelopeAddress]
    public var inReplyTo: String?
    public var messageID: String?

    public init(
        date: String? = nil, subject: String? = nil, from: [EnvelopeAddress] = [],
        sender: [EnvelopeAddress] = [], replyTo: [EnvelopeAddress] = [], to: [EnvelopeAddress] = [],
        cc: [EnvelopeAddress] = [], bcc: [EnvelopeAddress] = [], inReplyTo: String? = nil,
        messageID: String? = nil
    ) {
        self.date = date
        self.subject = subject
        self.from = from
        self.sender = sender
        self.replyTo = replyTo
        self.to = to
        self.cc = cc
        self.bcc = bcc
        self.inReplyTo = inReplyTo
        self.messageID = messageID
    }

    /// Builds the envelope from the first occurrence of each field. RFC 3501 §7.4.2: "If the
    /// Sender or Reply-To lines are absent in the [RFC-2822] header, or are present but empty, the
    /// server sets the corresponding member of the envelope to be the same value as the from
    /// member."
    public init(headers: HeaderFields) {
        func addresses(_ name: String) -> [EnvelopeAddress] {
            headers[name].map(AddressParser.parse) ?? []
        }
        let from = addresses("From")
        let sender = addresses("Sender")
        let replyTo = addresses("Reply-To")
        self.init(
            date: headers["Date"],
            subject: headers["Subject"],
            from: from,
            sender: sender.isEmpty ? from : sender,
            replyTo: replyTo.isEmpty ? from : replyTo,
            to: addresses("To"),
            cc: addresses("Cc"),
            bcc: addresses("Bcc"),
            inReplyTo: headers["In-Reply-To"],
            messageID: headers["Message-ID"])
    }

    /// The subject with RFC 2047 encoded words decoded, for web mail.
    public var decodedSubject: String? {
        subject.map(EncodedWord.decode)
    }
}
