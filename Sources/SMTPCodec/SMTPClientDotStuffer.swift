public import NIOCore

/// Encodes a message body for DATA (RFC 5321 §4.5.2), streaming: chunks may be cut anywhere,
/// even between a CR and its LF, and the output is the same as for the whole body at once.
///
/// - A line starting with "." gets a second one (§4.5.2 transparency).
/// - A bare LF and a bare CR each become CRLF. §2.3.8 forbids bare line endings in SMTP text;
///   sending them as CRLF, as Postfix does, means no receiver can disagree with us about
///   where a line ends. In particular `\n.\r\n` goes out as `\r\n..\r\n`, so no server can
///   read an early end of data into the body (SMTP smuggling).
/// - A body that does not end with CRLF gets one, then the `.` CRLF terminator (§4.1.1.4).
///
/// Output is at most twice the input plus five octets. BDAT (RFC 3030) sends bodies as they
/// are and needs none of this.
public struct SMTPClientDotStuffer: Sendable, Hashable {
    private var atLineStart = true
    private var pendingCR = false

    public init() {}

    /// Appends the encoding of `chunk` to `output`.
    public mutating func encode(_ chunk: some Sequence<UInt8>, into output: inout ByteBuffer) {
        for byte in chunk {
            if pendingCR {
                pendingCR = false
                output.writeInteger(UInt8(ascii: "\r"))
                output.writeInteger(UInt8(ascii: "\n"))
                atLineStart = true
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\r"):
                // Decided by the next byte: CRLF stays, a bare CR becomes CRLF too.
                pendingCR = true
            case UInt8(ascii: "\n"):
                output.writeInteger(UInt8(ascii: "\r"))
                output.writeInteger(UInt8(ascii: "\n"))
                atLineStart = true
            case UInt8(ascii: "."):
                if atLineStart { output.writeInteger(UInt8(ascii: ".")) }
                output.writeInteger(byte)
                atLineStart = false
            default:
                output.writeInteger(byte)
                atLineStart = false
            }
        }
    }

    /// Appends the end of the body: the CRLF it may lack, then `.` CRLF. The stuffer is then
    /// ready for the next message.
    public mutating func finish(into output: inout ByteBuffer) {
        if pendingCR || !atLineStart { output.writeStaticString("\r\n") }
        output.writeStaticString(".\r\n")
        self = SMTPClientDotStuffer()
    }

    /// The whole encoding of one body (tests, small messages).
    public static func encode(_ body: some Sequence<UInt8>) -> ByteBuffer {
        var stuffer = SMTPClientDotStuffer()
        var output = ByteBuffer()
        stuffer.encode(body, into: &output)
        stuffer.finish(into: &output)
        return output
    }
}
