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
