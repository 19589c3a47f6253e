import MailCore
public import NIOCore

/// A response the server sends: a status line, a multi-line response, or a SASL continuation.
///
/// RFC 2449 §3:
///
///     single-line  =  status [SP text] CRLF       ;512 octets maximum
///     multi-line   =  single-line *dot-stuffed "." CRLF
///     status       =  "+OK" / "-ERR"
///
/// RFC 5034 §4: `continue-req = "+" SP [base64] CRLF`.
public enum POP3Response: Hashable, Sendable {
    /// `+OK [code] text`.
    case ok(String, code: POP3ResponseCode? = nil)
    /// `-ERR [code] text`.
    case err(String, code: POP3ResponseCode? = nil)
    /// `+OK text`, then each line dot-stuffed, then `.` (RFC 1939 §3).
    case multiLine(String, lines: [String])
    /// `+ base64`: a SASL challenge (RFC 5034 §4); the payload is encoded on the wire.
    case continuation(ByteBuffer)

    /// The maximum status line, CRLF included (RFC 2449 §4); longer text is cut.
    public static let maximumStatusLineLength = 512

    public var isOK: Bool {
        switch self {
        case .ok, .multiLine, .continuation: true
        case .err: false
        }
    }

    /// Appends the wire form to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        switch self {
        case .ok(let text, let code):
            Self.writeStatusLine("+OK", code: code, text: text, into: &buffer)
        case .err(let text, let code):
            Self.writeStatusLine("-ERR", code: code, text: text, into: &buffer)
        case .multiLine(let text, let lines):
            Self.writeStatusLine("+OK", code: nil, text: text, into: &buffer)
            for line in lines {
                let bytes = Self.sanitised(line)
                if bytes.first == UInt8(ascii: ".") { buffer.writeInteger(UInt8(ascii: ".")) }
                buffer.writeBytes(bytes)
                buffer.writeStaticString("\r\n")
            }
            buffer.writeStaticString(".\r\n")
        case .continuation(let payload):
            buffer.writeStaticString("+ ")
            buffer.writeString(Base64.encode(payload.readableBytesView))
            buffer.writeStaticString("\r\n")
        }
    }

    /// The wire form as a new buffer.
    public var encoded: ByteBuffer {
        var buffer = ByteBuffer()
        write(into: &buffer)
        return buffer
    }

    private static func writeStatusLine(
        _ status: String, code: POP3ResponseCode?, text: String, into buffer: inout ByteBuffer
    ) {
        var line: [UInt8] = []
        line.append(contentsOf: status.utf8)
        if let code {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: sanitised(code.description))
        }
        let textBytes = sanitised(text)
        if !textBytes.isEmpty {
            line.append(UInt8(ascii: " "))
            line.append(contentsOf: textBytes)
        }
        buffer.writeBytes(truncated(line, to: maximumStatusLineLength - 2))
        buffer.writeStaticString("\r\n")
    }

    /// Control characters (CR and LF above all) would end or split the line: they become spaces.
    private static func sanitised(_ text: String) -> [UInt8] {
        text.utf8.map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: " ") : $0 }
    }

    /// Cuts at `limit` octets without splitting a UTF-8 sequence.
    private static func truncated(_ bytes: [UInt8], to limit: Int) -> ArraySlice<UInt8> {
        guard bytes.count > limit else { return bytes[...] }
        var end = limit
        while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return bytes[..<end]
    }
}
