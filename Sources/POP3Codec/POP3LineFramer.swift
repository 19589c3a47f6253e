public import NIOCore

/// Splits the client's byte stream into command lines (RFC 1939 §3: "commands ... terminated by
/// a CRLF pair"). A bare LF also ends a line, for lenient clients; the CR before an LF is removed.
///
/// Memory is bounded by `maximumLineLength`: a line that outgrows it is reported once as
/// `.lineTooLong` as soon as it is seen, and the rest of it, up to its line end, is consumed and
/// dropped as it arrives. "Need more bytes" (nil) is distinct from both outcomes (STYLE §2).
public struct POP3LineFramer: Sendable {
    public enum Outcome: Hashable, Sendable {
        /// One line, without its terminator.
        case line(ByteBuffer)
        /// A line longer than `maximumLineLength`; the session answers `-ERR line too long`.
        case lineTooLong
    }

    /// The longest line accepted, counting its terminator as the two octets of CRLF. The gateway sets it from
    /// `POP3Session.maximumLineLength` before each call, so SASL responses may be longer than
    /// commands (RFC 2449 §4, RFC 5034 §4).
    public var maximumLineLength: Int

    private var skippingOversizeLine = false

    public init(maximumLineLength: Int = POP3Command.maximumLineLength) {
        self.maximumLineLength = maximumLineLength
    }

    /// Takes the next complete line from the front of `buffer`, or returns nil when `buffer`
    /// holds no complete line yet (leaving at most `maximumLineLength` bytes in it).
    public mutating func next(from buffer: inout ByteBuffer) -> Outcome? {
        while true {
            let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n"))
            if skippingOversizeLine {
                guard let newline else {
                    buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                    return nil
                }
                buffer.moveReaderIndex(to: newline + 1)
                skippingOversizeLine = false
                continue
            }
            guard let newline else {
                guard buffer.readableBytes >= maximumLineLength else { return nil }
                // No line end within the limit: whatever follows, this line is too long.
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                skippingOversizeLine = true
                return .lineTooLong
            }
            var line = buffer.readSlice(length: newline + 1 - buffer.readerIndex)!
            line.moveWriterIndex(to: line.writerIndex - 1)
            if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
                line.moveWriterIndex(to: line.writerIndex - 1)
            }
            // The limit counts a CRLF terminator even when the client sent a bare LF.
            guard line.readableBytes + 2 <= maximumLineLength else { return .lineTooLong }
            return .line(line)
        }
    }

    /// Drops everything buffered, as the gateway must when TLS starts after STLS: bytes that
    /// arrived before the handshake must never be read as if they came over TLS (RFC 2595 §4;
    /// CVE-2011-0411).
    public mutating func discardBuffered(_ buffer: inout ByteBuffer) {
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        skippingOversizeLine = false
    }
}
