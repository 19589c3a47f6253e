/// Which commands are valid in which phase, as data (STYLE §4). A command outside its phases
/// gets the reply listed for it; a command inside its phases must still pass its gates.
extension SMTPSession {
    /// The command-accepting phases of an SMTP session (RFC 5321 §3.3, §4.1.4; RFC 3030 §2).
    public enum Phase: String, Sendable, Hashable, CaseIterable {
        /// Greeting sent; no EHLO/HELO yet (or TLS just started, RFC 3207 §4.2).
        case greeted
        /// EHLO/HELO done; no mail transaction.
        case identified
        /// MAIL accepted; no recipient accepted yet.
        case mailGiven
        /// At least one RCPT accepted.
        case recipientsGiven
        /// At least one BDAT chunk of the message received (RFC 3030).
        case chunking
    }

    /// Commands valid in any phase. EHLO/HELO and RSET abort a transaction (RFC 5321 §4.1.4).
    static let anytime: Set<SMTPVerb> = [.helo, .ehlo, .rset, .noop, .quit, .vrfy, .expn, .help]

    /// RFC 5321 §4.1.4 (order of commands), RFC 3207 §4 (STARTTLS outside transactions),
    /// RFC 4954 §4 (AUTH not during a transaction), RFC 3030 §2 (BDAT only after RCPT, no
    /// DATA or RCPT once chunks have been sent).
    static let validCommands: [Phase: Set<SMTPVerb>] = [
        .greeted: anytime,
        .identified: anytime.union([.mail, .starttls, .auth]),
        .mailGiven: anytime.union([.rcpt]),
        .recipientsGiven: anytime.union([.rcpt, .data, .bdat]),
        .chunking: anytime.union([.bdat]),
    ]

    /// The reply to each command outside its phases.
    static let outOfSequence: [Phase: [SMTPVerb: SMTPReply]] = [
        .greeted: [
            .mail: .sendHelloFirst, .rcpt: .sendHelloFirst, .data: .sendHelloFirst, .bdat: .sendHelloFirst,
            .starttls: .sendHelloFirst, .auth: .sendHelloFirst,
        ],
        .identified: [.rcpt: .needMail, .data: .needMail, .bdat: .needMail],
        .mailGiven: [
            .mail: .nestedMail, .data: .noValidRecipients, .bdat: .noValidRecipients,
            .starttls: .notDuringTransaction, .auth: .notDuringTransaction,
        ],
        .recipientsGiven: [.mail: .nestedMail, .starttls: .notDuringTransaction, .auth: .notDuringTransaction],
        .chunking: [
            .mail: .nestedMail, .rcpt: .badSequence, .data: .dataAfterBDAT, .starttls: .notDuringTransaction,
            .auth: .notDuringTransaction,
        ],
    ]

    /// Conditions beyond the phase, checked in order once the phase allows a command.
    enum Gate: Sendable, CaseIterable {
        case tlsNotActive, tlsOffered, authOffered, notAuthenticated, authenticatedWhenRequired, chunkingOffered

        /// Checked before the phase table: a command the listener does not offer at all is
        /// "not implemented" whatever the phase.
        var precedesPhase: Bool { self == .chunkingOffered }

        /// The refusal, or nil when the gate is open.
        func check(_ session: SMTPSession, _ configuration: SMTPSessionConfiguration) -> SMTPReply? {
            switch self {
            case .tlsNotActive: session.tlsActive ? .tlsAlreadyActive : nil
            case .tlsOffered: configuration.tlsAvailable ? nil : .tlsNotAvailable
            case .authOffered: configuration.authMechanisms.isEmpty ? .authenticationNotAvailable : nil
            case .notAuthenticated: session.authenticatedIdentity == nil ? nil : .alreadyAuthenticated
            case .authenticatedWhenRequired:
                configuration.requiresAuthentication && session.authenticatedIdentity == nil
                    ? .authenticationRequired : nil
            case .chunkingOffered: configuration.extensions.contains(.chunking) ? nil : .notImplemented
            }
        }
    }

    static let gates: [SMTPVerb: [Gate]] = [
        .starttls: [.tlsNotActive, .tlsOffered],
        .auth: [.authOffered, .notAuthenticated],
        .mail: [.authenticatedWhenRequired],
        .bdat: [.chunkingOffered],
    ]

    /// The refusal for `verb` in `phase`, or nil when the phase allows it.
    static func sequenceRefusal(_ verb: SMTPVerb, in phase: Phase) -> SMTPReply? {
        if validCommands[phase]?.contains(verb) == true { return nil }
        return outOfSequence[phase]?[verb] ?? .badSequence
    }
}
