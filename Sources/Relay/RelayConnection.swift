public import RPCProtocol

/// One connection to a destination host as the worker uses it; `SMTPRelayConnection` is the
/// real one, tests may give their own.
public protocol RelayConnection: Sendable {
    /// Whether another message may be sent over it.
    var isUsable: Bool { get async }
    /// Why it is not usable, for the log and the recipients' last reply.
    var problem: String? { get async }
    /// The enhanced status code for `problem` when it is more than a failed connection (TLS
    /// required but not to be had, AUTH refused: 4.7.0); nil for 4.4.1.
    var problemEnhancedCode: String? { get async }
    /// Sends `message` (its body read with `body` from an offset, nil at the end): one result
    /// per recipient, in order.
    func deliver(_ message: LeasedMessage, body: @escaping @Sendable (Int64) async throws -> [UInt8]?) async -> [RelayResult]
    func quit() async
}

extension RelayConnection {
    public var problemEnhancedCode: String? { nil }
}

/// What became of one recipient at one host.
public struct RelayResult: Sendable, Equatable {
    /// `delivered`, `deferred` or `failed` (the queue's words).
    public var result: String
    public var code: Int?
    public var enhancedCode: String?
    public var text: String?
    public var remoteMTA: String?
    public var dsnPassedOn: Bool
    /// The host never answered for it (the connection failed or dropped): worth trying the
    /// next host now rather than waiting for a retry.
    public var connectionLevel: Bool

    public init(
        result: String, code: Int? = nil, enhancedCode: String? = nil, text: String? = nil, remoteMTA: String? = nil,
        dsnPassedOn: Bool = false, connectionLevel: Bool = false
    ) {
        self.result = result
        self.code = code
        self.enhancedCode = enhancedCode
        self.text = text
        self.remoteMTA = remoteMTA
        self.dsnPassedOn = dsnPassedOn
        self.connectionLevel = connectionLevel
    }

    func outcome(_ recipient: String) -> QueueOutcome {
        QueueOutcome(
            recipient: recipient, result: result, code: code, enhancedCode: enhancedCode, text: text, remoteMta: remoteMTA,
            dsnPassedOn: dsnPassedOn)
    }
}

/// Opens connections to a hop (its host name, port and TLS policy) at one of its addresses.
public struct RelayConnector: Sendable {
    public let open: @Sendable (_ hop: RelayHop, _ address: String) async throws -> any RelayConnection
    public init(open: @escaping @Sendable (_ hop: RelayHop, _ address: String) async throws -> any RelayConnection) {
        self.open = open
    }

    /// A connector that needs only the host name, address and port (tests).
    public init(connect: @escaping @Sendable (_ host: String, _ address: String, _ port: Int) async throws -> any RelayConnection) {
        self.open = { hop, address in try await connect(hop.host, address, hop.port) }
    }

    public func connect(_ hop: RelayHop, _ address: String) async throws -> any RelayConnection {
        try await open(hop, address)
    }
}
