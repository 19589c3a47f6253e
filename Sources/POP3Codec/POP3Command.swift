public import NIOCore
public import SASL

/// The keyword of a POP3 command (RFC 1939 §4-§7, RFC 2449 §5, RFC 2595 §4, RFC 5034 §4).
public enum POP3CommandKeyword: String, CaseIterable, Hashable, Sendable {
    case user = "USER"
    case pass = "PASS"
    case apop = "APOP"
    case auth = "AUTH"
    case capa = "CAPA"
    case stls = "STLS"
    case stat = "STAT"
    case list = "LIST"
    case retr = "RETR"
    case dele = "DELE"
    case noop = "NOOP"
    case rset = "RSET"
    case top = "TOP"
    case uidl = "UIDL"
    case quit = "QUIT"
}

/// A parsed POP3 command. Message numbers are 1-based positions in the maildrop snapshot.
public enum POP3Command: Hashable, Sendable {
    /// RFC 1939 §7: `USER name`.
    case user(String)
    /// RFC 1939 §7: `PASS string`, the whole rest of the line.
    case pass(String)
    /// RFC 1939 §7: `APOP name digest`; the digest is normalised to lowercase hex.
    case apop(name: String, digest: String)
    /// RFC 5034 §4: `AUTH mechanism [initial-response]`; a bare `AUTH` lists mechanisms
    /// (RFC 1734 clients). The initial response is decoded; `=` is an empty one.
    case auth(mechanism: SASLMechanism?, initialResponse: ByteBuffer?)
    /// RFC 2449 §5.
    case capa
    /// RFC 2595 §4.
    case stls
    /// RFC 1939 §5.
    case stat
    /// RFC 1939 §5: `LIST [msg]`.
    case list(Int?)
    /// RFC 1939 §5: `RETR msg`.
    case retr(Int)
    /// RFC 1939 §5: `DELE msg`.
    case dele(Int)
    /// RFC 1939 §5.
    case noop
    /// RFC 1939 §5.
    case rset
    /// RFC 1939 §7: `TOP msg n`, n ≥ 0 body lines.
    case top(Int, lines: Int)
    /// RFC 1939 §7: `UIDL [msg]`.
    case uidl(Int?)
    /// RFC 1939 §4, §6.
    case quit

    public var keyword: POP3CommandKeyword {
        switch self {
        case .user: .user
        case .pass: .pass
        case .apop: .apop
        case .auth: .auth
        case .capa: .capa
        case .stls: .stls
        case .stat: .stat
        case .list: .list
        case .retr: .retr
        case .dele: .dele
        case .noop: .noop
        case .rset: .rset
        case .top: .top
        case .uidl: .uidl
        case .quit: .quit
        }
    }
}
