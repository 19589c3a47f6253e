import CompressNIO
public import NIOCore

/// RFC 4978 COMPRESS=DEFLATE: raw deflate (RFC 1951) in both directions, between TLS (when
/// there is TLS) and the connection driver, so data is compressed before it is encrypted
/// (§3). zlib does the work, through CompressNIO.
///
/// Memory stays bounded whatever the client sends, a small "deflate bomb" included: received
/// bytes are inflated one piece of at most `pieceSize` octets at a time, and only when the
/// driver asks to read (the driver holds reads while a command runs or its input buffer is
/// full), so the framer's limits apply to the inflated stream as they do to a plain one.
/// Output is compressed as it is written and finished with a sync flush at every flush
/// (RFC 4978 §4), so each response reaches the client whole.
final class CompressionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The most inflated octets handed to the driver per read.
    static let pieceSize = 16 << 10
    /// Written output held before it is compressed without waiting for the flush.
    static let plainBatch = 64 << 10

    private let inflater: ZlibDecompressor
    private let deflater: ZlibCompressor
    /// Received, not yet inflated.
    private var compressed: ByteBuffer
    /// zlib filled the last piece: it may hold more output without more input.
    private var inflaterFull = false
    /// Written since the last flush, not yet compressed.
    private var plain: ByteBuffer
    private var written = false
    private var promises: [EventLoopPromise<Void>] = []
    private var failed = false

    /// `leftover`: compressed octets the driver had already read when compression began.
    init(leftover: ByteBuffer, allocator: ByteBufferAllocator) throws {
        inflater = try ZlibDecompressor(algorithm: .deflate, windowSize: 15)
        // Level 5 with zlib's default memory: most of level 9's ratio on IMAP responses at a
        // fraction of its CPU (RFC 4978 §4 suggests 1-5).
        deflater = try ZlibCompressor(
            algorithm: .deflate, configuration: ZlibConfiguration(windowSize: .window128k, compressionLevel: .compressionLevel5))
        var buffer = allocator.buffer(capacity: max(leftover.readableBytes, 256))
        var leftover = leftover
        buffer.writeBuffer(&leftover)
        compressed = buffer
        plain = allocator.buffer(capacity: 4096)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var bytes = unwrapInboundIn(data)
        compressed.writeBuffer(&bytes)
    }

    /// Inflation happens on demand, in `read`: the channel asks once after every socket read.
    func channelReadComplete(context: ChannelHandlerContext) {
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        guard !failed else { return }
        if let piece = inflatePiece(context) {
            context.fireChannelRead(wrapInboundOut(piece))
            context.fireChannelReadComplete()
            // As the channel does after a socket read: ask again, through the whole pipeline,
            // so the driver decides whether it wants more now.
            context.eventLoop.assumeIsolated().execute { context.channel.read() }
        } else {
            context.read()
        }
    }

    /// The next piece of inflated input, or nil when more compressed input is needed.
    private func inflatePiece(_ context: ChannelHandlerContext) -> ByteBuffer? {
        guard compressed.readableBytes > 0 || inflaterFull else { return nil }
        var out = context.channel.allocator.buffer(capacity: Self.pieceSize)
        do {
            try inflater.inflate(from: &compressed, to: &out)
            inflaterFull = false
        } catch let error as CompressNIOError where error == .bufferOverflow {
            inflaterFull = true
        } catch let error as CompressNIOError where error == .inputBufferOverflow {
            inflaterFull = false
        } catch {
            fail(context, error)
            return nil
        }
        if compressed.readerIndex > 64 << 10 { compressed.discardReadBytes() }
        return out.readableBytes > 0 ? out : nil
    }

    // MARK: Outbound

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !failed else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        var bytes = unwrapOutboundIn(data)
        plain.writeBuffer(&bytes)
        written = true
        if let promise { promises.append(promise) }
        if plain.readableBytes >= Self.plainBatch { deflate(context, flush: .no, promise: nil) }
    }

    func flush(context: ChannelHandlerContext) {
        guard !failed else { return }
        if written {
            written = false
            let waiting = promises
            promises = []
            let promise: EventLoopPromise<Void>? = waiting.isEmpty ? nil : context.eventLoop.makePromise()
            deflate(context, flush: .sync, promise: promise)
            if let promise { for other in waiting { promise.futureResult.cascade(to: other) } }
        }
        context.flush()
    }

    /// Compresses `plain` (all of it, in output pieces) and writes the result; `promise` goes
    /// with the last write.
    private func deflate(_ context: ChannelHandlerContext, flush: CompressNIOFlush, promise: EventLoopPromise<Void>?) {
        var pieces: [ByteBuffer] = []
        while true {
            var out = context.channel.allocator.buffer(capacity: max(plain.readableBytes / 2, 4096) + 64)
            do {
                try deflater.deflate(from: &plain, to: &out, flush: flush)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                // Z_BUF_ERROR: nothing more could be produced.
            } catch {
                fail(context, error)
                promise?.fail(error)
                return
            }
            let full = out.writableBytes == 0
            if out.readableBytes > 0 { pieces.append(out) }
            if plain.readableBytes == 0, !full { break }
        }
        plain.clear()
        if pieces.isEmpty {
            if let promise { context.write(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)), promise: promise) }
            return
        }
        for (index, piece) in pieces.enumerated() {
            context.write(wrapOutboundOut(piece), promise: index == pieces.count - 1 ? promise : nil)
        }
    }

    private func fail(_ context: ChannelHandlerContext, _ error: any Error) {
        failed = true
        for promise in promises { promise.fail(error) }
        promises = []
        context.close(promise: nil)
    }
}

/// Starting RFC 4978 compression on a live connection.
public enum StreamCompression {
    /// Call on the event loop right after the tagged OK was written and flushed: the
    /// compression handler goes in just before `driver`, so it is inside TLS, and takes over
    /// `buffered` (octets the client sent after the command, which are compressed already).
    public static func begin(
        on channel: any Channel, before driver: any ChannelHandler, taking buffered: inout ByteBuffer
    ) throws {
        channel.eventLoop.preconditionInEventLoop()
        let handler = try CompressionHandler(leftover: buffered, allocator: channel.allocator)
        buffered.clear()
        try channel.pipeline.syncOperations.addHandler(handler, position: .before(driver))
    }
}
