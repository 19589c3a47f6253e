import Backend
import Crypto
import Foundation
import GatewayKit
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import POP3Gateway
import RPCProtocol
import RPCTransport

/// An in-process back-end on its real sockets in a temporary directory, and a POP3 gateway in
/// front of it on loopback port 0 (one plain listener, one STLS, one implicit TLS).
final class POP3Harness {
    let dir: String
    let backend: Backend
    let admin: RPCClient
    let delivery: RPCClient
    let clients: BackendClients
    let gateway: POP3Gateway
    var plainPort = 0
    var stlsPort = 0
    var implicitPort = 0

    init(configure: (inout POP3GatewayConfiguration) -> Void = { _ in }) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("loft-pop3-\(UUID().uuidString)").path
        var config = BackendConfig(dataDirectory: dir)
        config.passwordHashLog2Cost = 4
        config.scramIterations = 16
        backend = try Backend(config: config)
        try await backend.listen()
        admin = RPCClient(path: dir + "/admin.sock", software: "test")
        delivery = RPCClient(path: dir + "/gateway.sock", software: "test")
        clients = BackendClients(
            socketPath: dir + "/gateway.sock", software: "loft-pop3-test", group: MultiThreadedEventLoopGroup.singleton)
        var gatewayConfig = POP3GatewayConfiguration(
            listeners: [
                Listener(host: "127.0.0.1", port: 0, tls: .none),
                Listener(host: "127.0.0.1", port: 0, tls: .startTLS),
                Listener(host: "127.0.0.1", port: 0, tls: .implicit),
            ],
            hostname: "pop.test")
        configure(&gatewayConfig)
        let files = try TestCertificate.write()
        var logger = Logger(label: "pop3-test")
        logger.logLevel = .error
        gateway = try POP3Gateway(
            configuration: gatewayConfig, backend: clients, tls: TLSFiles(certificate: files.certificate, key: files.key),
            group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let bound = try await gateway.start()
        plainPort = bound[0].port ?? 0
        stlsPort = bound[1].port ?? 0
        implicitPort = bound[2].port ?? 0

        _ = try await admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        _ = try await admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "alice-pw"))
        _ = try await admin.call(
            Methods.accountAdd, AccountAddParams(address: "bob@example.test", password: "bob-pw", apopSecret: "bob-apop"))
    }

    func close() async {
        await gateway.stop(grace: .zero)
        await clients.close()
        await admin.close()
        await delivery.close()
        await backend.shutdown()
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// Delivers `message` to `recipient` through the RPC, as an SMTP gateway would.
    func deliver(_ message: String, to recipient: String = "alice@example.test") async throws {
        let started = try await delivery.call(
            Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: [recipient]))
        _ = try await delivery.call(
            Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array(message.utf8))))
        _ = try await delivery.call(Methods.uploadCommit, UploadParams(upload: started.upload))
    }

    func connect(port: Int? = nil, tls: Bool = false) async throws -> POP3TestClient {
        try await POP3TestClient.connect(port: port ?? plainPort, tls: tls)
    }
}

/// A line-level POP3 client for the tests: send a command, read status lines or a whole
/// multi-line response, exactly as the bytes came.
final class POP3TestClient {
    let channel: any Channel
    var iterator: AsyncStream<ByteBuffer>.AsyncIterator
    var buffer: [UInt8] = []

    init(channel: any Channel, stream: AsyncStream<ByteBuffer>) {
        self.channel = channel
        self.iterator = stream.makeAsyncIterator()
    }

    /// Passes what the server sends into an AsyncStream, which ends when the connection does.
    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation
        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) { self.continuation = continuation }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { continuation.yield(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) { continuation.finish() }
        func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
    }

    static func connect(port: Int, tls: Bool) async throws -> POP3TestClient {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if tls {
                        var configuration = TLSConfiguration.makeClientConfiguration()
                        configuration.certificateVerification = .none
                        let context = try NIOSSLContext(configuration: configuration)
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return POP3TestClient(channel: channel, stream: stream)
    }

    func send(_ line: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n"))
    }

    func sendRaw(_ bytes: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: bytes))
    }

    /// The next line without CRLF; nil at EOF.
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

    /// Sends `command` and returns the status line.
    func command(_ command: String) async throws -> String {
        try await send(command)
        return try await readLine() ?? "<EOF>"
    }

    /// Reads the body of a multi-line response up to the terminating "." line, undoing the dot
    /// stuffing, and returns it with CRLF line ends (as RFC 1939 §3 clients do).
    func readMultiLineBody() async throws -> [UInt8] {
        var body: [UInt8] = []
        while let line = try await readLine() {
            if line == "." { return body }
            let unstuffed = line.hasPrefix(".") ? String(line.dropFirst()) : line
            body += Array(unstuffed.utf8) + [13, 10]
        }
        throw POP3TestError("connection closed inside a multi-line response")
    }

    /// True when the server has closed the connection (after reading what is left).
    func isClosed() async throws -> Bool {
        (try await readLine()) == nil
    }

    func close() async {
        try? await channel.close()
    }

    /// Puts a TLS client handler in front, after STLS's +OK.
    func startTLS() async throws {
        let channel = self.channel
        try await channel.eventLoop.submit {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.certificateVerification = .none
            let context = try NIOSSLContext(configuration: configuration)
            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: nil), position: .first)
        }.get()
    }
}

struct POP3TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// RFC 1939 §7: lowercase hex MD5 of timestamp + secret.
func apopDigest(timestamp: String, secret: String) -> String {
    Insecure.MD5.hash(data: Data((timestamp + secret).utf8)).map { String(format: "%02x", $0) }.joined()
}

/// RFC 2195: lowercase hex HMAC-MD5 of the challenge keyed by the secret.
func cramDigest(challenge: String, secret: String) -> String {
    let mac = HMAC<Insecure.MD5>.authenticationCode(for: Data(challenge.utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return mac.map { String(format: "%02x", $0) }.joined()
}
