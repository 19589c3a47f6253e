/// RPCProtocol: the Codable types of Loft's back-end RPC — method names, params and results,
/// error codes, the protocol version. Protocol/README.md and Protocol/openrpc.json are the
/// specification; this module is its Swift form. Imports MailCore only (DESIGN §6).
public enum RPCVersion {
    /// The protocol version this build speaks. `hello` fails with `version_mismatch` when a
    /// caller asks for a version outside `supported`, and answers with the one asked for.
    /// 2: `message.list` carries `structure` and `envelope` as JSON objects; a version-1
    /// connection still gets them as strings holding the JSON text (Protocol/README.md §11).
    public static let current = 2
    public static let supported: ClosedRange<Int> = 1...2
}

/// The sockets and what they may do (DESIGN §2). The role comes from the socket a connection
/// arrived on, never from anything the caller says. `relay` is the outbound worker's
/// (`relay.sock`): it may lease and report queued mail and nothing else.
public enum RPCRole: String, Codable, Sendable, CaseIterable {
    case gateway
    case admin
    case relay
}

/// Hard limits of the transport, shared by client and server.
public enum RPCLimits {
    /// One JSON line, newline excluded. Both sides refuse longer lines.
    public static let maxLineBytes = 4 << 20
    /// Decoded bytes in one `upload.append` or one `message.read` answer.
    public static let maxChunkBytes = 1 << 20
    /// Requests one connection may have in flight; more are answered `overloaded` at once.
    public static let maxInFlight = 256
    /// UIDs in one `event` notification; a larger change is split into several notifications.
    public static let maxEventUIDs = 10_000
}
