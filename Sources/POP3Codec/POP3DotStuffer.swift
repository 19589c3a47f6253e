public import NIOCore

/// Streams message content into the body of a multi-line response (RFC 1939 §3): every line that
/// begins with "." gets another "." in front, line ends become CRLF, and `finish` ends the last
/// line and writes the terminating ".CRLF".
///
/// Chunks may split the content anywhere, even between CR and LF. The only state kept between
/// chunks is two flags, so memory stays bounded whatever the message size. Bare LF and bare CR
/// both become CRLF: a bare CR followed by "." must not reach a client that treats CR as a line
/// end as an unstuffed ".", the POP3 cousin of SMTP smuggling.
public struct POP3DotStuffer: Sendable {
    private var atLineStart = true
    private var pendingCR = false

    public init() {}

    /// Appends the stuffed form of `chunk` to `output`.
    public mutating func encode(_ chunk: ByteBuffer, into output: inout ByteBuffer) {
        chunk.withUnsafeReadableBytes { bytes in
            encode(bytes, into: &output)
        }
    }

    mutating func encode(_ bytes: UnsafeRawBufferPointer, into output: inout ByteBuffer) {
        output.reserveCapacity(minimumWritableBytes: bytes.count + 8)
        var runStart = 0
        var index = 0
        // Copies the pending run of ordinary bytes in one call.
        func flush(upTo end: Int) {
            if runStart < end { output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<end])) }
        }
        while index < bytes.count {
            let byte = bytes[index]
            if pendingCR {
                pendingCR = false
                output.writeStaticString("\r\n")
                atLineStart = true
                if byte == UInt8(ascii: "\n") {
                    index += 1
                    runStart = index
                    continue
                }
            }
            switch byte {
            case UInt8(ascii: "\r"):
                flush(upTo: index)
                pendingCR = true
                index += 1
                runStart = index
            case UInt8(ascii: "\n"):
                flush(upTo: index)
                output.writeStaticString("\r\n")
                atLineStart = true
                index += 1
                runStart = index
            case UInt8(ascii: ".") where atLineStart:
                flush(upTo: index)
                output.writeInteger(UInt8(ascii: "."))
                atLineStart = false
                runStart = index  // the original "." is copied with the run
                index += 1
            default:
                atLineStart = false
                index += 1
            }
        }
        flush(upTo: index)
    }

    /// Ends the last line if the content did not, and writes the terminating ".CRLF".
    public mutating func finish(into output: inout ByteBuffer) {
        if pendingCR || !atLineStart { output.writeStaticString("\r\n") }
        pendingCR = false
        atLineStart = true
        output.writeStaticString(".\r\n")
    }
}
