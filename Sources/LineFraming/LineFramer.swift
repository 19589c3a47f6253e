/// LineFraming: the one line framer of Loft (STYLE §2: framing first, then grammar), shared by
/// the line-based codecs (SMTP and POP3 commands, IMAP next) and by RPCTransport's JSON lines.
/// It sits below both in DESIGN §6's map and imports only NIOCore (for `ByteBuffer`) and the C
/// library (for `memchr`): no channels, no protocol, no I/O.
public import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Splits a byte stream into lines, with one policy for a line over the limit: it is never
/// buffered (its bytes are dropped as they arrive), it is reported once, as `.lineTooLong`, when
/// its line end arrives, so that the reply pairs with the offending line (RFC 5321 §4.5.3.1.10
/// "500 Line too long", RFC 2449 §4), and framing goes on with the next line.
///
/// A line ends at LF; a CR just before the LF is not part of the line. A CR anywhere else stays
/// in the line, for the parser to refuse. Bare LF is accepted in `.crlf` mode too (be liberal in
/// what you accept): in a command phase it cannot smuggle anything, because message content never
/// passes through this framer (SMTP's DATA terminator is `DataReceiver`'s business, and it is
/// strict).
///
/// "Need more bytes" (nil) is distinct from both outcomes. The caller hands back the same buffer
/// on the next call, with more bytes appended: the framer remembers how far it has searched.
public struct LineFramer: Sendable {
    /// What ends a line, and how many octets it counts towards the limit.
    public enum Terminator: Sendable, Hashable {
        /// CRLF (RFC 5321 §2.3.8, RFC 1939 §3, RFC 3501 §2.2). A bare LF also ends a line and
        /// counts as the two octets of CRLF, so a line is accepted or refused whatever the client
        /// ended it with.
        case crlf
        /// LF, as the RPC's JSON lines end. A CR before it is dropped from the line (so `nc` and
        /// `socat` users can type requests) but counts, as received.
        case lf

        /// The fewest octets the terminator counts for.
        var octets: Int {
            switch self {
            case .crlf: 2
            case .lf: 1
            }
        }
    }

    public enum Frame: Sendable, Hashable {
        /// A complete line, without its terminator.
        case line(ByteBuffer)
        /// A line longer than `maximumLineLength` ended; its bytes were discarded.
        case lineTooLong
    }

    public let terminator: Terminator
    /// The longest line accepted, its terminator included (counted as `Terminator` says). May
    /// change between lines, as SMTP's AUTH continuations and POP3's SASL responses allow longer
    /// lines than commands (RFC 4954 §4, RFC 5034 §4); the framer never holds more than this
    /// many bytes of one line.
    public var maximumLineLength: Int

    private var discarding = false
    /// How far into the readable bytes the search for LF has gone, so a long line that arrives in
    /// many reads is scanned once, not once per read.
    private var scanned = 0

    public init(terminator: Terminator = .crlf, maximumLineLength: Int) {
        self.terminator = terminator
        self.maximumLineLength = maximumLineLength
    }

    /// True while the framer drops the rest of an over-long line.
    public var isDiscarding: Bool { discarding }

    /// Takes the next frame from the front of `buffer`, consuming exactly its bytes, or returns
    /// nil when `buffer` holds no complete line yet (keeping fewer than `maximumLineLength`
    /// bytes of it).
    public mutating func next(from buffer: inout ByteBuffer) -> Frame? {
        if scanned > buffer.readableBytes { scanned = 0 }
        // memchr: NIO's firstIndex(of:) goes byte by byte, and RPC lines that carry a message
        // are kilobytes of base64 to cross.
        let found = buffer.withUnsafeReadableBytes { raw -> Int? in
            guard scanned < raw.count, let base = raw.baseAddress,
                let hit = memchr(base + scanned, Int32(UInt8(ascii: "\n")), raw.count - scanned)
            else { return nil }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        guard let end = found else {
            if discarding || buffer.readableBytes >= maximumLineLength {
                // No line end within the limit: whatever follows, this line is too long.
                discarding = true
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                scanned = 0
            } else {
                scanned = buffer.readableBytes
            }
            return nil
        }
        scanned = 0
        var length = end
        if length > 0, buffer.getInteger(at: buffer.readerIndex + end - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            length -= 1
        }
        let counted = max(end + 1, length + terminator.octets)
        if discarding || counted > maximumLineLength {
            discarding = false
            buffer.moveReaderIndex(forwardBy: end + 1)
            return .lineTooLong
        }
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: end + 1 - length)
        return .line(line)
    }

    /// Drops everything buffered, as a gateway must when TLS starts after STARTTLS or STLS: bytes
    /// that arrived before the handshake must never be read as if they came over TLS (RFC 3207
    /// §5, RFC 2595 §4; CVE-2011-0411).
    public mutating func discardBuffered(_ buffer: inout ByteBuffer) {
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        discarding = false
        scanned = 0
    }
}
