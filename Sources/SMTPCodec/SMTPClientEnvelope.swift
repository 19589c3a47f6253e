/// One recipient of an outbound message, with the DSN parameters the back-end recorded for it
/// when the message came in (RFC 3461 §4.1, §4.2).
public struct OutboundRecipient: Sendable, Hashable {
    public var address: Mailbox
    /// NOTIFY=; passed on only to a server that offers DSN.
    public var notify: DSNNotify?
    /// ORCPT=; passed on only to a server that offers DSN.
    public var originalRecipient: OriginalRecipient?

    public init(_ address: Mailbox, notify: DSNNotify? = nil, originalRecipient: OriginalRecipient? = nil) {
        self.address = address
        self.notify = notify
        self.originalRecipient = originalRecipient
    }
}

/// What the relay hands the SMTP client for one transaction (RFC 5321 §3.3): the envelope and
/// what it must know about the body before sending it.
public struct OutboundEnvelope: Sendable, Hashable {
    /// `.null` for notifications: `MAIL FROM:<>` (RFC 5321 §4.5.5).
    public var sender: ReversePath
    public var recipients: [OutboundRecipient]
    /// The message size in octets (RFC 1870 §4: the size as transmitted, before dot-stuffing).
    public var size: Int
    public var body: BodyType
    /// The header or the body needs SMTPUTF8 (RFC 6531 §3.2). Non-ASCII addresses need it
    /// whatever this says; see `needsSMTPUTF8`.
    public var requiresSMTPUTF8: Bool
    /// RET= (RFC 3461 §4.3).
    public var ret: DSNReturn?
    /// ENVID= (RFC 3461 §4.4), not yet xtext-encoded.
    public var envelopeID: String?

    public init(
        sender: ReversePath, recipients: [OutboundRecipient], size: Int, body: BodyType = .sevenBit,
        requiresSMTPUTF8: Bool = false, ret: DSNReturn? = nil, envelopeID: String? = nil
    ) {
        self.sender = sender
        self.recipients = recipients
        self.size = size
        self.body = body
        self.requiresSMTPUTF8 = requiresSMTPUTF8
        self.ret = ret
        self.envelopeID = envelopeID
    }

    /// RFC 6531 §3.2: a non-ASCII address in the envelope can only travel with SMTPUTF8.
    public var needsSMTPUTF8: Bool {
        requiresSMTPUTF8 || !sender.isASCII || recipients.contains { !$0.address.isASCII }
    }
}

/// How one recipient of a transaction ended.
public enum DeliveryStatus: String, Sendable, Hashable {
    /// The server took responsibility for the message (RFC 5321 §4.2.5: 250 after the data).
    case delivered
    /// Try again later, or at another MX: a 4yz reply, a timeout, a broken connection.
    case deferred
    /// A 5yz reply, or a requirement this server cannot meet (SIZE, SMTPUTF8, BINARYMIME).
    case failed
}

/// One recipient's outcome and the reply that decided it. When the client decided it without
/// a reply from the server (a timeout, a missing extension), `reply` is one the client made up
/// in the same shape, and `fromServer` is false.
public struct SMTPRecipientOutcome: Sendable, Hashable {
    public var recipient: Mailbox
    public var status: DeliveryStatus
    public var reply: SMTPReply
    public var fromServer: Bool
    /// The server offered DSN, so NOTIFY/ORCPT went with this recipient and the server now
    /// owes the DSNs; otherwise the back-end sends a "relayed" DSN when SUCCESS was asked for
    /// (RFC 3461 §4.2).
    public var dsnPassedOn: Bool
    /// The connection ended after the whole message was sent and before the server answered
    /// (RFC 5321 §6.1): it may have been delivered, so trying another MX at once would likely
    /// deliver it twice; it waits for the retry instead.
    public var uncertain: Bool

    public init(
        recipient: Mailbox, status: DeliveryStatus, reply: SMTPReply, fromServer: Bool, dsnPassedOn: Bool, uncertain: Bool = false
    ) {
        self.recipient = recipient
        self.status = status
        self.reply = reply
        self.fromServer = fromServer
        self.dsnPassedOn = dsnPassedOn
        self.uncertain = uncertain
    }
}
