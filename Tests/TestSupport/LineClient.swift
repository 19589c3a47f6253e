public import NIOCore
import NIOPosix
import NIOSSL

/// A line-level TCP client for the tests: sends bytes, reads lines exactly as the server sent
/// them (CRLF removed), optionally over TLS from the start or after a STARTTLS-like command.
/// The server's certificate is not verified (tests use a self-signed one).
public final class LineClient {
    public let channel: any Channel
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

    static func tlsHandler() throws -> NIOSSLClientHandler {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .none
        return try NIOSSLClientHandler(context: try NIOSSLContext(configuration: configuration), serverHostname: nil)
    }

    public static func connect(host: String = "127.0.0.1", port: Int, tls: Bool = false) async throws -> LineClient {
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if tls { try channel.pipeline.syncOperations.addHandler(try Self.tlsHandler()) }
                    try channel.pipeline.syncOperations.addHandler(Collector(continuation))
                }
            }
            .connect(host: host, port: port).get()
        return LineClient(channel: channel, stream: stream)
    }

    /// Sends `text` as it is (add "\r\n" for a line).
    public func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    public func send(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// The next line without its CRLF (or LF); nil once the server has closed.
    public func readLine() async throws -> String? {
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

    /// Puts TLS in front (after the server's positive answer to STLS/STARTTLS).
    public func startTLS() async throws {
        let channel = self.channel
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(try Self.tlsHandler(), position: .first)
        }.get()
    }

    public func close() async {
        try? await channel.close()
    }
}
