public import NIOCore

/// Splits the command phase into lines (STYLE §2: framing first, then grammar).
///
/// A line ends at CRLF. Bare LF is also taken as a line end (be liberal in what you accept,
/// RFC 5321 §2.3.8 notwithstanding): in the command phase it cannot smuggle anything, because
/// message content never passes through this framer; the DATA terminator is decided by
/// `DataReceiver`, which is strict. A CR not followed by LF stays in the line, and the parser
/// rejects it as a control character.
///
/// A line longer than the limit is never buffered: the framer drops its bytes as they arrive
/// and, once the line finally ends, reports `.tooLong` exactly once so that the reply pairs with
/// the offending command (RFC 5321 §4.5.3.1.4, §4.5.3.1.10 "500 Line too long").
public struct SMTPLineFramer: Sendable {
    public enum Frame: Sendable, Equatable {
        /// A complete line without its line ending.
        case line(ByteBuffer)
        /// A line over the limit ended; its bytes were discarded.
        case tooLong
    }

    private var discarding = false

    public init() {}

    /// True while the framer is dropping the rest of an oversized line.
    public var isDiscarding: Bool { discarding }

    /// Takes the next frame from the front of `buffer`, consuming exactly its bytes; nil when
    /// more bytes are needed. `limit` counts the line ending too.
    public mutating func next(from buffer: inout ByteBuffer, limit: Int) -> Frame? {
        let lf = UInt8(ascii: "\n")
        if discarding {
            guard let end = buffer.readableBytesView.firstIndex(of: lf) else {
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return nil
            }
            buffer.moveReaderIndex(to: end + 1)
            discarding = false
            return .tooLong
        }
        let window = buffer.readableBytesView.prefix(limit)
        guard let end = window.firstIndex(of: lf) else {
            if buffer.readableBytes >= limit {
                buffer.moveReaderIndex(forwardBy: limit)
                discarding = true
                return next(from: &buffer, limit: limit)
            }
            return nil
        }
        var length = end - buffer.readerIndex
        if length > 0, buffer.getInteger(at: end - 1, as: UInt8.self) == UInt8(ascii: "\r") { length -= 1 }
        let line = buffer.getSlice(at: buffer.readerIndex, length: length)!
        buffer.moveReaderIndex(to: end + 1)
        return .line(line)
    }
}
