/// An extended response code (RFC 2449 §8), written in brackets after the status indicator:
///
///     resp-code    =  "[" resp-level *("/" resp-level) "]"
///     resp-level   =  1*rchar
///
/// A struct so deployments can add codes; the known ones are static members.
public struct POP3ResponseCode: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// RFC 2449 §8.1.2: the maildrop is locked by another session.
    public static let inUse = POP3ResponseCode(rawValue: "IN-USE")
    /// RFC 2449 §8.1.1: the user must wait before logging in again.
    public static let loginDelay = POP3ResponseCode(rawValue: "LOGIN-DELAY")
    /// RFC 3206 §4: a temporary problem on the server; retrying later may succeed.
    public static let systemTemporary = POP3ResponseCode(rawValue: "SYS/TEMP")
    /// RFC 3206 §4: a permanent problem on the server.
    public static let systemPermanent = POP3ResponseCode(rawValue: "SYS/PERM")
    /// RFC 3206 §5: a problem with the credentials, or authenticating against policy.
    public static let authentication = POP3ResponseCode(rawValue: "AUTH")

    public var description: String { "[\(rawValue)]" }
}
