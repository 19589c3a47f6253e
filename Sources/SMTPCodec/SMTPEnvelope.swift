/// One recipient accepted (or to be checked) in a mail transaction.
public struct SMTPRecipient: Sendable, Hashable {
    public var forwardPath: ForwardPath
    public var parameters: RecipientParameters

    public init(forwardPath: ForwardPath, parameters: RecipientParameters = RecipientParameters()) {
        self.forwardPath = forwardPath
        self.parameters = parameters
    }
}

/// The SMTP envelope of the current transaction (RFC 5321 §2.3.1) plus what the session knows
/// about the client, as the back-end needs it for routing and relay control (DESIGN §4).
public struct SMTPEnvelope: Sendable, Hashable {
    /// The EHLO/HELO argument.
    public var clientName: String
    public var usedEHLO: Bool
    public var tlsActive: Bool
    /// Set after a successful AUTH (RFC 4954).
    public var authenticatedIdentity: String?
    public var reversePath: ReversePath
    public var mailParameters: MailParameters
    /// Accepted recipients, in the order the client gave them.
    public var recipients: [SMTPRecipient]

    public init(
        clientName: String = "", usedEHLO: Bool = false, tlsActive: Bool = false,
        authenticatedIdentity: String? = nil, reversePath: ReversePath = .null,
        mailParameters: MailParameters = MailParameters(), recipients: [SMTPRecipient] = []
    ) {
        self.clientName = clientName
        self.usedEHLO = usedEHLO
        self.tlsActive = tlsActive
        self.authenticatedIdentity = authenticatedIdentity
        self.reversePath = reversePath
        self.mailParameters = mailParameters
        self.recipients = recipients
    }
}

extension SMTPEnvelope {
    /// The `with` keyword of the Received field for this transaction (RFC 3848 §2, RFC 6531
    /// §3.7.3): ESMTP, then S for TLS and A for AUTH; UTF8SMTP when the transaction used
    /// SMTPUTF8; plain SMTP after HELO.
    public var protocolName: String {
        guard usedEHLO else { return "SMTP" }
        var name = mailParameters.smtpUTF8 ? "UTF8SMTP" : "ESMTP"
        if tlsActive { name += "S" }
        if authenticatedIdentity != nil { name += "A" }
        return name
    }
}
