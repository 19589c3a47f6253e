import MailCore

/// Content-Transfer-Encoding encoders (RFC 2045 §6), bytes to bytes, for the parts the server
/// composes itself (a bounce's copy of a header that is not 7-bit clean, or of a message).
/// `TransferDecoding` undoes them.
public enum TransferEncoding {
    /// Base64 lines are at most this long (RFC 2045 §6.8).
    public static let maxBase64Line = 76

    /// Base64 (RFC 2045 §6.8) in lines of 76 characters, each ended by CRLF.
    public static func base64(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let encoded = Array(Base64.encode(bytes).utf8)
        var output: [UInt8] = []
        output.reserveCapacity(encoded.count + encoded.count / maxBase64Line * 2 + 2)
        var start = 0
        while start < encoded.count {
            let end = min(start + maxBase64Line, encoded.count)
            output += encoded[start..<end]
            output += [0x0D, 0x0A]
            start = end
        }
        return output
    }

    /// Encoded lines are at most this long, soft line break included (RFC 2045 §6.7 rule 5).
    public static let maxQuotedPrintableLine = 76

    // RFC 2045 §6.7
    // quoted-printable := qp-line *(CRLF qp-line)
    // qp-line := *(qp-segment transport-padding CRLF) qp-part transport-padding
    // qp-segment := qp-section *(SPACE / TAB) "="   ; a soft line break
    // safe-char := <any octet with decimal value of 33 through 60 inclusive, and 62 through 126>
    /// Quoted-printable: each CRLF stays a line break; a bare CR or LF, "=", every byte outside
    /// printable US-ASCII, and a space or tab just before a line break are written `=XX`; lines
    /// longer than 76 characters are broken with soft line breaks. The result is 7-bit with CRLF
    /// line endings whatever the input.
    public static func quotedPrintable(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity(input.count + input.count / 8)
        let digits = Array("0123456789ABCDEF".utf8)
        var column = 0
        var i = 0
        while i < input.count {
            let byte = input[i]
            if byte == 0x0D, i + 1 < input.count, input[i + 1] == 0x0A {
                output += [0x0D, 0x0A]
                column = 0
                i += 2
                continue
            }
            let atLineEnd = i + 1 == input.count || (input[i + 1] == 0x0D && i + 2 < input.count && input[i + 2] == 0x0A)
            let literal =
                (byte >= 33 && byte <= 126 && byte != UInt8(ascii: "=")) || ((byte == 0x20 || byte == 0x09) && !atLineEnd)
            let width = literal ? 1 : 3
            // Room for the soft break's "=" too.
            if column + width > maxQuotedPrintableLine - 1 {
                output += [UInt8(ascii: "="), 0x0D, 0x0A]
                column = 0
            }
            if literal {
                output.append(byte)
            } else {
                output += [UInt8(ascii: "="), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
            column += width
            i += 1
        }
        return output
    }
}
