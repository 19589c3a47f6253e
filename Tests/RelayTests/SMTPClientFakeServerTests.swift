import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing

/// A scripted SMTP server on 127.0.0.1 for the client's tests: it answers as `Script` says and
/// records what it received, message bodies after un-dot-stuffing (STYLE §13).
final class FakeSMTPServer: Sendable {
    struct Script: Sendable {
        var greeting = "220 mx.test ESMTP fake\r\n"
        /// Keyword lines after the first EHLO line; STARTTLS is added when `tls` is set.
        var keywords = ["PIPELINING", "8BITMIME", "SIZE 10000000", "ENHANCEDSTATUSCODES"]
        /// Keywords after STARTTLS (nil: the same, without STARTTLS).
        var keywordsAfterTLS: [String]?
        var tls: NIOSSLContext?
        /// Answer STARTTLS with 220 and then garbage instead of a handshake.
        var brokenTLS = false
        var rcpt: @Sendable (String) -> String = { _ in "250 2.1.5 OK\r\n" }
        var endOfData: @Sendable (Int) -> String = { _ in "250 2.0.0 Queued\r\n" }
        /// Say nothing until DATA has arrived, then answer the whole group: a client that does
        /// not pipeline waits forever.
        var holdRepliesUntilData = false
        /// Close the connection after this many octets of message data.
        var dropAfterDataBytes: Int?
        /// Never say anything.
        var silent = false
    }

    /// `@unchecked Sendable`: every field is read and written only under `lock`.
    final class Record: @unchecked Sendable {
        private let lock = NSLock()
        private var _commands: [[String]] = []
        private var _messages: [[UInt8]] = []
        private var _connections = 0
        private var _tlsConnections = 0

        func connection() -> Int {
            lock.withLock {
                _connections += 1
                _commands.append([])
                return _connections - 1
            }
        }
        func command(_ line: String, connection: Int) { lock.withLock { _commands[connection].append(line) } }
        func message(_ bytes: [UInt8]) { lock.withLock { _messages.append(bytes) } }
        func tls() { lock.withLock { _tlsConnections += 1 } }
        var commands: [[String]] { lock.withLock { _commands } }
        var messages: [[UInt8]] { lock.withLock { _messages } }
        var connections: Int { lock.withLock { _connections } }
        var tlsConnections: Int { lock.withLock { _tlsConnections } }
    }

    let record = Record()
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init(_ script: Script) async throws {
        let record = self.record
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Connection(script: script, record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }

    /// One connection's conversation.
    final class Connection: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        enum Mode {
            case commands
            case data
            case chunk(remaining: Int, last: Bool)
        }

        let script: Script
        let record: Record
        var index = 0
        var buffer = ByteBuffer()
        var mode = Mode.commands
        var message: [UInt8] = []
        var held: [String] = []
        var tlsDone = false
        var dataBytes = 0
        var recipients = 0

        init(script: Script, record: Record) {
            self.script = script
            self.record = record
        }

        func channelActive(context: ChannelHandlerContext) {
            index = record.connection()
            if !script.silent { send(context, script.greeting) }
        }

        func send(_ context: ChannelHandlerContext, _ text: String) {
            if heldGroup {
                held.append(text)
                return
            }
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
        }

        /// Inside a MAIL..DATA group that is being held.
        var heldGroup = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            buffer.writeBuffer(&bytes)
            process(context)
        }

        func process(_ context: ChannelHandlerContext) {
            while context.channel.isActive {
                switch mode {
                case .commands:
                    guard let line = readLine() else { return }
                    if script.silent { continue }
                    record.command(line, connection: index)
                    command(line, context)
                case .data:
                    guard let line = readLine() else { return }
                    if line == "." {
                        record.message(message)
                        mode = .commands
                        send(context, script.endOfData(message.count))
                        message = []
                        continue
                    }
                    var bytes = Array(line.utf8)
                    if bytes.first == UInt8(ascii: ".") { bytes.removeFirst() }
                    message += bytes + [13, 10]
                    dataBytes += bytes.count + 2
                    if let limit = script.dropAfterDataBytes, dataBytes >= limit {
                        context.close(promise: nil)
                        return
                    }
                case .chunk(let remaining, let last):
                    let count = min(remaining, buffer.readableBytes)
                    if count > 0 { message += buffer.readBytes(length: count)! }
                    if count < remaining {
                        mode = .chunk(remaining: remaining - count, last: last)
                        return
                    }
                    mode = .commands
                    if last {
                        record.message(message)
                        send(context, script.endOfData(message.count))
                        message = []
                    } else {
                        send(context, "250 2.0.0 Chunk OK\r\n")
                    }
                }
            }
        }

        func readLine() -> String? {
            guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            var line = buffer.readString(length: newline - buffer.readerIndex)!
            buffer.moveReaderIndex(forwardBy: 1)
            if line.hasSuffix("\r") { line.removeLast() }
            return line
        }

        func command(_ line: String, _ context: ChannelHandlerContext) {
            let verb = line.prefix(while: { $0 != " " && $0 != ":" }).uppercased()
            switch verb {
            case "EHLO":
                var keywords = tlsDone ? (script.keywordsAfterTLS ?? script.keywords) : script.keywords
                if script.tls != nil, !tlsDone { keywords.append("STARTTLS") }
                let lines = ["mx.test"] + keywords
                send(context, lines.enumerated().map { "250\($0 == lines.count - 1 ? " " : "-")\($1)\r\n" }.joined())
            case "HELO": send(context, "250 mx.test\r\n")
            case "STARTTLS":
                guard let tls = script.tls else { return send(context, "502 5.5.1 No\r\n") }
                send(context, "220 2.0.0 Go ahead\r\n")
                if script.brokenTLS {
                    send(context, "this is not a TLS handshake\r\n")
                    return
                }
                buffer.clear()
                tlsDone = true
                record.tls()
                try! context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
            case "MAIL":
                recipients = 0
                if script.holdRepliesUntilData { heldGroup = true }
                send(context, "250 2.1.0 OK\r\n")
            case "RCPT":
                let reply = script.rcpt(line)
                if reply.hasPrefix("2") { recipients += 1 }
                send(context, reply)
            case "DATA":
                if heldGroup {
                    heldGroup = false
                    let replies = held.joined()
                    held = []
                    context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: replies)), promise: nil)
                }
                // RFC 2920 §3.1 / RFC 5321 §3.3: no valid recipient, no data.
                guard recipients > 0 else { return send(context, "554 5.5.1 No valid recipients\r\n") }
                mode = .data
                send(context, "354 Go ahead\r\n")
            case "BDAT":
                let words = line.split(separator: " ")
                mode = .chunk(remaining: Int(words[1])!, last: words.count > 2)
            case "RSET":
                recipients = 0
                send(context, "250 2.0.0 OK\r\n")
            case "QUIT":
                send(context, "221 2.0.0 Bye\r\n")
                context.close(promise: nil)
            default: send(context, "500 5.5.2 What\r\n")
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
