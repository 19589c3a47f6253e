public import NIOCore
public import SASL

/// What the gateway must do, in the order given. The session never does I/O (STYLE §3).
///
/// Actions that end with "await" leave the session waiting: it keeps later input (pipelined
/// commands, RFC 2920) unprocessed until the gateway delivers the matching event.
public enum SMTPAction: Sendable, Equatable {
    /// Write the reply. Write every reply of one `receive` call, then flush (RFC 2920 §3.2
    /// lets a server batch the replies of a pipelined group).
    case send(SMTPReply)
    /// Wait the gateway's greeting pause, reading meanwhile, then answer with
    /// `.greetingPauseEnded` (`SMTPSessionConfiguration.pausesGreeting`).
    case pauseGreeting
    /// Flush what was written, then start the TLS handshake; answer with `.tlsEstablished` or
    /// `.tlsFailed`. Bytes read before the handshake must not be passed on (RFC 3207 §5); the
    /// session drops any it has and any it still receives.
    case startTLS
    /// Await (only with `SMTPSessionConfiguration.verifiesSender`): may this client use this
    /// reverse-path? RFC 6409 §6.1: a submission server may refuse a sender that does not belong
    /// to the authenticated user. Answer with `.senderChecked`.
    case checkSender(ReversePath, envelope: SMTPEnvelope)
    /// Await: ask the back-end about one recipient; answer with `.recipientChecked`.
    case checkRecipient(SMTPRecipient, envelope: SMTPEnvelope)
    /// Await: make a CRAM-MD5 challenge; answer with `.challengeIssued`.
    case issueChallenge(SASLMechanism)
    /// Await: pass one client message of a relayed mechanism (SCRAM-SHA-256) to the back-end;
    /// answer with `.saslStepped`. The first message of an exchange comes with `first: true`.
    case relaySASL(SASLMechanism, [UInt8], first: Bool)
    /// Await: verify credentials with the back-end; answer with `.authenticationFinished`.
    case authenticate(SASLCredentials)
    /// Start an upload to the back-end for this envelope (DESIGN §2: begin / append / commit).
    case beginMessage(SMTPEnvelope)
    /// Append message bytes to the upload. Chunks are at most `flushThreshold` bytes.
    case appendMessage(ByteBuffer)
    /// Await: commit the upload; answer with `.messageCommitted`. `size` is the RFC 1870 size.
    case commitMessage(SMTPEnvelope, size: Int)
    /// Throw the upload away (message refused, transaction reset, connection ending).
    case abortMessage
    /// The message's data arrived and the session refused it itself with `reply` (too big,
    /// bare LF or CR, an unterminated line): for the gateway's log, before `abortMessage`.
    case messageRefused(SMTPEnvelope, SMTPReply)
    /// Flush, then close the connection.
    case close(SMTPCloseReason)
}

public enum SMTPCloseReason: Sendable, Hashable {
    case quit
    case timeout
    case tooManyErrors
    /// The client sent something before the greeting (`pausesGreeting`).
    case talkedBeforeGreeting
    case tlsFailed
    case peerClosed
    /// The gateway delivered an event the session could not be waiting for.
    case unexpectedEvent(String)
}
