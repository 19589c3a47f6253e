public import NIOCore
public import SASL

/// Credentials the session collected, for the back-end to verify.
public enum POP3Credentials: Hashable, Sendable {
    /// USER/PASS (RFC 1939 §7), AUTH PLAIN (RFC 4616) or AUTH LOGIN. `authorizationIdentity` is
    /// PLAIN's authzid when the client sent a non-empty one; the back-end decides whether
    /// `user` may act as it.
    case password(user: String, password: String, authorizationIdentity: String?)
    /// APOP (RFC 1939 §7): `digest` is lowercase hex MD5(timestamp + secret).
    case apop(user: String, timestamp: String, digest: String)
    /// AUTH CRAM-MD5 (RFC 2195): `digest` is lowercase hex HMAC-MD5(secret, challenge).
    case cramMD5(user: String, challenge: String, digest: String)
}

/// Why the back-end refused an authentication.
public enum POP3AuthFailure: Hashable, Sendable {
    /// Wrong user name, password or digest, or a disabled account: `-ERR [AUTH]`, counted.
    case invalidCredentials
    /// Too many recent failures (DESIGN §5): `-ERR [LOGIN-DELAY]`, counted.
    case throttled(retryAfterSeconds: Int?)
    /// The back-end could not decide (unreachable, overloaded): `-ERR [SYS/TEMP]`, not counted.
    case temporaryFailure
}

/// Everything that can happen to a session: the connection opening, a client line, a back-end
/// result, a timer, TLS. The gateway feeds these to `POP3Session.receive(_:)`.
public enum POP3Event: Hashable, Sendable {
    /// The connection is accepted; the session sends the greeting.
    case opened(POP3SessionConfiguration)
    /// One line from LineFraming's `LineFramer`, without its terminator.
    case line(ByteBuffer)
    /// The framer reported an over-long line (`LineFramer.Frame.lineTooLong`).
    case lineTooLong

    /// The back-end accepted the credentials of `.authenticate` or the SASL exchange.
    /// `saslFinal` is the mechanism's additional data with success (SCRAM's server-final).
    case authSucceeded(user: String, saslFinal: ByteBuffer?)
    case authFailed(POP3AuthFailure)
    /// The next server challenge of a SASL exchange started with `.saslStart` (for CRAM-MD5, the
    /// challenge string the gateway made).
    case saslChallenge(ByteBuffer)

    /// `.acquireMaildrop` took the lock and listed the messages.
    case maildropLoaded([POP3MaildropEntry])
    /// Another session holds the lock (RFC 1939 §8, RFC 2449 §8.1.2).
    case maildropInUse
    /// The maildrop could not be opened; the back-end has released any lock it took.
    case maildropFailed

    /// Message bytes for the outstanding `.fetchMessage`, in order, split anywhere.
    case messageChunk(ByteBuffer)
    /// The outstanding `.fetchMessage` has delivered every byte.
    case messageEnd
    /// The outstanding `.fetchMessage` failed (message vanished, storage error).
    case messageFailed

    /// `.commitDeletions` is durable and the lock released.
    case updateCommitted
    /// `.commitDeletions` failed; the lock is released, some messages may remain.
    case updateFailed

    /// The TLS handshake that `.startTLS` began has completed.
    case tlsEstablished
    /// The inactivity timer expired (RFC 1939 §3 autologout: at least 10 minutes).
    case timeout
    /// The client closed the connection or it broke.
    case peerClosed
}

/// What the gateway must do, in order. The session performs nothing itself (STYLE §3).
public enum POP3Action: Hashable, Sendable {
    /// Write a response.
    case send(POP3Response)
    /// Write already-encoded bytes: a stretch of a RETR or TOP response body.
    case write(ByteBuffer)
    /// After writing everything before it: discard all buffered input (`discardBuffered`),
    /// then start the TLS handshake, then send `.tlsEstablished` (RFC 2595 §4).
    case startTLS
    /// Ask the back-end to verify credentials; answer with `.authSucceeded` or `.authFailed`.
    case authenticate(POP3Credentials)
    /// Begin a mechanism the back-end or gateway runs (CRAM-MD5's challenge, SCRAM): answer with
    /// `.saslChallenge`, `.authSucceeded` or `.authFailed`.
    case saslStart(mechanism: SASLMechanism, initialResponse: ByteBuffer?)
    /// The client's next response in that exchange, decoded.
    case saslContinue(ByteBuffer)
    /// The client cancelled the exchange (`*`); the back-end forgets it. No event follows.
    case saslAbort
    /// Lock the user's maildrop and list it: answer with `.maildropLoaded`, `.maildropInUse` or
    /// `.maildropFailed`.
    case acquireMaildrop(user: String)
    /// Stream a message's bytes: answer with `.messageChunk`s then `.messageEnd`, or
    /// `.messageFailed`. `topLines` is set for TOP, so the back-end may stop early; the
    /// session cuts the content itself either way.
    case fetchMessage(uid: String, topLines: Int?)
    /// UPDATE state (RFC 1939 §6): delete these messages, then release the lock; answer with
    /// `.updateCommitted` or `.updateFailed`. The list may be empty.
    case commitDeletions([String])
    /// Release the maildrop lock without deleting anything (the session ends other than by QUIT).
    case releaseMaildrop
    /// A fault on the server side or in the gateway's use of the session: log it. `.close`
    /// follows.
    case reportError(POP3SessionError)
    /// Close the connection after writing everything before it.
    case close
}

/// A server-side fault the gateway should log: the session ends after it (STYLE §3, §8).
public struct POP3SessionError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case unexpectedEvent
            case messageFailedMidResponse
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The gateway sent an event the session was not waiting for.
        public static let unexpectedEvent = Code(.unexpectedEvent)
        /// A message fetch failed after part of it was sent; the response cannot be completed.
        public static let messageFailedMidResponse = Code(.messageFailedMidResponse)

        public var description: String {
            switch base {
            case .unexpectedEvent: "unexpected event"
            case .messageFailedMidResponse: "message fetch failed mid-response"
            }
        }
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code): \(detail)" }
}
