public import SASL

/// One SMTP command as parsed from a command line (RFC 5321 §4.1.1, plus STARTTLS RFC 3207,
/// AUTH RFC 4954 and BDAT RFC 3030).
public enum SMTPCommand: Sendable, Hashable {
    case helo(domain: String)
    case ehlo(domain: String)
    case mail(reversePath: ReversePath, parameters: MailParameters)
    case rcpt(forwardPath: ForwardPath, parameters: RecipientParameters)
    case data
    case bdat(size: Int, last: Bool)
    case rset
    case noop(String?)
    case quit
    case vrfy(String)
    case expn(String)
    case help(String?)
    case starttls
    case auth(mechanism: String, initialResponse: SASLInitialResponse?)

    public var verb: SMTPVerb {
        switch self {
        case .helo: .helo
        case .ehlo: .ehlo
        case .mail: .mail
        case .rcpt: .rcpt
        case .data: .data
        case .bdat: .bdat
        case .rset: .rset
        case .noop: .noop
        case .quit: .quit
        case .vrfy: .vrfy
        case .expn: .expn
        case .help: .help
        case .starttls: .starttls
        case .auth: .auth
        }
    }
}

/// The command verbs this server knows; the state tables are keyed by them.
public enum SMTPVerb: String, Sendable, Hashable, CaseIterable {
    case helo = "HELO", ehlo = "EHLO", mail = "MAIL", rcpt = "RCPT", data = "DATA", bdat = "BDAT"
    case rset = "RSET", noop = "NOOP", quit = "QUIT", vrfy = "VRFY", expn = "EXPN", help = "HELP"
    case starttls = "STARTTLS", auth = "AUTH"
}

/// `Mailbox = Local-part "@" ( Domain / address-literal )` (RFC 5321 §4.1.2), with the
/// RFC 6531 §3.3 UTF-8 extension. Both parts are kept as sent (a quoted local part keeps its
/// quotes) so that nothing is lost; comparison rules belong to the back-end.
public struct Mailbox: Sendable, Hashable, CustomStringConvertible {
    public var localPart: String
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    public var description: String { "\(localPart)@\(domain)" }
    /// False when the address needs SMTPUTF8 (RFC 6531 §3.3).
    public var isASCII: Bool { localPart.utf8.allSatisfy { $0 < 0x80 } && domain.utf8.allSatisfy { $0 < 0x80 } }
}

/// `Reverse-path = Path / "<>"` (RFC 5321 §4.1.2). Source routes are dropped (§4.1.1.3, Appendix C).
public enum ReversePath: Sendable, Hashable, CustomStringConvertible {
    /// `<>`: bounces and other notifications (RFC 5321 §4.5.5).
    case null
    case mailbox(Mailbox)

    public var description: String {
        switch self {
        case .null: "<>"
        case .mailbox(let mailbox): "<\(mailbox)>"
        }
    }
    public var isASCII: Bool {
        if case .mailbox(let mailbox) = self { return mailbox.isASCII }
        return true
    }
}

/// `Forward-path`, plus the bare `<Postmaster>` that RFC 5321 §4.1.1.3 requires servers to take.
public enum ForwardPath: Sendable, Hashable, CustomStringConvertible {
    case postmaster
    case mailbox(Mailbox)

    public var description: String {
        switch self {
        case .postmaster: "<Postmaster>"
        case .mailbox(let mailbox): "<\(mailbox)>"
        }
    }
    public var isASCII: Bool {
        if case .mailbox(let mailbox) = self { return mailbox.isASCII }
        return true
    }
}

/// BODY= values: RFC 1652 (7BIT, 8BITMIME) and RFC 3030 §3 (BINARYMIME).
public enum BodyType: String, Sendable, Hashable, CaseIterable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
    case binaryMIME = "BINARYMIME"
}

/// RET= (RFC 3461 §4.3).
public enum DSNReturn: String, Sendable, Hashable, CaseIterable {
    case full = "FULL"
    case headers = "HDRS"
}

/// NOTIFY= (RFC 3461 §4.1): NEVER, or any of SUCCESS, FAILURE, DELAY.
public enum DSNNotify: Sendable, Hashable {
    case never
    case on(Set<Condition>)

    public enum Condition: String, Sendable, Hashable, CaseIterable {
        case success = "SUCCESS"
        case failure = "FAILURE"
        case delay = "DELAY"
    }
}

/// ORCPT= (RFC 3461 §4.2): `addr-type ";" xtext`, the address xtext-decoded.
public struct OriginalRecipient: Sendable, Hashable {
    public var addressType: String
    public var address: String

    public init(addressType: String, address: String) {
        self.addressType = addressType
        self.address = address
    }
}

/// AUTH= on MAIL (RFC 4954 §5): the xtext-decoded mailbox, or `<>` meaning "unknown".
public enum AuthParameter: Sendable, Hashable {
    case unknown
    case identity(String)
}

/// The ESMTP parameters of MAIL FROM, typed. Each is nil/false when absent.
public struct MailParameters: Sendable, Hashable {
    /// SIZE= (RFC 1870 §6): the client's estimate. Values beyond `Int.max` read as `Int.max`.
    public var size: Int?
    public var body: BodyType?
    /// SMTPUTF8 (RFC 6531 §3.4), which takes no value.
    public var smtpUTF8: Bool
    public var ret: DSNReturn?
    /// ENVID= (RFC 3461 §4.4), xtext-decoded.
    public var envelopeID: String?
    public var auth: AuthParameter?

    public init(
        size: Int? = nil, body: BodyType? = nil, smtpUTF8: Bool = false, ret: DSNReturn? = nil,
        envelopeID: String? = nil, auth: AuthParameter? = nil
    ) {
        self.size = size
        self.body = body
        self.smtpUTF8 = smtpUTF8
        self.ret = ret
        self.envelopeID = envelopeID
        self.auth = auth
    }

    /// The extensions these parameters rely on; the session refuses any the config does not offer.
    public var requiredExtensions: SMTPExtensions {
        var required: SMTPExtensions = []
        if size != nil { required.insert(.size) }
        if body == .eightBitMIME { required.insert(.eightBitMIME) }
        if body == .binaryMIME { required.insert(.binaryMIME) }
        if smtpUTF8 { required.insert(.smtpUTF8) }
        if ret != nil || envelopeID != nil { required.insert(.dsn) }
        return required
    }
}

/// The ESMTP parameters of RCPT TO, typed (RFC 3461 §4.1, §4.2).
public struct RecipientParameters: Sendable, Hashable {
    public var notify: DSNNotify?
    public var originalRecipient: OriginalRecipient?

    public init(notify: DSNNotify? = nil, originalRecipient: OriginalRecipient? = nil) {
        self.notify = notify
        self.originalRecipient = originalRecipient
    }

    public var requiredExtensions: SMTPExtensions {
        notify != nil || originalRecipient != nil ? .dsn : []
    }
}
