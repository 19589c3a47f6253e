import Backend
import Foundation
import GatewayKit
import Logging
import NIOCore
import NIOPosix
import RPCProtocol
import RPCTransport
import SMTPGateway

/// An in-process back-end on its real sockets in a temporary directory, and an SMTP gateway in
/// front of it on loopback port 0: one MX listener and one submission listener, both plain TCP
/// (TLS is covered by the interop tests with real clients).
final class SMTPHarness {
    let dir: String
    let backend: Backend
    let admin: RPCClient
    let clients: BackendClients
    let gateway: SMTPGateway
    var mxPort = 0
    var submissionPort = 0

    init(configure: (inout SMTPGatewayConfiguration) -> Void = { _ in }) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-smtp-\(UUID().uuidString)").path
        var config = BackendConfig(dataDirectory: dir)
        config.passwordHashLog2Cost = 4
        config.scramIterations = 16
        backend = try Backend(config: config)
        try await backend.listen()
        admin = RPCClient(path: dir + "/admin.sock", software: "test")
        clients = BackendClients(
            socketPath: dir + "/gateway.sock", software: "loft-smtp-test", group: MultiThreadedEventLoopGroup.singleton)
        var gatewayConfig = SMTPGatewayConfiguration(
            listeners: [
                SMTPListener(Listener(host: "127.0.0.1", port: 0, tls: .none), mode: .mx),
                SMTPListener(Listener(host: "127.0.0.1", port: 0, tls: .none), mode: .submission),
            ],
            hostname: "mx.test")
        configure(&gatewayConfig)
        var logger = Logger(label: "smtp-test")
        logger.logLevel = .error
        gateway = try SMTPGateway(
            configuration: gatewayConfig, backend: clients, tls: nil, group: MultiThreadedEventLoopGroup.singleton,
            logger: logger)
        let bound = try await gateway.start()
        mxPort = bound[0].port ?? 0
        submissionPort = bound[1].port ?? 0

        _ = try await admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        _ = try await admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "alice-pw"))
        _ = try await admin.call(
            Methods.accountAdd, AccountAddParams(address: "bob@example.test", password: "bob-pw", apopSecret: "bob-apop"))
    }

    func close() async {
        await gateway.stop(grace: .zero)
        await clients.close()
        await admin.close()
        await backend.shutdown()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Every message in `account`'s INBOX, whole, as stored.
    func inbox(_ account: String) async throws -> [[UInt8]] {
        let session = try await admin.call(Methods.authImpersonate, ImpersonateParams(account: account)).session
        let list = try await admin.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        var messages: [[UInt8]] = []
        for message in list.messages {
            var bytes: [UInt8] = []
            while true {
                let part = try await admin.call(
                    Methods.messageRead,
                    MessageReadParams(session: session, mailbox: "INBOX", uid: message.uid, offset: Int64(bytes.count)))
                let data = Data(part.data.bytes)
                bytes += data
                if data.isEmpty || bytes.count >= part.total { break }
            }
            messages.append(bytes)
        }
        return messages
    }

    func connect(_ port: Int) async throws -> SMTPTestClient {
        let client = try await SMTPTestClient.connect(port: port)
        _ = try await client.readReply()
        return client
    }
}

/// A line-level SMTP client for the tests: send lines, read whole replies exactly as sent.
final class SMTPTestClient {
    let channel: any Channel
    var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    var buffer: [UInt8] = []

    init(channel: any Channel, stream: AsyncStream<ByteBuffer>) {
        self.channel = channel
        self.iterator = stream.makeAsyncIterator()
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    static func connect(port: Int) async throws -> SMTPTestClient {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return SMTPTestClient(channel: channel, stream: stream)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// The next reply, all its lines joined with "\n", without CRLFs; "<EOF>" when closed.
    func readReply() async throws -> String {
        var lines: [String] = []
        while true {
            guard let line = try await readLine() else { return lines.isEmpty ? "<EOF>" : lines.joined(separator: "\n") }
            lines.append(line)
            if line.count < 4 || Array(line.utf8)[3] != UInt8(ascii: "-") { return lines.joined(separator: "\n") }
        }
    }

    func readLine() async throws -> String? {
        while true {
            if let index = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<index])
                buffer.removeFirst(index + 1)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard let more = await iterator.next() else { return nil }
            buffer += more.readableBytesView
        }
    }

    /// Sends one command line and returns its reply.
    func command(_ line: String) async throws -> String {
        try await send(line + "\r\n")
        return try await readReply()
    }

    func close() async {
        try? await channel.close()
    }
}
