import NIOCore
import SASL

/// The AUTH exchange (RFC 5034 §4), run by the SASL module's `SASLExchange`: this file only turns
/// its steps into POP3. PLAIN (RFC 4616) and LOGIN end in a password check, CRAM-MD5 (RFC 2195)
/// in a digest check over the gateway's challenge; SCRAM (RFC 5802, RFC 7677) and any other
/// configured mechanism are relayed message by message to the back-end, which does the crypto.
extension POP3Session {
    mutating func startSASL(
        _ mechanism: SASLMechanism, initialResponse: ByteBuffer?, into actions: inout [POP3Action]
    ) {
        guard configuration.saslMechanisms.contains(mechanism) else {
            actions.append(.send(.err("unsupported authentication mechanism")))
            return
        }
        guard !mechanism.isPlaintext || plaintextPermitted else {
            actions.append(.send(Self.plaintextRefused))
            return
        }
        // The parser gives `=` as an empty buffer (RFC 5034 §4).
        let response = initialResponse.map { buffer -> SASLInitialResponse in
            buffer.readableBytes == 0 ? .empty : .bytes(Array(buffer.readableBytesView))
        }
        var exchange = SASLExchange(mechanism: mechanism)
        let step = exchange.start(initialResponse: response)
        performSASL(step, exchange, into: &actions)
    }

    /// Turns the exchange's next step into POP3: a challenge is a `+` continuation (RFC 5034 §4),
    /// the back-end steps are actions, a failure is an `-ERR`.
    mutating func performSASL(_ step: SASLAction, _ exchange: SASLExchange, into actions: inout [POP3Action]) {
        switch step {
        case .challenge(let challenge):
            stateStorage = .authorization(.sasl(exchange))
            actions.append(.send(.continuation(ByteBuffer(bytes: challenge))))
        case .issueChallenge(let mechanism):
            stateStorage = .authorization(.awaitingSASLServer(exchange))
            actions.append(.saslStart(mechanism: mechanism, initialResponse: nil))
        case .relay(let message, first: true):
            stateStorage = .authorization(.awaitingSASLServer(exchange))
            actions.append(.saslStart(mechanism: exchange.mechanism, initialResponse: ByteBuffer(bytes: message)))
        case .relay(let message, first: false):
            stateStorage = .authorization(.awaitingSASLServer(exchange))
            actions.append(.saslContinue(ByteBuffer(bytes: message)))
        case .authenticate(let credentials):
            stateStorage = .authorization(.awaitingAuthentication)
            actions.append(.authenticate(Self.credentials(credentials)))
        case .succeeded(let identity, _):
            beginMaildrop(user: identity, into: &actions)
        case .failed(let error):
            failSASL(error, exchange, into: &actions)
        }
    }

    /// One place for what each SASL failure is in POP3. A cancel, bad base64 or an over-long line
    /// ends the exchange with `-ERR`, not counted; a message that breaks the mechanism's grammar
    /// (or names another authorization identity) counts as a failed authentication.
    private mutating func failSASL(_ error: SASLError, _ exchange: SASLExchange, into actions: inout [POP3Action]) {
        stateStorage = .authorization(.ready)
        // A mechanism the back-end runs is told to forget the exchange.
        if exchange.isRelayOpen { actions.append(.saslAbort) }
        switch error.code {
        case .cancelled: actions.append(.send(.err("authentication cancelled")))
        case .invalidBase64: actions.append(.send(.err("invalid base64 in SASL response")))
        case .lineTooLong: actions.append(.send(.err("line too long")))
        case .initialResponseNotAllowed: actions.append(.send(.err("\(exchange.mechanism) takes no initial response")))
        case .expectedEmptyResponse: actions.append(.send(.err("expected an empty response")))
        default: authenticationFailed(.invalidCredentials, into: &actions)
        }
    }

    /// PLAIN and LOGIN are password checks (`authorizationIdentity` is PLAIN's authzid when the
    /// client sent one, which the exchange has checked is the user); CRAM-MD5 a digest check.
    static func credentials(_ credentials: SASLCredentials) -> POP3Credentials {
        switch credentials {
        case .plain(let authorization, let user, let password):
            .password(user: user, password: password, authorizationIdentity: authorization.isEmpty ? nil : authorization)
        case .login(let user, let password):
            .password(user: user, password: password, authorizationIdentity: nil)
        case .cramMD5(let user, let digest, let challenge):
            .cramMD5(user: user, challenge: challenge, digest: digest)
        }
    }
}
