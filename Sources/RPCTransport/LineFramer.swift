public import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the framer hands up: a complete line, or word that a line was longer than allowed and
/// was thrown away (the connection goes on with the next line).
public enum LineFrame: Sendable, Equatable {
    case line(ByteBuffer)
    case oversize
}

/// Splits a byte stream into `\n`-terminated lines of at most `maxLineBytes` (an optional `\r`
/// before the `\n` is dropped, so `nc` and `socat` users can type requests). A longer line is
/// discarded as it streams in — memory stays bounded by the cap — and reported once as
/// `.oversize` when its newline arrives.
public struct LineFramer: ByteToMessageDecoder {
    public typealias InboundOut = LineFrame

    let maxLineBytes: Int
    /// How far into the readable bytes we already looked for a newline, so a long line that
    /// arrives in many reads is scanned once, not once per read.
    var scanned = 0
    var discarding = false

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = nextFrame(&buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let frame = nextFrame(&buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        return .needMoreData
    }

    /// The framing logic itself, free of the channel so tests can drive it byte by byte.
    public mutating func nextFrame(_ buffer: inout ByteBuffer) -> LineFrame? {
        // memchr: NIO's firstIndex(of:) goes byte by byte, and every reply carrying a message
        // is kilobytes of base64 to cross.
        let newline = buffer.withUnsafeReadableBytes { raw -> Int? in
            guard scanned < raw.count, let base = raw.baseAddress,
                let hit = memchr(base + scanned, Int32(UInt8(ascii: "\n")), raw.count - scanned)
            else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        if let length = newline {
            scanned = 0
            if discarding {
                discarding = false
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .oversize
            }
            if length > maxLineBytes {
                buffer.moveReaderIndex(forwardBy: length + 1)
                return .oversize
            }
            var line = buffer.readSlice(length: length)!
            buffer.moveReaderIndex(forwardBy: 1)
            if line.readableBytesView.last == UInt8(ascii: "\r") {
                line.moveWriterIndex(to: line.writerIndex - 1)
            }
            return .line(line)
        }
        if discarding || buffer.readableBytes > maxLineBytes {
            // Keep nothing of a line that is already too long.
            discarding = true
            buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
            scanned = 0
            return nil
        }
        scanned = buffer.readableBytes
        return nil
    }
}
