import DNSCodec
import NIOCore
import NIOPosix

/// One try of one query against one nameserver, over UDP or TCP (RFC 1035 §4.2). Each UDP try
/// binds a fresh socket, so its source port is the kernel's random pick; a datagram counts as the
/// answer only if it comes from the server asked and carries the query's id and question (the
/// defences of RFC 5452 §9.1 a stub resolver can have). Anything else is ignored until the
/// timeout.
struct DNSResolverTransport: Sendable {
    enum Reply: Sendable {
        case response(DNSMessage)
        /// TC was set: ask again over TCP (RFC 1035 §4.2.1).
        case truncated
    }

    let group: any EventLoopGroup
    let timeout: TimeAmount
    let limits: DNSLimits

    func udp(_ query: [UInt8], id: UInt16, question: DNSQuestion, server: SocketAddress) async throws(DNSLookupFailure) -> Reply {
        let loop = group.next()
        let promise = loop.makePromise(of: Reply.self)
        let limits = limits
        let channel: any Channel
        do {
            channel = try await DatagramBootstrap(group: loop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = DNSDatagramHandler(id: id, question: question, server: server, limits: limits, promise: promise)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .bind(host: server.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        } catch {
            throw DNSLookupFailure(.network, "UDP socket: \(error)")
        }
        let timer = loop.scheduleTask(in: timeout) {
            promise.fail(DNSLookupFailure(.timeout, "\(question.name) \(question.type) from \(server)"))
        }
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: server, data: ByteBuffer(bytes: query))).whenFailure { error in
            promise.fail(DNSLookupFailure(.network, "sending to \(server): \(error)"))
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        return try await Self.answer(promise.futureResult)
    }

    /// The answer a lookup's promise gets, its failure as a `DNSLookupFailure`.
    static func answer<Answer: Sendable>(_ future: EventLoopFuture<Answer>) async throws(DNSLookupFailure) -> Answer {
        do {
            return try await future.get()
        } catch let failure as DNSLookupFailure {
            throw failure
        } catch {
            throw DNSLookupFailure(.network, "\(error)")
        }
    }

    /// RFC 1035 §4.2.2: the query and the answer each after a two-octet length, on a connection
    /// of their own; the timeout covers connecting and answering.
    func tcp(_ query: [UInt8], id: UInt16, question: DNSQuestion, server: SocketAddress) async throws(DNSLookupFailure) -> DNSMessage {
        let loop = group.next()
        let promise = loop.makePromise(of: DNSMessage.self)
        let timer = loop.scheduleTask(in: timeout) {
            promise.fail(DNSLookupFailure(.timeout, "\(question.name) \(question.type) from \(server) over TCP"))
        }
        let limits = limits
        let connecting = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = DNSStreamHandler(id: id, question: question, limits: limits, promise: promise)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(to: server)
        connecting.whenComplete { result in
            switch result {
            case .success(let channel):
                channel.writeAndFlush(ByteBuffer(bytes: DNSTCPFramer.frame(query)), promise: nil)
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            case .failure(let error):
                promise.fail(DNSLookupFailure(.network, "connecting to \(server): \(error)"))
            }
        }
        defer { timer.cancel() }
        return try await Self.answer(promise.futureResult)
    }
}

/// Whether `header` and `questions` answer the query with `id` for `question`: a response
/// (QR), a standard query's (opcode 0), the same id, the one question asked.
func answersQuery(_ header: DNSHeader, _ questions: [DNSQuestion], id: UInt16, question: DNSQuestion) -> Bool {
    header.isResponse && header.opcode == 0 && header.id == id && questions == [question]
}

/// Waits on the UDP socket for the datagram that answers the query; ignores the rest.
private final class DNSDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let id: UInt16
    let question: DNSQuestion
    let server: SocketAddress
    let limits: DNSLimits
    let promise: EventLoopPromise<DNSResolverTransport.Reply>

    init(id: UInt16, question: DNSQuestion, server: SocketAddress, limits: DNSLimits, promise: EventLoopPromise<DNSResolverTransport.Reply>)
    {
        self.id = id
        self.question = question
        self.server = server
        self.limits = limits
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        guard envelope.remoteAddress == server else { return }
        let bytes = Array(envelope.data.readableBytesView)
        // The header and question first: a truncated datagram's records may be cut anywhere.
        guard let (header, questions) = try? DNSMessage.parseQuestions(bytes, limits: limits),
            answersQuery(header, questions, id: id, question: question)
        else { return }
        if header.isTruncated {
            promise.succeed(.truncated)
        } else if let message = try? DNSMessage.parse(bytes, limits: limits) {
            promise.succeed(.response(message))
        }
        // A datagram that matches but does not parse may be forged: keep waiting for the real one.
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An unconnected UDP socket's errors (an ICMP report, say) are not the answer; the
        // timeout ends the try.
    }
}

/// Reads the one framed answer from the TCP connection. The connection is ours alone, so an
/// answer to another query is a broken server, not noise.
private final class DNSStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let id: UInt16
    let question: DNSQuestion
    let limits: DNSLimits
    let promise: EventLoopPromise<DNSMessage>
    private var framer = DNSTCPFramer()

    init(id: UInt16, question: DNSQuestion, limits: DNSLimits, promise: EventLoopPromise<DNSMessage>) {
        self.id = id
        self.question = question
        self.limits = limits
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        framer.append(unwrapInboundIn(data).readableBytesView)
        do {
            guard let bytes = try framer.nextMessage() else { return }
            let message = try DNSMessage.parse(bytes, limits: limits)
            guard answersQuery(message.header, message.questions, id: id, question: question) else {
                promise.fail(DNSLookupFailure(.malformedResponse, "TCP answer to another query"))
                return
            }
            promise.succeed(message)
        } catch {
            promise.fail(DNSLookupFailure(.malformedResponse, "over TCP: \(error)"))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(DNSLookupFailure(.network, "TCP connection closed before the answer"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(DNSLookupFailure(.network, "TCP: \(error)"))
        context.close(promise: nil)
    }
}
