import Metrics
public import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP listener a process serves its metrics on for Prometheus to scrape (issue 14):
/// `GET /metrics` answers the text exposition format from `render`, anything else 404. One
/// request at a time per connection, small answers, no TLS: it belongs on a loopback address
/// (`metrics.address`), where only the machine's own scraper reaches it.
public final class MetricsEndpoint: Sendable {
    public typealias Render = @Sendable () -> [UInt8]

    let channel: any Channel

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// The address it listens on (port 0 picks one, for tests).
    public var localAddress: SocketAddress? { channel.localAddress }

    public static func start(
        host: String, port: Int, group: any EventLoopGroup, render: @escaping Render
    ) async throws -> MetricsEndpoint {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(render: render))
                }
            }
        return MetricsEndpoint(channel: try await bootstrap.bind(host: host, port: port).get())
    }

    public func stop() async {
        try? await channel.close()
    }
}

/// Answers one HTTP request with the metrics, or 404/405.
final class MetricsRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let render: MetricsEndpoint.Render
    var head: HTTPRequestHead?

    init(render: @escaping MetricsEndpoint.Render) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request): head = request
        case .body: break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
            let (status, body, type): (HTTPResponseStatus, [UInt8], String) =
                switch (request.method, path) {
                case (.GET, "/metrics"), (.HEAD, "/metrics"): (.ok, render(), "text/plain; version=0.0.4; charset=utf-8")
                case (_, "/metrics"): (.methodNotAllowed, Array("GET only\n".utf8), "text/plain")
                default: (.notFound, Array("metrics are at /metrics\n".utf8), "text/plain")
                }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: type)
            headers.add(name: "Content-Length", value: String(body.count))
            if !request.isKeepAlive { headers.add(name: "Connection", value: "close") }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
            if request.method != .HEAD {
                context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            }
            let keepAlive = request.isKeepAlive
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        }
    }
}

/// `loft_commands_total{protocol,result}`: each command's answer, by its result: SMTP `ok`
/// for 2xx/3xx, `temporary` 4xx, `permanent` 5xx; POP3 `ok` and `err`; IMAP the tagged `ok`,
/// `no`, `bad`; LDAP `ok` or the result code's name (`noSuchObject`, `invalidCredentials`).
public enum CommandMetrics {
    public static func reply(_ protocolName: String, result: String) {
        Counter(label: "loft_commands_total", dimensions: [("protocol", protocolName), ("result", result)]).increment()
    }

    /// An SMTP reply code's class.
    public static func smtpResult(_ code: Int) -> String {
        switch code {
        case 200..<400: "ok"
        case 400..<500: "temporary"
        default: "permanent"
        }
    }
}
