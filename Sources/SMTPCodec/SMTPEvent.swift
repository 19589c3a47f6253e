public import NIOCore

/// Everything that can happen to a session: bytes from the client, and the gateway's answers
/// to the actions the session asked for.
public enum SMTPEvent: Sendable {
    /// The connection is up (and, for implicit TLS, encrypted). The session answers with the
    /// greeting.
    case opened(SMTPSessionConfiguration)
    /// Bytes read from the client, in order. Framing is the session's business: command lines,
    /// AUTH continuations, DATA content and BDAT chunks all arrive this way.
    case received(ByteBuffer)
    /// The TLS handshake requested by `SMTPAction.startTLS` succeeded.
    case tlsEstablished
    /// The TLS handshake failed; the session closes.
    case tlsFailed
    /// The answer to `SMTPAction.checkSender`.
    case senderChecked(RecipientVerdict)
    /// The answer to `SMTPAction.checkRecipient`.
    case recipientChecked(RecipientVerdict)
    /// The answer to `SMTPAction.issueChallenge`: the CRAM-MD5 challenge text (RFC 2195 §2,
    /// e.g. `<1896.697170952@mail.example.org>`), which the session base64-encodes.
    case challengeIssued(String)
    /// The answer to `SMTPAction.relaySASL`.
    case saslStepped(SASLStep)
    /// The answer to `SMTPAction.authenticate`.
    case authenticationFinished(AuthenticationResult)
    /// The answer to `SMTPAction.commitMessage`.
    case messageCommitted(CommitResult)
    /// The pause asked for by `SMTPAction.pauseGreeting` is over: the session greets.
    case greetingPauseEnded
    /// The gateway's idle timer fired (RFC 5321 §4.5.3.2); the clock lives in the gateway.
    case timeout
    /// The client went away.
    case peerClosed
}

/// The back-end's opinion of one recipient (DESIGN §4: 550 5.1.1, 452 4.2.2, 552 5.3.4, ...).
public enum RecipientVerdict: Sendable, Hashable {
    case accepted
    case rejected(SMTPReply)
}

public enum AuthenticationResult: Sendable, Hashable {
    /// The identity the back-end vouches for.
    case succeeded(identity: String)
    /// Usually `SMTPReply.authenticationFailed` (535 5.7.8) or `.temporaryAuthenticationFailure`.
    case failed(SMTPReply)
}

/// How one recipient fared when the message was committed.
public enum RecipientOutcome: Sendable, Hashable {
    /// In the recipient's mailbox (or taken by a local rule: an alias, a group).
    case delivered
    /// In the outbound queue, for the relay to deliver (a remote recipient, or forwarding),
    /// whether or not a local copy was kept too.
    case queued
    case failed(SMTPReply)
}

public enum CommitResult: Sendable, Hashable {
    /// The message is durable (DESIGN §3). `recipients` is in envelope order. If at least one
    /// recipient succeeded the client gets 250: SMTP has one reply per message, so the back-end
    /// owns the failures and reports them by DSN (RFC 5321 §6.1).
    case committed(queueID: String?, recipients: [RecipientOutcome])
    /// Nothing was stored; the reply says why (451 4.3.0, 452 4.2.2, 552 5.2.2, ...).
    case failed(SMTPReply)
}
