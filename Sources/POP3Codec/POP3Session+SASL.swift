import NIOCore

/// The AUTH exchange (RFC 5034 §4). PLAIN (RFC 4616) and LOGIN (draft-murchison-sasl-login)
/// are decoded here into a password check; CRAM-MD5 (RFC 2195) takes its challenge from the
/// gateway and is decoded here into a digest check; SCRAM (RFC 5802, RFC 7677) and any other
/// configured mechanism are relayed message by message to the back-end, which does the crypto.
extension POP3Session {
    /// draft-murchison-sasl-login-00 §2: the customary prompts.
    static let loginUsernamePrompt = ByteBuffer(string: "Username:")
    static let loginPasswordPrompt = ByteBuffer(string: "Password:")

    mutating func startSASL(
        _ mechanism: POP3SASLMechanism, initialResponse: ByteBuffer?, into actions: inout [POP3Action]
    ) {
        guard configuration.saslMechanisms.contains(mechanism) else {
            actions.append(.send(.err("unsupported authentication mechanism")))
            return
        }
        guard !mechanism.isPlaintext || plaintextPermitted else {
            actions.append(.send(Self.plaintextRefused))
            return
        }
        switch mechanism {
        case .plain:
            if let initialResponse {
                finishPlain(initialResponse, into: &actions)
            } else {
                stateStorage = .authorization(.sasl(.plain))
                actions.append(.send(.continuation(ByteBuffer())))
            }
        case .login:
            // The draft allows the user name as an initial response.
            if let initialResponse, initialResponse.readableBytes > 0 {
                guard let user = Self.utf8(initialResponse) else {
                    saslMalformed(into: &actions)
                    return
                }
                stateStorage = .authorization(.sasl(.loginPassword(user: user)))
                actions.append(.send(.continuation(Self.loginPasswordPrompt)))
            } else {
                stateStorage = .authorization(.sasl(.loginUsername))
                actions.append(.send(.continuation(Self.loginUsernamePrompt)))
            }
        case .cramMD5:
            // RFC 2195 §2: the server speaks first, so an initial response is a protocol error.
            guard initialResponse == nil else {
                actions.append(.send(.err("CRAM-MD5 takes no initial response")))
                return
            }
            stateStorage = .authorization(.awaitingSASLServer(.cramMD5))
            actions.append(.saslStart(mechanism: .cramMD5, initialResponse: nil))
        default:
            if let initialResponse {
                stateStorage = .authorization(.awaitingSASLServer(mechanism))
                actions.append(.saslStart(mechanism: mechanism, initialResponse: initialResponse))
            } else {
                // RFC 5034 §4: an empty challenge asks for the client's first message.
                stateStorage = .authorization(.sasl(.passThroughFirst(mechanism)))
                actions.append(.send(.continuation(ByteBuffer())))
            }
        }
    }

    /// One client line during an exchange. RFC 5034 §4: the line is base64 (empty for an empty
    /// response), or `*` to cancel, which the server answers with `-ERR`.
    mutating func handleSASLResponse(_ line: ByteBuffer, step: SASLStep, into actions: inout [POP3Action]) {
        let bytes = line.readableBytesView
        if bytes.count == 1, bytes.first == UInt8(ascii: "*") {
            abortSASL(step, reply: .err("authentication cancelled"), into: &actions)
            return
        }
        guard let response = POP3Command.decodeSASLResponse(bytes, allowEqualsSign: false) else {
            abortSASL(step, reply: .err("invalid base64 in SASL response"), into: &actions)
            return
        }
        switch step {
        case .plain:
            finishPlain(response, into: &actions)
        case .loginUsername:
            guard let user = Self.utf8(response), !user.isEmpty else {
                saslMalformed(into: &actions)
                return
            }
            stateStorage = .authorization(.sasl(.loginPassword(user: user)))
            actions.append(.send(.continuation(Self.loginPasswordPrompt)))
        case .loginPassword(let user):
            guard let password = Self.utf8(response) else {
                saslMalformed(into: &actions)
                return
            }
            stateStorage = .authorization(.awaitingAuthentication)
            actions.append(.authenticate(.password(user: user, password: password, authorizationIdentity: nil)))
        case .cramMD5(let challenge):
            finishCRAMMD5(response, challenge: challenge, into: &actions)
        case .passThroughFirst(let mechanism):
            stateStorage = .authorization(.awaitingSASLServer(mechanism))
            actions.append(.saslStart(mechanism: mechanism, initialResponse: response))
        case .passThrough(let mechanism):
            stateStorage = .authorization(.awaitingSASLServer(mechanism))
            actions.append(.saslContinue(response))
        case .finalAcknowledgement(let user):
            guard response.readableBytes == 0 else {
                stateStorage = .authorization(.ready)
                actions.append(.send(.err("expected an empty response")))
                return
            }
            beginMaildrop(user: user, into: &actions)
        }
    }

    /// Ends an exchange early; a mechanism the back-end runs is told to forget it.
    mutating func abortSASL(_ step: SASLStep, reply: POP3Response, into actions: inout [POP3Action]) {
        stateStorage = .authorization(.ready)
        if case .passThrough = step { actions.append(.saslAbort) }
        actions.append(.send(reply))
    }

    /// RFC 4616 §2:
    ///
    ///     message   = [authzid] UTF8NUL authcid UTF8NUL passwd
    ///     authcid   = 1*SAFE ; MUST accept up to 255 octets
    ///     passwd    = 1*SAFE ; MUST accept up to 255 octets
    private mutating func finishPlain(_ message: ByteBuffer, into actions: inout [POP3Action]) {
        let parts = Array(message.readableBytesView).split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty,
            let authorizationIdentity = String(validating: parts[0], as: UTF8.self),
            let user = String(validating: parts[1], as: UTF8.self),
            let password = String(validating: parts[2], as: UTF8.self)
        else {
            saslMalformed(into: &actions)
            return
        }
        stateStorage = .authorization(.awaitingAuthentication)
        let credentials = POP3Credentials.password(
            user: user, password: password,
            authorizationIdentity: authorizationIdentity.isEmpty ? nil : authorizationIdentity)
        actions.append(.authenticate(credentials))
    }

    /// RFC 2195 §2: the response is the user name, a space, and the digest "in lowercase hex".
    /// Uppercase hex is accepted and normalised.
    private mutating func finishCRAMMD5(_ response: ByteBuffer, challenge: String, into actions: inout [POP3Action]) {
        let bytes = Array(response.readableBytesView)
        guard let space = bytes.lastIndex(of: UInt8(ascii: " ")), space > 0,
            let user = String(validating: bytes[..<space], as: UTF8.self),
            let digest = String(validating: bytes[(space + 1)...], as: UTF8.self),
            digest.utf8.count == 32, digest.utf8.allSatisfy({ $0 < 0x80 && Character(Unicode.Scalar($0)).isHexDigit })
        else {
            saslMalformed(into: &actions)
            return
        }
        stateStorage = .authorization(.awaitingAuthentication)
        actions.append(.authenticate(.cramMD5(user: user, challenge: challenge, digest: digest.lowercased())))
    }

    /// A response that breaks the mechanism's grammar counts as a failed authentication.
    private mutating func saslMalformed(into actions: inout [POP3Action]) {
        authenticationFailed(.invalidCredentials, into: &actions)
    }

    private static func utf8(_ buffer: ByteBuffer) -> String? {
        String(validating: buffer.readableBytesView, as: UTF8.self)
    }
}
