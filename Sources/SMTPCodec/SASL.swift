import MailCore

/// The SASL mechanisms the session can run (RFC 4954 §4). The session does the framing
/// (334 continuations, base64, `*` to cancel); the gateway and back-end check the secrets.
public enum SASLMechanism: String, Sendable, Hashable, CaseIterable {
    /// RFC 4616.
    case plain = "PLAIN"
    /// draft-murchison-sasl-login: username and password prompts.
    case login = "LOGIN"
    /// RFC 2195: the gateway supplies the challenge.
    case cramMD5 = "CRAM-MD5"
    /// RFC 5802 / RFC 7677: relayed step by step to the gateway (`SMTPAction.relaySASL`),
    /// which runs it with the back-end.
    case scramSHA256 = "SCRAM-SHA-256"

    /// Sends the password in the clear; offered only over TLS unless configured otherwise
    /// (RFC 4954 §4, DESIGN §5).
    public var isPlaintext: Bool { self == .plain || self == .login }
}

/// What the client proved, for the back-end to verify. `description` never shows a secret.
public enum SASLCredentials: Sendable, Hashable, CustomStringConvertible {
    case plain(authorizationID: String, authenticationID: String, password: String)
    case login(username: String, password: String)
    /// `digest` is the client's lower-case hex HMAC-MD5 of `challenge` (RFC 2195 §2).
    case cramMD5(username: String, digest: String, challenge: String)

    public var mechanism: SASLMechanism {
        switch self {
        case .plain: .plain
        case .login: .login
        case .cramMD5: .cramMD5
        }
    }

    public var username: String {
        switch self {
        case .plain(_, let user, _), .login(let user, _), .cramMD5(let user, _, _): user
        }
    }

    public var description: String { "\(mechanism.rawValue)(\(username), <redacted>)" }

    // RFC 4616 §2:
    //   message   = [authzid] UTF8NUL authcid UTF8NUL passwd
    //   authcid   = 1*SAFE ; MUST accept up to 255 octets
    //   passwd    = 1*SAFE ; MUST accept up to 255 octets
    static func plain(_ message: [UInt8]) -> SASLCredentials? {
        let parts = message.split(separator: 0, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty,
            let authorization = String(validating: parts[0], as: UTF8.self),
            let authentication = String(validating: parts[1], as: UTF8.self),
            let password = String(validating: parts[2], as: UTF8.self)
        else { return nil }
        return .plain(authorizationID: authorization, authenticationID: authentication, password: password)
    }

    // RFC 2195 §2: the response is the user name, a space, and 32 lower-case hex digits.
    static func cramMD5(_ response: [UInt8], challenge: String) -> SASLCredentials? {
        guard let space = response.lastIndex(of: UInt8(ascii: " ")), space > 0,
            let user = String(validating: response[..<space], as: UTF8.self)
        else { return nil }
        let digest = response[(space + 1)...]
        guard digest.count == 32, digest.allSatisfy({ isDigit($0) || (97...102).contains($0) }) else { return nil }
        return .cramMD5(username: user, digest: String(decoding: digest, as: UTF8.self), challenge: challenge)
    }
}

/// Where a SASL exchange stands between continuation lines (RFC 4954 §4).
enum SASLExchange: Sendable, Hashable {
    case plainResponse
    case loginUsername
    case loginPassword(username: String)
    case cramMD5Response(challenge: String)
    /// The next client message of a relayed mechanism (SCRAM).
    case relayed(SASLMechanism)
    /// The mechanism succeeded with final server data sent as a 334 challenge; the client must
    /// answer with an empty line (RFC 4954 §4) before 235.
    case acknowledgeSuccess(identity: String)
}

/// The gateway's answer to one relayed SASL step (`SMTPAction.relaySASL`).
public enum SASLStep: Sendable, Hashable {
    /// Send this challenge (334) and relay the client's next response.
    case challenge([UInt8])
    /// Authenticated as `identity`; `final` is server data the client must see first (SCRAM's
    /// server-final-message), sent as a last 334 challenge.
    case succeeded(identity: String, final: [UInt8]?)
    case failed(SMTPReply)
}

extension SMTPReply {
    /// `334 ` followed by base64 (RFC 4954 §4); no enhanced code on 3yz replies (RFC 2034 §4).
    static func saslChallenge(_ bytes: some Collection<UInt8>) -> SMTPReply {
        SMTPReply(334, nil, Base64.encode(bytes))
    }
}
