import MailCore
public import NIOCore

/// A value in a server response (RFC 3501 §4): the encoder picks how each is written.
public indirect enum IMAPValue: Sendable, Hashable {
    /// Written as is: a keyword, a flag (`\Seen`), a response code's name.
    case atom(String)
    case number(UInt64)
    /// Octets written as a quoted string when they can be, otherwise as a literal (§4.3).
    case string([UInt8])
    /// `NIL`.
    case nilValue
    /// `(a b c)`.
    case list([IMAPValue])
    /// Written as is, for text the caller has already formatted (`BODY[1]<0>`).
    case raw(String)
}

/// The status of a status response (RFC 3501 §7.1).
public enum IMAPResponseStatus: String, Sendable, Hashable {
    case ok = "OK"
    case no = "NO"
    case bad = "BAD"
    case bye = "BYE"
    case preauth = "PREAUTH"
}

/// Writes server responses (RFC 3501 §7) into a `ByteBuffer`.
public enum IMAPResponseEncoder {
    /// The longest string written quoted; longer ones are literals, which need no escaping and
    /// keep lines short (RFC 2683 §3.2.1.5 suggests lines stay well under 8000 octets).
    public static let maximumQuotedLength = 1000

    public static func write(_ value: IMAPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .atom(let text), .raw(let text):
            buffer.writeString(text)
        case .number(let number):
            buffer.writeString(String(number))
        case .nilValue:
            buffer.writeStaticString("NIL")
        case .string(let bytes):
            writeString(bytes, into: &buffer)
        case .list(let values):
            buffer.writeInteger(IMAPCharacter.openParen)
            for (index, element) in values.enumerated() {
                if index > 0 { buffer.writeInteger(IMAPCharacter.space) }
                write(element, into: &buffer)
            }
            buffer.writeInteger(IMAPCharacter.closeParen)
        }
    }

    ///     string          = quoted / literal
    ///     quoted          = DQUOTE *QUOTED-CHAR DQUOTE
    ///     QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
    ///                       "\" quoted-specials
    ///
    /// §4.3: 8-bit data, CR and LF can only be sent in a literal.
    static func writeString(_ bytes: [UInt8], into buffer: inout ByteBuffer) {
        bytes.withUnsafeBufferPointer { writeString($0, into: &buffer) }
    }

    static func writeString(_ bytes: UnsafeBufferPointer<UInt8>, into buffer: inout ByteBuffer) {
        var specials = 0
        var quotable = bytes.count <= maximumQuotedLength
        if quotable {
            for byte in bytes {
                if byte == 0 || byte >= 0x80 || byte == IMAPCharacter.cr || byte == IMAPCharacter.lf {
                    quotable = false
                    break
                }
                if byte == IMAPCharacter.quote || byte == IMAPCharacter.backslash { specials += 1 }
            }
        }
        guard quotable else {
            literalPrefix(size: bytes.count, into: &buffer)
            buffer.writeBytes(bytes)
            return
        }
        // Written in one piece: byte by byte into a ByteBuffer was most of a FETCH ENVELOPE's
        // encoding time.
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: bytes.count + specials + 2) { output in
            var at = 0
            output[at] = IMAPCharacter.quote
            at += 1
            for byte in bytes {
                if byte == IMAPCharacter.quote || byte == IMAPCharacter.backslash {
                    output[at] = IMAPCharacter.backslash
                    at += 1
                }
                output[at] = byte
                at += 1
            }
            output[at] = IMAPCharacter.quote
            return at + 1
        }
    }

    /// `string` (§9) from text's UTF-8, with no value built on the way (a FETCH of 10,000
    /// envelopes writes some 200,000 of these).
    public static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        var text = text
        text.withUTF8 { writeString($0, into: &buffer) }
    }

    /// `nstring = string / nil` (§9).
    public static func writeNString(_ text: String?, into buffer: inout ByteBuffer) {
        guard let text else {
            buffer.writeStaticString("NIL")
            return
        }
        writeString(text, into: &buffer)
    }

    /// `{size}` CRLF, for a literal whose octets the caller streams (a large `BODY[]`).
    public static func literalPrefix(size: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(IMAPCharacter.openBrace)
        buffer.writeString(String(size))
        buffer.writeInteger(IMAPCharacter.closeBrace)
        buffer.writeStaticString("\r\n")
    }

    ///     astring         = 1*ASTRING-CHAR / string
    ///
    /// An atom when every character may stand in one (and it is not `NIL`, which would read as
    /// nil), otherwise a string.
    public static func astring(_ text: String) -> IMAPValue {
        let bytes = Array(text.utf8)
        if !bytes.isEmpty, bytes.allSatisfy(IMAPCharacter.isAStringChar), IMAPCharacter.keyword(bytes) != "NIL" {
            return .atom(text)
        }
        return .string(bytes)
    }

    /// A mailbox name given in UTF-8, as modified UTF-7 (§5.1.3) in an astring.
    public static func mailbox(_ name: String) -> IMAPValue {
        astring(ModifiedUTF7.encode(name))
    }

    ///     flag-list       = "(" [flag *(SP flag)] ")"
    public static func flagList(_ flags: [String]) -> IMAPValue {
        .list(flags.map { .atom($0) })
    }

    /// `tag OK [CODE] text` CRLF (§7.1).
    public static func tagged(
        _ tag: IMAPTag, _ status: IMAPResponseStatus, code: String? = nil, text: String, into buffer: inout ByteBuffer
    ) {
        buffer.writeString(tag)
        writeStatus(status, code: code, text: text, into: &buffer)
    }

    /// `* OK [CODE] text` CRLF (§7.1), and likewise NO, BAD, BYE, PREAUTH.
    public static func untagged(_ status: IMAPResponseStatus, code: String? = nil, text: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        writeStatus(status, code: code, text: text, into: &buffer)
    }

    /// `* v1 v2 ...` CRLF: untagged data (`* 3 EXISTS`, `* FLAGS (...)`, `* LIST ...`).
    public static func untagged(_ values: [IMAPValue], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        for value in values {
            buffer.writeInteger(IMAPCharacter.space)
            write(value, into: &buffer)
        }
        buffer.writeStaticString("\r\n")
    }

    ///     continue-req    = "+" SP (resp-text / base64) CRLF
    public static func continuation(_ text: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("+ ")
        writeText(text, into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    ///     resp-cond-state = ("OK" / "NO" / "BAD") SP resp-text
    ///     resp-text       = ["[" resp-text-code "]" SP] text
    ///     text            = 1*TEXT-CHAR
    private static func writeStatus(
        _ status: IMAPResponseStatus, code: String?, text: String, into buffer: inout ByteBuffer
    ) {
        buffer.writeInteger(IMAPCharacter.space)
        buffer.writeString(status.rawValue)
        buffer.writeInteger(IMAPCharacter.space)
        if let code {
            buffer.writeStaticString("[")
            writeText(code, into: &buffer)
            buffer.writeStaticString("] ")
        }
        writeText(text.isEmpty ? status.rawValue.lowercased() : text, into: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// TEXT-CHAR is any CHAR but CR and LF: a line break in `text` would end the response
    /// early and let the rest pass for another one, so CR, LF and NUL become spaces.
    private static func writeText(_ text: String, into buffer: inout ByteBuffer) {
        for byte in text.utf8 {
            buffer.writeInteger(byte == IMAPCharacter.cr || byte == IMAPCharacter.lf || byte == 0 ? IMAPCharacter.space : byte)
        }
    }
}
