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

    /// CRLF pairs within the chunk stay in the run being copied, so a message that already has
    /// CRLF line ends and no leading dots is copied with one write per chunk.
    mutating func encode(_ bytes: UnsafeRawBufferPointer, into output: inout ByteBuffer) {
        output.reserveCapacity(minimumWritableBytes: bytes.count + 8)
        let cr = UInt8(ascii: "\r")
        let lf = UInt8(ascii: "\n")
        var atLineStart = self.atLineStart
        var runStart = 0
        var index = 0
        // Copies the pending run of bytes that need no change in one call.
        func flush(upTo end: Int) {
            if runStart < end { output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<end])) }
        }
        if pendingCR, !bytes.isEmpty {
            // A CR ended the previous chunk: whatever follows, it ends a line.
            pendingCR = false
            output.writeStaticString("\r\n")
            atLineStart = true
            if bytes[0] == lf { index = 1 }
            runStart = index
        }
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte == cr {
                if index + 1 < count {
                    if bytes[index + 1] == lf {
                        index += 2
                    } else {  // bare CR
                        flush(upTo: index)
                        output.writeStaticString("\r\n")
                        index += 1
                        runStart = index
                    }
                } else {  // the chunk ends between CR and what follows
                    flush(upTo: index)
                    pendingCR = true
                    index += 1
                    runStart = index
                }
                atLineStart = true
            } else if byte == lf {  // bare LF
                flush(upTo: index)
                output.writeStaticString("\r\n")
                index += 1
                runStart = index
                atLineStart = true
            } else {
                if atLineStart && byte == UInt8(ascii: ".") {
                    flush(upTo: index)
                    output.writeInteger(UInt8(ascii: "."))
                    runStart = index  // the original "." is copied with the run
                }
                atLineStart = false
                index += 1
            }
        }
        flush(upTo: index)
        self.atLineStart = atLineStart
    }

    /// Ends the last line if the content did not, and writes the terminating ".CRLF".
    public mutating func finish(into output: inout ByteBuffer) {
        if pendingCR || !atLineStart { output.writeStaticString("\r\n") }
        pendingCR = false
        atLineStart = true
        output.writeStaticString(".\r\n")
    }
}
