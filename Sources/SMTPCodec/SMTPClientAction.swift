public import NIOCore

/// Everything that can happen to a client session, as the driver reports it.
public enum SMTPClientEvent: Sendable {
    /// The TCP connection is up; the session waits for the greeting.
    case connected
    /// Bytes from the server, in order. The session frames them into replies with its
    /// `SMTPReplyLimits` and drops whatever follows a 220 to STARTTLS (RFC 3207 §5).
    case received(ByteBuffer)
    /// One reply already framed (drivers that parse themselves, and tests).
    case reply(SMTPReply)
    /// The handshake asked for by `.startTLS` completed.
    case tlsEstablished
    /// The handshake asked for by `.startTLS` failed, for the reason given (an unverifiable
    /// certificate, one for another name, no common cipher): the connection is unusable, and
    /// the reason goes into the failure's text for the log and the recipients' last reply.
    case tlsFailed(String)
    /// After `.sendBody(.data)`: the whole body and the final `.` CRLF were written.
    case bodySent
    /// The message could not be read from the store; the session gives up on the transaction.
    case bodyFailed
    /// The deadline of `currentTimeout` passed.
    case timeout
    /// The server closed the connection, or writing to it failed.
    case connectionClosed
}

/// How the driver sends the body after `.sendBody`.
public enum SMTPClientBodyMode: Sendable, Hashable {
    /// Through `SMTPClientDotStuffer`, ending with `.` CRLF; then report `.bodySent`.
    case data
    /// As BDAT chunks (RFC 3030 §2): for each chunk call `sendChunk(size:last:)`, write the
    /// header it returns and then the chunk as it is, while `wantsChunks` and
    /// `mayWriteChunk` allow.
    case bdat
}

/// What the driver must do, in order. The session never does I/O (STYLE §3).
public enum SMTPClientAction: Sendable, Equatable {
    /// Write (and flush) these command bytes.
    case send(ByteBuffer)
    /// Put TLS in front of the connection and handshake; answer `.tlsEstablished` or `.tlsFailed`.
    case startTLS
    /// Stream the message body in this mode.
    case sendBody(SMTPClientBodyMode)
    /// The outcome of every recipient of the envelope, in envelope order; once per `deliver`.
    case recipientOutcomes([SMTPRecipientOutcome])
    /// Idle with a clean state: another envelope may follow, or `quit()`.
    case ready
    /// The TLS handshake failed under `.opportunistic`: open a new connection to the same
    /// address and run a session with TLS policy `.none` on it, once.
    case reconnectWithoutTLS
    /// The session cannot go on; later envelopes are deferred with this failure's reply.
    case failed(SMTPClientFailure)
    /// Close the connection (after writing what was sent before).
    case close
}

/// Which wait the session is in, for `currentTimeout` and for the text of a timeout.
public enum SMTPClientPhase: String, Sendable, Hashable {
    case greeting = "the greeting"
    case hello = "EHLO/HELO"
    case startTLS = "STARTTLS"
    case tlsHandshake = "the TLS handshake"
    case auth = "AUTH"
    case mail = "MAIL"
    case rcpt = "RCPT"
    case dataInitiation = "DATA"
    case dataBlock = "the message data"
    case dataTermination = "the end of data"
    case reset = "RSET"
    case quit = "QUIT"
}

/// The timeout the driver must arm now (RFC 5321 §4.5.3.2).
public struct SMTPClientDeadline: Sendable, Hashable {
    public var phase: SMTPClientPhase
    public var duration: Duration
}

/// Why a session stopped being usable: a code to compare, and the reply that recipients
/// still waiting get (the server's own, or one the client made up).
public struct SMTPClientFailure: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable {
            case serviceUnavailable, tlsUnavailable, tlsFailed, timeout, connectionClosed, protocolError, messageUnavailable, authFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// A greeting other than 220, a refused EHLO and HELO, or a 421 (RFC 5321 §3.1, §3.8).
        public static let serviceUnavailable = Code(.serviceUnavailable)
        /// TLS required, but STARTTLS was not offered or was refused.
        public static let tlsUnavailable = Code(.tlsUnavailable)
        public static let tlsFailed = Code(.tlsFailed)
        public static let timeout = Code(.timeout)
        public static let connectionClosed = Code(.connectionClosed)
        /// A garbled reply, one past a limit, or one that makes no sense where it came.
        public static let protocolError = Code(.protocolError)
        /// The body could not be read (`.bodyFailed`).
        public static let messageUnavailable = Code(.messageUnavailable)
        /// The server refused the credentials, or offers no AUTH PLAIN.
        public static let authFailed = Code(.authFailed)

        public var description: String { "\(base)" }
    }

    public var code: Code
    public var reply: SMTPReply
    public var fromServer: Bool

    public init(_ code: Code, reply: SMTPReply, fromServer: Bool) {
        self.code = code
        self.reply = reply
        self.fromServer = fromServer
    }

    public var description: String { "\(code): \(reply.description.trimmingSuffixCRLF)" }
}

extension String {
    fileprivate var trimmingSuffixCRLF: String {
        var text = self
        while text.last == "\n" || text.last == "\r" || text.last == "\r\n" { text.removeLast() }
        return text
    }
}
