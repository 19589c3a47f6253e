/// What the client proved, for the back-end to verify. `description` never shows a secret.
public enum SASLCredentials: Sendable, Hashable, CustomStringConvertible {
    /// RFC 4616. `authorizationID` is empty or equal to `authenticationID`: any other authzid
    /// would be proxy authentication, which Loft does not offer, and the exchange refuses it.
    case plain(authorizationID: String, authenticationID: String, password: String)
    /// draft-murchison-sasl-login-00.
    case login(username: String, password: String)
    /// RFC 2195 §2: `digest` is the client's HMAC-MD5 of `challenge`, normalised to lowercase hex.
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

    public var password: String? {
        switch self {
        case .plain(_, _, let password), .login(_, let password): password
        case .cramMD5: nil
        }
    }

    public var description: String { "\(mechanism)(\(username), <redacted>)" }

    /// RFC 4616 §2:
    ///
    ///     message   = [authzid] UTF8NUL authcid UTF8NUL passwd
    ///     authcid   = 1*SAFE ; MUST accept up to 255 octets
    ///     authzid   = 1*SAFE ; MUST accept up to 255 octets
    ///     passwd    = 1*SAFE ; MUST accept up to 255 octets
    ///     UTF8NUL   = %x00 ; UTF-8 encoded NUL character
    ///
    ///     SAFE      = UTF1 / UTF2 / UTF3 / UTF4
    ///                 ;; any UTF-8 encoded Unicode character except NUL
    ///
    /// "If the authorization identity (authzid) is absent, the server derives it from the
    /// authentication identity" (§2); a different one is refused (no proxy authentication).
    public static func parsePlain(_ message: [UInt8]) -> Result<SASLCredentials, SASLError> {
        let parts = message.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[1].isEmpty, !parts[2].isEmpty else { return .failure(SASLError(.malformedMessage)) }
        guard parts.allSatisfy({ $0.count <= SASLLimits.field }) else { return .failure(SASLError(.fieldTooLong)) }
        guard let authorization = String(validating: parts[0], as: UTF8.self),
            let authentication = String(validating: parts[1], as: UTF8.self),
            let password = String(validating: parts[2], as: UTF8.self)
        else { return .failure(SASLError(.malformedMessage)) }
        guard authorization.isEmpty || authorization == authentication else {
            return .failure(SASLError(.authorizationIdentityRefused))
        }
        return .success(.plain(authorizationID: authorization, authenticationID: authentication, password: password))
    }

    /// RFC 2195 §2: "The client makes note of the data and then responds with a string consisting
    /// of the user name, a space, and a 'digest'. ... The digest ... is sent in hexadecimal
    /// format, using lower-case ASCII characters." As a rule:
    ///
    ///     response = user SP 32(DIGIT / %x61-66)
    ///
    /// Upper-case hex is accepted too and normalised; the user name is the text before the last
    /// space (user names may contain spaces).
    public static func parseCRAMMD5(_ response: [UInt8], challenge: String) -> Result<SASLCredentials, SASLError> {
        guard let space = response.lastIndex(of: UInt8(ascii: " ")), space > 0,
            let user = String(validating: response[..<space], as: UTF8.self)
        else { return .failure(SASLError(.malformedMessage)) }
        guard space <= SASLLimits.field else { return .failure(SASLError(.fieldTooLong)) }
        let digest = response[(space + 1)...]
        let isHex = { (b: UInt8) in (48...57).contains(b) || (97...102).contains(b) || (65...70).contains(b) }
        guard digest.count == 32, digest.allSatisfy(isHex) else { return .failure(SASLError(.malformedMessage)) }
        let lower = digest.map { (65...70).contains($0) ? $0 + 32 : $0 }
        return .success(.cramMD5(username: user, digest: String(decoding: lower, as: UTF8.self), challenge: challenge))
    }
}
