/// A SASL mechanism name (RFC 4422 §3.1), stored in uppercase, so codecs list what they offer and
/// configurations name what to offer. A struct rather than an enum so a deployment can offer a
/// mechanism this module does not know; `SASLExchange` relays such a mechanism to the back-end
/// like SCRAM.
public struct SASLMechanism: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    /// RFC 4422 §3.1:
    ///
    ///     sasl-mech    = 1*20mech-char
    ///     mech-char    = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
    ///
    /// Names are compared case-insensitively (RFC 4954 §4, RFC 5034 §4); nil for an invalid name.
    public init?(_ name: some StringProtocol) {
        let upper = name.utf8.map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }
        guard (1...SASLLimits.mechanismName).contains(upper.count),
            upper.allSatisfy({
                ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_")
            })
        else { return nil }
        self.name = String(decoding: upper, as: UTF8.self)
    }

    private init(known name: String) { self.name = name }

    /// RFC 4616.
    public static let plain = SASLMechanism(known: "PLAIN")
    /// draft-murchison-sasl-login-00: "Username:" and "Password:" prompts.
    public static let login = SASLMechanism(known: "LOGIN")
    /// RFC 2195: the back-end issues the challenge.
    public static let cramMD5 = SASLMechanism(known: "CRAM-MD5")
    /// RFC 5802 / RFC 7677: the back-end computes every step; the exchange relays them.
    public static let scramSHA256 = SASLMechanism(known: "SCRAM-SHA-256")

    /// Sends the password in the clear, so it is offered only over TLS unless the configuration
    /// allows plaintext (RFC 4954 §4, RFC 2595 §2.2, DESIGN §5).
    public var isPlaintext: Bool { self == .plain || self == .login }

    public var description: String { name }
}
