public import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS
public import SMTPCodec

/// How the relay talks to other MTAs.
public struct SMTPClientConfiguration: Sendable {
    /// The EHLO/HELO name: this host's fully qualified name (RFC 5321 §4.1.1.1).
    public var heloName: String
    public var tls: SMTPClientTLSPolicy
    /// A PEM file of CA certificates to verify servers against under `.required`; nil means
    /// the system's trust store.
    public var caFile: String?
    public var connectTimeout: Duration
    /// RFC 5321 §4.5.3.2.
    public var timeouts: SMTPClientTimeouts
    public var replyLimits: SMTPReplyLimits
    /// AUTH PLAIN after TLS (a smarthost's); nil for MX hosts.
    public var credentials: SMTPClientCredentials?

    public init(
        heloName: String, tls: SMTPClientTLSPolicy = .opportunistic, caFile: String? = nil, connectTimeout: Duration = .seconds(30),
        timeouts: SMTPClientTimeouts = SMTPClientTimeouts(), replyLimits: SMTPReplyLimits = SMTPReplyLimits(),
        credentials: SMTPClientCredentials? = nil
    ) {
        self.heloName = heloName
        self.tls = tls
        self.caFile = caFile
        self.connectTimeout = connectTimeout
        self.timeouts = timeouts
        self.replyLimits = replyLimits
        self.credentials = credentials
    }

    func sessionConfiguration(tls: SMTPClientTLSPolicy) -> SMTPClientSessionConfiguration {
        SMTPClientSessionConfiguration(heloName: heloName, tls: tls, timeouts: timeouts, replyLimits: replyLimits, credentials: credentials)
    }
}

/// One recipient's outcome as the relay reports it to the back-end.
public struct RecipientDelivery: Sendable, Equatable {
    public var recipient: String
    public var result: DeliveryStatus
    public var replyCode: Int
    public var enhancedCode: EnhancedStatusCode?
    /// The reply text, lines joined with a space.
    public var text: String
    /// The MX host that answered (RFC 3464 §2.3.5 Remote-MTA), or would have.
    public var remoteMTA: String
    /// False when the client made the reply up (timeout, closed connection, missing extension).
    public var fromServer: Bool
    /// NOTIFY/ORCPT went to a server that offers DSN; if false and SUCCESS was asked for, the
    /// back-end sends the "relayed" DSN itself (RFC 3461 §4.2).
    public var dsnPassedOn: Bool
    /// The connection ended after the message was sent, before the answer: it may have arrived.
    public var uncertain = false

    public init(
        recipient: String, result: DeliveryStatus, replyCode: Int, enhancedCode: EnhancedStatusCode?, text: String, remoteMTA: String,
        fromServer: Bool, dsnPassedOn: Bool
    ) {
        self.recipient = recipient
        self.result = result
        self.replyCode = replyCode
        self.enhancedCode = enhancedCode
        self.text = text
        self.remoteMTA = remoteMTA
        self.fromServer = fromServer
        self.dsnPassedOn = dsnPassedOn
    }

    init(_ outcome: SMTPRecipientOutcome, remoteMTA: String) {
        self.init(
            recipient: outcome.recipient.description, result: outcome.status, replyCode: outcome.reply.code,
            enhancedCode: outcome.reply.enhancedCode, text: outcome.reply.lines.joined(separator: " "), remoteMTA: remoteMTA,
            fromServer: outcome.fromServer, dsnPassedOn: outcome.dsnPassedOn)
        uncertain = outcome.uncertain
    }
}

/// Gives the body from `offset` on, a chunk at a time; nil at the end. Each chunk is written
/// (and the write awaited) before the next is asked for, so memory stays bounded.
public typealias SMTPClientBodySource = @Sendable (_ offset: Int64) async throws -> [UInt8]?

/// One SMTP connection to a remote MX: the NIO driver of `SMTPClientSession` (DESIGN §6:
/// the codec decides, this performs). Use it from one task at a time: `open`, then any number
/// of `deliver` while `isReusable`, then `quit`.
///
/// Only a failed TCP connect throws. A server that refuses service (a 554 greeting, a refused
/// EHLO and HELO, TLS required but unavailable) gives a connection that is not reusable and
/// whose `deliver` defers every recipient with the reason: the worker then tries the next MX.
public final class SMTPClientConnection {
    /// The MX host name: SNI, certificate verification, `RecipientDelivery.remoteMTA`.
    public let host: String
    public let address: String
    public let port: Int
    private let configuration: SMTPClientConfiguration
    private let channel: any Channel
    private var events: AsyncStream<SMTPClientChannelEvent>.Iterator
    private let eventSink: AsyncStream<SMTPClientChannelEvent>.Continuation
    private var session: SMTPClientSession
    private var timer: Scheduled<Void>?
    private var outcomes: [SMTPRecipientOutcome]?
    private var body: SMTPClientBodySource?
    private var reconnectRequested = false
    /// An opportunistic TLS handshake failed and this connection is the plain-text retry.
    public private(set) var fellBackToPlainText = false

    private init(
        host: String, address: String, port: Int, configuration: SMTPClientConfiguration, tls: SMTPClientTLSPolicy, channel: any Channel,
        events: AsyncStream<SMTPClientChannelEvent>, sink: AsyncStream<SMTPClientChannelEvent>.Continuation
    ) {
        self.host = host
        self.address = address
        self.port = port
        self.configuration = configuration
        self.channel = channel
        self.events = events.makeAsyncIterator()
        self.eventSink = sink
        self.session = SMTPClientSession(configuration: configuration.sessionConfiguration(tls: tls))
    }

    deinit {
        channel.close(promise: nil)
    }

    /// The 220 greeting's text.
    public var remoteGreeting: String? { session.greeting.map { $0.lines.joined(separator: " ") } }
    /// What the last EHLO offered.
    public var capabilities: SMTPServerCapabilities { session.capabilities }
    public var tlsActive: Bool { session.tlsActive }
    /// Why the connection is no longer usable, once it is not.
    public var failure: SMTPClientFailure? { session.failure }
    /// Idle and clean: another envelope may be delivered.
    public var isReusable: Bool { session.isReady }

    /// Connects to `address`:`port`, reads the greeting, says EHLO and starts TLS as the policy
    /// says. Under `.opportunistic`, a failed handshake is retried once on a new plain-text
    /// connection. Throws only when the TCP connection cannot be made.
    public static func open(
        host: String, address: String, port: Int, configuration: SMTPClientConfiguration, group: any EventLoopGroup
    ) async throws -> SMTPClientConnection {
        let first = try await connect(
            host: host, address: address, port: port, configuration: configuration, tls: configuration.tls, group: group)
        await first.start()
        guard first.reconnectRequested else { return first }
        await first.close()
        let second = try await connect(host: host, address: address, port: port, configuration: configuration, tls: .none, group: group)
        second.fellBackToPlainText = true
        await second.start()
        return second
    }

    private static func connect(
        host: String, address: String, port: Int, configuration: SMTPClientConfiguration, tls: SMTPClientTLSPolicy,
        group: any EventLoopGroup
    ) async throws -> SMTPClientConnection {
        let (events, sink) = AsyncStream.makeStream(of: SMTPClientChannelEvent.self)
        let target = try SocketAddress(ipAddress: address, port: port)
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(timeAmount(configuration.connectTimeout))
            // Reads happen only when the session waits for a reply: a server that floods us is
            // not read faster than the session consumes (bounded memory).
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SMTPClientChannelHandler(sink))
                }
            }
            .connect(to: target).get()
        return SMTPClientConnection(
            host: host, address: address, port: port, configuration: configuration, tls: tls, channel: channel, events: events, sink: sink)
    }

    /// Greeting, EHLO, STARTTLS: until ready or closed.
    private func start() async {
        await perform(session.receive(.connected))
        while !session.isReady, !session.isClosed {
            await awaitInput()
        }
    }

    /// Sends one message. Every recipient of `envelope` gets one `RecipientDelivery`, in order.
    public func deliver(_ envelope: OutboundEnvelope, body: @escaping SMTPClientBodySource) async -> [RecipientDelivery] {
        outcomes = nil
        self.body = body
        defer { self.body = nil }
        await perform(session.deliver(envelope))
        // Outcomes first, then (after an RSET) ready, or closed.
        while outcomes == nil || !(session.isReady || session.isClosed) {
            guard !session.isClosed, session.currentTimeout != nil else { break }
            await awaitInput()
        }
        let list: [SMTPRecipientOutcome] =
            outcomes
            ?? envelope.recipients.map {
                SMTPRecipientOutcome(
                    recipient: $0.address, status: .deferred, reply: SMTPReply(451, .init(4, 4, 2), "Connection lost"), fromServer: false,
                    dsnPassedOn: false)
            }
        return list.map { RecipientDelivery($0, remoteMTA: host) }
    }

    /// QUIT (RFC 5321 §4.1.1.10), waits for the reply, closes.
    public func quit() async {
        await perform(session.quit())
        while !session.isClosed, session.currentTimeout != nil {
            await awaitInput()
        }
        await close()
    }

    /// Closes at once.
    public func close() async {
        cancelTimer()
        try? await channel.close()
    }

    // MARK: - Performing actions

    private func perform(_ actions: [SMTPClientAction]) async {
        for action in actions {
            switch action {
            case .send(let bytes):
                await write(bytes)
            case .startTLS:
                await startTLS()
            case .sendBody(let mode):
                // The same batch may already have given up on the transaction.
                guard !actions.contains(.close) else { continue }
                switch mode {
                case .data: await sendData()
                case .bdat: await sendChunks()
                }
            case .recipientOutcomes(let list):
                outcomes = list
            case .ready, .failed:
                break
            case .reconnectWithoutTLS:
                reconnectRequested = true
            case .close:
                cancelTimer()
                channel.close(promise: nil)
            }
        }
    }

    /// Writes and flushes under the current deadline. A failed write reports the timeout or
    /// the closed connection to the session; returns false then.
    @discardableResult
    private func write(_ bytes: ByteBuffer) async -> Bool {
        armTimer(session.currentTimeout?.duration ?? configuration.timeouts.command)
        do {
            try await channel.writeAndFlush(bytes)
            cancelTimer()
            return true
        } catch {
            cancelTimer()
            // The connection is gone (or must go); read what is left: a last reply, the
            // timer's event, the close.
            channel.close(promise: nil)
            while !session.isClosed {
                await awaitInput(arming: false)
            }
            return false
        }
    }

    /// Waits for the next thing the channel reports and hands it to the session.
    private func awaitInput(arming: Bool = true) async {
        if arming, let deadline = session.currentTimeout { armTimer(deadline.duration) }
        channel.read()
        let event = await events.next()
        if arming { cancelTimer() }
        let handshaking = session.currentTimeout?.phase == .tlsHandshake
        switch event {
        case .bytes(let bytes):
            await perform(session.receive(.received(bytes)))
        case .tlsEstablished:
            if let mismatch = await certificateNameMismatch() {
                await perform(session.receive(.tlsFailed(mismatch)))
            } else {
                await perform(session.receive(.tlsEstablished))
            }
        case .timeout:
            await perform(session.receive(.timeout))
        case .error(let reason):
            await perform(session.receive(handshaking ? .tlsFailed(reason) : .connectionClosed))
        case .closed, nil:
            await perform(session.receive(handshaking ? .tlsFailed("the server closed the connection") : .connectionClosed))
        }
    }

    private func armTimer(_ duration: Duration) {
        timer?.cancel()
        let sink = eventSink
        let channel = self.channel
        timer = channel.eventLoop.scheduleTask(in: timeAmount(duration)) {
            sink.yield(.timeout)
            channel.close(promise: nil)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    // MARK: - TLS

    /// RFC 3207 §4: TLS goes in front of everything; the handshake's end arrives as an event.
    private func startTLS() async {
        let channel = self.channel
        let serverName = Self.isIPAddress(host) ? nil : host
        do {
            let context = try makeTLSContext()
            try await channel.eventLoop.submit {
                let handler = try NIOSSLClientHandler(context: context, serverHostname: serverName)
                try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            }.get()
        } catch {
            await perform(session.receive(.tlsFailed("cannot set up TLS: \(Self.describe(error))")))
        }
    }

    /// Under `.required` with a host name: why the verified certificate is not for `host`
    /// (`CertificateIdentity`), or nil when it is.
    private func certificateNameMismatch() async -> String? {
        guard session.configuration.tls == .required, !Self.isIPAddress(host) else { return nil }
        let channel = self.channel
        do {
            let der = try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self).peerCertificate?.toDERBytes()
            }.get()
            guard let der else { return "the server sent no certificate" }
            let names = try CertificateIdentity.dnsNames(derEncoded: der)
            if CertificateIdentity.matches(host, names) { return nil }
            return
                "the certificate is not for the host name \(host) (it is for \(names.isEmpty ? "no name" : names.joined(separator: ", ")))"
        } catch {
            return "the certificate cannot be read: \(error)"
        }
    }

    private func makeTLSContext() throws -> NIOSSLContext {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.minimumTLSVersion = .tlsv12
        switch session.configuration.tls {
        case .required:
            tls.certificateVerification = .fullVerification
            if let caFile = configuration.caFile { tls.trustRoots = .file(caFile) }
        case .opportunistic, .none:
            // RFC 7435: encryption without authentication beats plain text; MX certificates
            // are often self-signed or for another name.
            tls.certificateVerification = .none
        }
        return try NIOSSLContext(configuration: tls)
    }

    /// What went wrong in TLS, in words for the queue's last reply; NIOSSL's own text after.
    static func describe(_ error: any Error) -> String {
        if let error = error as? NIOSSLExtraError, error == .failedToValidateHostname {
            return "the certificate is not for the host name (\(error))"
        }
        let text = String(describing: error)
        if case NIOSSLError.handshakeFailed = error, text.contains("CERTIFICATE_VERIFY_FAILED") {
            return "the certificate did not verify against the trusted certificates (CERTIFICATE_VERIFY_FAILED)"
        }
        if case NIOSSLError.failedToLoadCertificate = error { return "the CA file cannot be read (\(text))" }
        return text
    }

    private static func isIPAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }

    // MARK: - The body

    /// DATA: dot-stuffed chunk by chunk, each write awaited before the next read.
    private func sendData() async {
        guard let body else { return }
        var stuffer = SMTPClientDotStuffer()
        var offset: Int64 = 0
        while true {
            let chunk: [UInt8]?
            do {
                chunk = try await body(offset)
            } catch {
                await perform(session.receive(.bodyFailed))
                return
            }
            guard let chunk else { break }
            offset += Int64(chunk.count)
            var out = channel.allocator.buffer(capacity: chunk.count + chunk.count / 32 + 8)
            stuffer.encode(chunk, into: &out)
            guard await write(out) else { return }
        }
        var end = channel.allocator.buffer(capacity: 5)
        stuffer.finish(into: &end)
        guard await write(end) else { return }
        await perform(session.receive(.bodySent))
    }

    /// BDAT (RFC 3030 §2): one chunk per body chunk, the last marked LAST (so one chunk is
    /// read ahead); as many in flight as the session allows.
    private func sendChunks() async {
        guard let body else { return }
        var offset: Int64 = 0
        var next: [UInt8]?
        do {
            next = try await nonEmptyChunk(body, at: 0)
        } catch {
            await perform(session.receive(.bodyFailed))
            return
        }
        while true {
            while session.wantsChunks, !session.mayWriteChunk {
                await awaitInput()
            }
            guard session.wantsChunks else { return }
            let chunk = next ?? []
            offset += Int64(chunk.count)
            if next != nil {
                do {
                    next = try await nonEmptyChunk(body, at: offset)
                } catch {
                    await perform(session.receive(.bodyFailed))
                    return
                }
            }
            let last = next == nil
            var out = channel.allocator.buffer(capacity: chunk.count + 24)
            for case .send(var header) in session.sendChunk(size: chunk.count, last: last) { out.writeBuffer(&header) }
            out.writeBytes(chunk)
            guard await write(out), !last else { return }
        }
    }

    private func nonEmptyChunk(_ body: SMTPClientBodySource, at offset: Int64) async throws -> [UInt8]? {
        while let chunk = try await body(offset) {
            if !chunk.isEmpty { return chunk }
        }
        return nil
    }
}

/// What the channel handler reports to the connection.
enum SMTPClientChannelEvent: Sendable {
    case bytes(ByteBuffer)
    case tlsEstablished
    case timeout
    case error(String)
    case closed
}

/// Passes what the server sends to the connection, one buffer per read.
final class SMTPClientChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let sink: AsyncStream<SMTPClientChannelEvent>.Continuation
    private var pending: ByteBuffer?

    init(_ sink: AsyncStream<SMTPClientChannelEvent>.Continuation) {
        self.sink = sink
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if pending == nil {
            pending = bytes
        } else {
            pending!.writeBuffer(&bytes)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            flush()
            sink.yield(.tlsEstablished)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        flush()
        sink.yield(.error(SMTPClientConnection.describe(error)))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        flush()
        sink.yield(.closed)
        sink.finish()
    }

    private func flush() {
        if let pending { sink.yield(.bytes(pending)) }
        pending = nil
    }
}

private func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
}
