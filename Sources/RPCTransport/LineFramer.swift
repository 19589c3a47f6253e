import LineFraming
public import NIOCore

/// What the framer hands up: a complete line, or word that a line was longer than allowed and
/// was thrown away (the connection goes on with the next line).
public enum LineFrame: Sendable, Equatable {
    case line(ByteBuffer)
    case oversize
}

/// The RPC's framing as a `ByteToMessageDecoder`: `\n`-terminated lines of at most
/// `maxLineBytes` before the `\n` (an optional `\r` before it is dropped, so `nc` and `socat`
/// users can type requests). The framing is LineFraming's `LineFramer` in `.lf` mode, whose
/// policy this keeps: a longer line is discarded as it streams in, so memory stays bounded by the
/// cap, and reported once as `.oversize` when its newline arrives.
public struct LineFramer: ByteToMessageDecoder {
    public typealias InboundOut = LineFrame

    let maxLineBytes: Int
    var framer: LineFraming.LineFramer

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
        // The pure framer's limit counts the `\n` too.
        self.framer = LineFraming.LineFramer(terminator: .lf, maximumLineLength: maxLineBytes + 1)
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

    /// The framing itself, free of the channel so tests can drive it byte by byte.
    public mutating func nextFrame(_ buffer: inout ByteBuffer) -> LineFrame? {
        switch framer.next(from: &buffer) {
        case .line(let line)?: .line(line)
        case .lineTooLong?: .oversize
        case nil: nil
        }
    }
}
