public import NIOCore
public import RPCProtocol
public import RPCTransport

/// What one client connection of any gateway asks of the back-end before and around a login
/// (issue 7 §3): every login mechanism, the SCRAM relay, and the typed meaning of a failure.
/// Each gateway maps `LoginFailure` to its replies in one place (STYLE §8); none compares
/// error-kind strings. Futures complete on the caller's event loop.
public struct BackendSession: Sendable {
    public let client: RPCClient
    /// `pop3`, `smtp`, `imap`: what the back-end logs and throttles by.
    public let service: String
    public let clientAddress: ClientAddress

    public init(client: RPCClient, service: String, clientAddress: ClientAddress) {
        self.client = client
        self.service = service
        self.clientAddress = clientAddress
    }

    /// A credential as a mechanism produced it, before the back-end checks it.
    public enum Credentials: Sendable, Hashable {
        /// USER/PASS, LOGIN, PLAIN (with its authorization identity, if any).
        case password(user: String, password: String, authorizationIdentity: String?)
        /// RFC 1939 §7: the digest over the back-end's greeting challenge.
        case apop(user: String, timestamp: String, digest: String)
        /// RFC 2195: the digest over the back-end's challenge.
        case cramMD5(user: String, challenge: String, digest: String)

        public var user: String {
            switch self {
            case .password(let user, _, _), .apop(let user, _, _), .cramMD5(let user, _, _): user
            }
        }
    }

    /// Why a login did not succeed, as every protocol needs to tell it apart.
    public enum LoginFailure: Sendable, Hashable {
        /// Wrong credentials, a disabled account, a malformed name: never saying which.
        case rejected
        /// Too many failures: try again after this many seconds (at least 1), when known.
        case throttled(retryAfterSeconds: Int?)
        /// The server's problem (back-end unreachable, overloaded, timed out, internal).
        case temporary
    }

    /// The one classification of a login error (Protocol/README.md §5): `auth_failed`,
    /// `account_disabled` and `invalid_params` (a name that is no address) are a rejection;
    /// `auth_throttled` carries its delay; anything else is temporary.
    public static func loginFailure(_ error: any Error) -> LoginFailure {
        guard let error = error as? RPCError else { return .temporary }
        if error.is(.authFailed) || error.is(.accountDisabled) || error.is(.invalidParams) { return .rejected }
        if error.is(.authThrottled) {
            return .throttled(retryAfterSeconds: error.data?.retryAfterMs.map { max(1, ($0 + 999) / 1000) })
        }
        return .temporary
    }

    // MARK: - Logins

    /// Checks `credentials`; succeeds with the back-end session. An authorization identity
    /// other than the user would be proxy authentication, which Loft does not offer: refused
    /// like a wrong password (RFC 4616 §2).
    public func login(_ credentials: Credentials, on loop: any EventLoop) -> EventLoopFuture<SessionResult> {
        Self.patient(on: loop, giveUpAt: .now() + Self.overloadPatience) { self.checkOnce(credentials, on: loop) }
    }

    /// The back-end answers a password check beyond its queue at once with `overloaded`, so
    /// that its memory stays bounded; in a login storm (every client of a restarted gateway
    /// reconnecting at once) most logins would then fail. The gateway waits and asks again
    /// instead, with jittered back-off, for up to this long: a login is slower, not refused.
    static let overloadPatience: TimeAmount = .seconds(20)

    static func patient<T: Sendable>(
        on loop: any EventLoop, giveUpAt deadline: NIODeadline, attempt: Int = 0,
        _ call: @escaping @Sendable () -> EventLoopFuture<T>
    ) -> EventLoopFuture<T> {
        call().flatMapError { error in
            guard let rpc = error as? RPCError, rpc.is(.overloaded) else { return loop.makeFailedFuture(error) }
            let delay = TimeAmount.milliseconds(Int64(min(1000, 50 << min(attempt, 5))) * Int64.random(in: 50...150) / 100)
            guard NIODeadline.now() + delay < deadline else { return loop.makeFailedFuture(error) }
            return loop.flatScheduleTask(in: delay) { patient(on: loop, giveUpAt: deadline, attempt: attempt + 1, call) }.futureResult
        }
    }

    private func checkOnce(_ credentials: Credentials, on loop: any EventLoop) -> EventLoopFuture<SessionResult> {
        let address = clientAddress.text
        let future: EventLoopFuture<SessionResult>
        switch credentials {
        case .password(let user, let password, let authorizationIdentity):
            if let authorizationIdentity, !authorizationIdentity.isEmpty, authorizationIdentity != user {
                return loop.makeFailedFuture(RPCError(.authFailed, "authorization identity refused"))
            }
            future = client.callFuture(
                Methods.authLogin, LoginParams(username: user, password: password, clientAddress: address, service: service))
        case .apop(let user, let timestamp, let digest):
            future = client.callFuture(
                Methods.authAPOP,
                APOPParams(username: user, timestamp: timestamp, digest: digest, clientAddress: address, service: service))
        case .cramMD5(let user, let challenge, let digest):
            future = client.callFuture(
                Methods.authCRAMMD5,
                CRAMMD5Params(username: user, challenge: challenge, digest: digest, clientAddress: address, service: service))
        }
        return future.hop(to: loop)
    }

    /// A new token for a valid `session`, with a full lifetime (`session.refresh`): a
    /// long-lived connection calls it before `expiresAt` comes near.
    public func refresh(_ session: String, on loop: any EventLoop) -> EventLoopFuture<SessionResult> {
        client.callFuture(Methods.sessionRefresh, SessionParams(session: session)).hop(to: loop)
    }

    /// True when less than `margin` of the session's life is left (6 hours: a quarter of the
    /// default 24).
    public static func needsRefresh(_ session: SessionResult, now: Int64, margin: Int64 = 6 * 3600) -> Bool {
        session.expiresAt - now < margin
    }

    /// A one-time APOP greeting timestamp or CRAM-MD5 challenge (RFC 1939 §7, RFC 2195 §2),
    /// issued by the back-end, which accepts a response to it once (DESIGN §2). A short
    /// timeout: a POP3 greeting waits for it, and goes out without one when the back-end is slow.
    public func challenge(hostname: String, on loop: any EventLoop) -> EventLoopFuture<String> {
        client.callFuture(Methods.authChallenge, ChallengeParams(service: service, hostname: hostname), timeout: .seconds(5))
            .map(\.challenge).hop(to: loop)
    }

    /// SCRAM-SHA-256's first step (RFC 5802, RFC 7677), computed in the back-end: the
    /// client-first-message in, the server-first-message and the exchange's id out.
    public func scramBegin(clientFirst: String, on loop: any EventLoop) -> EventLoopFuture<SCRAMChallenge> {
        client.callFuture(
            Methods.authSCRAMBegin,
            SCRAMBeginParams(clientFirst: clientFirst, clientAddress: clientAddress.text, service: service)
        ).hop(to: loop)
    }

    /// SCRAM-SHA-256's second step: the proof checked; the session and the server signature out.
    public func scramFinish(exchange: String, clientFinal: String, on loop: any EventLoop) -> EventLoopFuture<SCRAMResult> {
        client.callFuture(Methods.authSCRAMFinish, SCRAMFinishParams(exchange: exchange, clientFinal: clientFinal))
            .hop(to: loop)
    }
}

/// A relayed SCRAM-SHA-256 exchange between its two steps: which step comes next, and the
/// back-end's id for it. Protocols keep one per connection.
public struct SCRAMRelay: Sendable {
    public private(set) var exchange: String?
    public init() {}

    public enum Step: Sendable {
        case begin(clientFirst: String)
        case finish(exchange: String, clientFinal: String)
    }

    /// What to ask the back-end for `message`, the client's next SCRAM message.
    public mutating func step(_ message: String) -> Step {
        if let exchange {
            self.exchange = nil
            return .finish(exchange: exchange, clientFinal: message)
        }
        return .begin(clientFirst: message)
    }

    /// The back-end answered the first step.
    public mutating func began(_ challenge: SCRAMChallenge) {
        exchange = challenge.exchange
    }
}
