/// What the codec must do next for an exchange (STYLE §3). The codec wraps each in its own wire
/// form (SMTP `334`, POP3 and IMAP `+`, an LDAP bind response) and its own replies.
public enum SASLAction: Sendable, Hashable {
    /// Send this server challenge (not yet base64-encoded) and pass the client's next response
    /// line to `SASLExchange.receive(line:)`.
    case challenge([UInt8])
    /// Ask the back-end for a challenge for this mechanism (CRAM-MD5: the back-end issues and
    /// remembers it); answer with `SASLExchange.challengeIssued(_:)`.
    case issueChallenge(SASLMechanism)
    /// Relay one client message to the back-end, which runs the mechanism (SCRAM); `first` marks
    /// the client-first-message. Answer with `SASLExchange.relayed(_:)`, or end the exchange
    /// when the back-end refuses.
    case relay([UInt8], first: Bool)
    /// The exchange is over: verify these credentials with the back-end.
    case authenticate(SASLCredentials)
    /// The exchange is over: the back-end vouched for `identity`. `additionalData` is server-final
    /// data for a protocol that carries it with the success (LDAP's serverSaslCreds); with
    /// `SASLExchange.SuccessData.challenge` it was sent as a last challenge and is nil here.
    case succeeded(identity: String, additionalData: [UInt8]?)
    /// The exchange is over and failed; nothing was sent to the back-end for the final step.
    case failed(SASLError)
}

/// The back-end's answer to one relayed step (`SASLAction.relay`).
public enum SASLRelayResult: Sendable, Hashable {
    /// The next server message (SCRAM's server-first-message).
    case challenge([UInt8])
    /// Authenticated as `identity`; `final` is server data the client must see (SCRAM's
    /// server-final-message, RFC 5802 §5).
    case succeeded(identity: String, final: [UInt8]?)
}

/// The server side of one SASL exchange (RFC 4422 §5) as a value: start it with the client's
/// initial response, if any, feed it the client's response lines and the back-end's answers, and
/// perform the `SASLAction` each call returns. The secrets are checked elsewhere: PLAIN and LOGIN
/// end in credentials, CRAM-MD5 in credentials over a back-end challenge, and every other
/// mechanism (SCRAM-SHA-256, RFC 5802 / RFC 7677) is relayed message by message:
///
///     client-first  → .relay(first: true)      server-first  ← relayed(.challenge)
///     client-final  → .relay(first: false)     server-final  ← relayed(.succeeded(final:))
///     empty response (SuccessData.challenge)   → .succeeded
///
/// Every illegal call ends the exchange with `.failed`, never a crash.
public struct SASLExchange: Sendable, Hashable {
    /// How the protocol carries server data that comes with success (RFC 4422 §5 item 5).
    public enum SuccessData: Sendable, Hashable {
        /// As a last challenge the client answers with an empty response, then success: SMTP
        /// (RFC 4954 §4), POP3 (RFC 5034 §4), IMAP (RFC 3501 §6.2.2).
        case challenge
        /// In the success response itself: LDAP (RFC 4513 §5.2.1.6, serverSaslCreds).
        case withOutcome
    }

    private enum State: Sendable, Hashable {
        case unstarted
        case awaitingResponse(Step)
        case awaitingChallenge
        case awaitingRelay
        case finished
    }

    private enum Step: Sendable, Hashable {
        case plainMessage
        case loginUsername
        case loginPassword(username: String)
        case cramMD5Response(challenge: String)
        case relayed(first: Bool)
        case acknowledgement(identity: String)
    }

    /// draft-murchison-sasl-login-00 §2: "it is recommended that the challenge strings
    /// transmitted by the server be "Username:" and "Password:" respectively".
    public static let loginUsernamePrompt = Array("Username:".utf8)
    public static let loginPasswordPrompt = Array("Password:".utf8)

    public let mechanism: SASLMechanism
    public let successData: SuccessData
    private var state = State.unstarted
    /// True while the back-end holds state for this exchange (a relayed mechanism between its
    /// first message and its outcome): a codec that ends the exchange early tells it to forget.
    public private(set) var isRelayOpen = false

    public init(mechanism: SASLMechanism, successData: SuccessData = .challenge) {
        self.mechanism = mechanism
        self.successData = successData
    }

    /// True while the exchange waits for a client response line.
    public var isAwaitingResponse: Bool {
        if case .awaitingResponse = state { return true }
        return false
    }

    /// True while the exchange waits for `challengeIssued(_:)`.
    public var isAwaitingChallenge: Bool { state == .awaitingChallenge }

    /// True while the exchange waits for `relayed(_:)`.
    public var isAwaitingRelay: Bool { state == .awaitingRelay }

    public var isFinished: Bool { state == .finished }

    /// Begins the exchange: RFC 4954 §4, RFC 5034 §4, RFC 4959 §3. `initialResponse` is nil when
    /// the command had none, `.empty` for `=`.
    public mutating func start(initialResponse: SASLInitialResponse?) -> SASLAction {
        guard state == .unstarted else { return fail(.unexpectedInput) }
        switch mechanism {
        case .plain:
            guard let initialResponse else { return ask(.plainMessage, challenge: []) }
            return step(.plainMessage, initialResponse.bytes)
        case .login:
            // The draft lets a client send the user name as an initial response; an empty one
            // (`=`) names no one, so the server asks, as it does without one.
            guard let initialResponse, !initialResponse.bytes.isEmpty else {
                return ask(.loginUsername, challenge: Self.loginUsernamePrompt)
            }
            return step(.loginUsername, initialResponse.bytes)
        case .cramMD5:
            // RFC 2195 §2: the server speaks first, so an initial response is a protocol error.
            guard initialResponse == nil else { return fail(.initialResponseNotAllowed) }
            state = .awaitingChallenge
            return .issueChallenge(mechanism)
        default:
            // RFC 5802 §5: client-first; an empty challenge asks for the client-first-message.
            guard let initialResponse else { return ask(.relayed(first: true), challenge: []) }
            return relay(initialResponse.bytes, first: true)
        }
    }

    /// One client response line as received (base64, empty, or `*`), without its line ending.
    public mutating func receive(line: some Collection<UInt8>) -> SASLAction {
        guard isAwaitingResponse else { return fail(.unexpectedInput) }
        switch SASLResponse.parse(line) {
        case .success(let response): return receive(response)
        case .failure(let error): return fail(error.code)
        }
    }

    /// One decoded client response (for protocols without base64 on the wire, such as LDAP).
    public mutating func receive(_ response: SASLResponse) -> SASLAction {
        guard case .awaitingResponse(let current) = state else { return fail(.unexpectedInput) }
        switch response {
        case .cancel: return fail(.cancelled)
        case .message(let message): return step(current, message)
        }
    }

    /// The back-end's answer to `.issueChallenge`: the CRAM-MD5 challenge text (RFC 2195 §2,
    /// e.g. `<1896.697170952@postoffice.reston.mci.net>`).
    public mutating func challengeIssued(_ challenge: String) -> SASLAction {
        guard state == .awaitingChallenge else { return fail(.unexpectedInput) }
        return ask(.cramMD5Response(challenge: challenge), challenge: Array(challenge.utf8))
    }

    /// The back-end's answer to `.relay`.
    public mutating func relayed(_ result: SASLRelayResult) -> SASLAction {
        guard state == .awaitingRelay else { return fail(.unexpectedInput) }
        switch result {
        case .challenge(let challenge):
            return ask(.relayed(first: false), challenge: challenge)
        case .succeeded(let identity, let final):
            isRelayOpen = false
            if let final, successData == .challenge {
                // RFC 4954 §4, RFC 5034 §4: the last server data goes out as a challenge, and
                // the client answers it with an empty response.
                return ask(.acknowledgement(identity: identity), challenge: final)
            }
            state = .finished
            return .succeeded(identity: identity, additionalData: final)
        }
    }

    // MARK: Steps

    private mutating func step(_ current: Step, _ message: [UInt8]) -> SASLAction {
        switch current {
        case .plainMessage:
            return finish(SASLCredentials.parsePlain(message))
        case .loginUsername:
            guard let username = Self.field(message), !username.isEmpty else {
                return fail(message.count > SASLLimits.field ? .fieldTooLong : .malformedMessage)
            }
            return ask(.loginPassword(username: username), challenge: Self.loginPasswordPrompt)
        case .loginPassword(let username):
            guard let password = Self.field(message) else {
                return fail(message.count > SASLLimits.field ? .fieldTooLong : .malformedMessage)
            }
            state = .finished
            return .authenticate(.login(username: username, password: password))
        case .cramMD5Response(let challenge):
            return finish(SASLCredentials.parseCRAMMD5(message, challenge: challenge))
        case .relayed(let first):
            return relay(message, first: first)
        case .acknowledgement(let identity):
            guard message.isEmpty else { return fail(.expectedEmptyResponse) }
            state = .finished
            return .succeeded(identity: identity, additionalData: nil)
        }
    }

    private mutating func ask(_ next: Step, challenge: [UInt8]) -> SASLAction {
        state = .awaitingResponse(next)
        return .challenge(challenge)
    }

    private mutating func relay(_ message: [UInt8], first: Bool) -> SASLAction {
        state = .awaitingRelay
        isRelayOpen = true
        return .relay(message, first: first)
    }

    private mutating func finish(_ parsed: Result<SASLCredentials, SASLError>) -> SASLAction {
        switch parsed {
        case .success(let credentials):
            state = .finished
            return .authenticate(credentials)
        case .failure(let error):
            return fail(error.code)
        }
    }

    private mutating func fail(_ code: SASLError.Code) -> SASLAction {
        state = .finished
        return .failed(SASLError(code))
    }

    /// A LOGIN field: UTF-8 (draft-murchison-sasl-login-00 §2) of at most `SASLLimits.field` octets.
    private static func field(_ bytes: [UInt8]) -> String? {
        guard bytes.count <= SASLLimits.field else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
