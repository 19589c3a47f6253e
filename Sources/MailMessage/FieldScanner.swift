/// A cursor over a structured header field's value (RFC 5322 §3.2) with the lexical pieces
/// every structured field shares: folding whitespace, comments and quoted strings. Every method
/// advances or reports that it cannot, so loops built on it always terminate.
struct FieldScanner {
    let bytes: [UInt8]
    var index = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { index >= bytes.count }

    var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    // RFC 5322 §3.2.2
    // CFWS = (1*([FWS] comment) [FWS]) / FWS
    /// Skips folding whitespace and comments; returns the text of the comments skipped.
    @discardableResult
    mutating func skipCFWS() -> [[UInt8]] {
        var comments: [[UInt8]] = []
        while let byte = current {
            if ASCII.isFoldingWhitespace(byte) {
                index += 1
            } else if byte == ASCII.openParen {
                comments.append(comment())
            } else {
                break
            }
        }
        return comments
    }

    // RFC 5322 §3.2.2
    // comment  = "(" *([FWS] ccontent) [FWS] ")"
    // ccontent = ctext / quoted-pair / comment
    /// Reads a comment starting at "(", nested comments included; an unclosed one runs to the end.
    mutating func comment() -> [UInt8] {
        var depth = 0
        var text: [UInt8] = []
        while let byte = current {
            index += 1
            switch byte {
            case ASCII.openParen:
                if depth > 0 { text.append(byte) }
                depth += 1
            case ASCII.closeParen:
                depth -= 1
                if depth == 0 { return text }
                text.append(byte)
            case ASCII.backslash:
                if let escaped = current {
                    text.append(escaped)
                    index += 1
                }
            case ASCII.cr, ASCII.lf:
                continue
            default:
                text.append(byte)
            }
        }
        return text
    }

    // RFC 5322 §3.2.4
    // quoted-string = [CFWS] DQUOTE *([FWS] qcontent) [FWS] DQUOTE [CFWS]
    // qcontent      = qtext / quoted-pair
    /// Reads a quoted string starting at the quote: its content with quoted pairs resolved, and
    /// its text as written. An unclosed string runs to the end.
    mutating func quotedString() -> (value: [UInt8], raw: [UInt8]) {
        let start = index
        index += 1
        var value: [UInt8] = []
        while let byte = current {
            index += 1
            switch byte {
            case ASCII.quote:
                return (value, Array(bytes[start..<index]))
            case ASCII.backslash:
                if let escaped = current {
                    value.append(escaped)
                    index += 1
                }
            case ASCII.cr, ASCII.lf:
                continue
            default:
                value.append(byte)
            }
        }
        return (value, Array(bytes[start..<index]))
    }

    /// Reads bytes up to (not including) the first one for which `stop` is true.
    mutating func run(until stop: (UInt8) -> Bool) -> [UInt8] {
        let start = index
        while let byte = current, !stop(byte) { index += 1 }
        return Array(bytes[start..<index])
    }
}
