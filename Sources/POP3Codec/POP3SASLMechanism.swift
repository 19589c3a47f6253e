/// A SASL mechanism name (RFC 4422 §3.1), stored in uppercase. A struct rather than an enum so a
/// deployment can offer a mechanism this module does not know; such a mechanism is passed through
/// to the back-end like SCRAM.
public struct POP3SASLMechanism: Hashable, Sendable, CustomStringConvertible {
    public let name: String

    /// RFC 4422 §3.1: `sasl-mech = 1*20mech-char`, `mech-char = UPPER-ALPHA / DIGIT / HYPHEN /
    /// UNDERSCORE`. Names are compared case-insensitively; returns nil for an invalid name.
    public init?(_ name: String) {
        let upper = Array(name.utf8).map { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z") ? $0 - 32 : $0 }
        guard (1...20).contains(upper.count),
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
    public static let plain = POP3SASLMechanism(known: "PLAIN")
    /// draft-murchison-sasl-login-00.
    public static let login = POP3SASLMechanism(known: "LOGIN")
    /// RFC 2195.
    public static let cramMD5 = POP3SASLMechanism(known: "CRAM-MD5")
    /// RFC 7677; the back-end runs the exchange, the session only relays its messages.
    public static let scramSHA256 = POP3SASLMechanism(known: "SCRAM-SHA-256")

    /// Mechanisms that carry the password in the clear and so need TLS unless the configuration
    /// allows plaintext (RFC 2595 §2.2, DESIGN §5).
    public var isPlaintext: Bool { self == .plain || self == .login }

    public var description: String { name }
}
