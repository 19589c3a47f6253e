/// RFC 2047 encoded words ("=?charset?B?...?=") in unstructured header text and phrases.
public enum EncodedWord {
    private enum Segment {
        case text([UInt8])
        /// A decoded word, its charset, and the original text to fall back on.
        case word(charset: String, bytes: [UInt8], original: [UInt8])
    }

    // RFC 2047 §2
    // encoded-word = "=?" charset "?" encoding "?" encoded-text "?="
    // charset      = token    ; RFC 2231 §5 allows charset "*" language
    // encoding     = token    ; "B" or "Q", either case
    // encoded-text = 1*<Any printable ASCII character other than "?" or SPACE>
    /// Decodes every encoded word in `text`. Whitespace between adjacent encoded words is dropped
    /// (RFC 2047 §6.2), and adjacent words in the same charset are joined before decoding so a
    /// character split across words survives. A word in an unknown charset, or whose bytes are
    /// invalid in its charset, is left as written.
    public static func decode(_ text: String) -> String {
        let input = Array(text.utf8)
        guard input.count >= 8, text.contains("=?") else { return text }
        var segments: [Segment] = []
        var literalStart = 0
        var index = 0
        while index + 1 < input.count {
            if input[index] == ASCII.equals && input[index + 1] == ASCII.question,
                let (word, next) = parseWord(input, at: index)
            {
                if literalStart < index {
                    segments.append(.text(Array(input[literalStart..<index])))
                }
                segments.append(word)
                index = next
                literalStart = next
            } else {
                index += 1
            }
        }
        if literalStart < input.count {
            segments.append(.text(Array(input[literalStart...])))
        }
        return render(segments)
    }

    private static func parseWord(_ input: [UInt8], at start: Int) -> (Segment, Int)? {
        var index = start + 2
        let charsetStart = index
        while index < input.count && input[index] != ASCII.question {
            guard isWordByte(input[index]) else { return nil }
            index += 1
        }
        guard index < input.count, index > charsetStart else { return nil }
        let charset = Charset.latin1(input[charsetStart..<index])
        index += 1
        guard index + 1 < input.count, input[index + 1] == ASCII.question else { return nil }
        let encoding = ASCII.lowercased(input[index])
        guard encoding == UInt8(ascii: "b") || encoding == UInt8(ascii: "q") else { return nil }
        index += 2
        let textStart = index
        while index + 1 < input.count && !(input[index] == ASCII.question && input[index + 1] == ASCII.equals) {
            guard isWordByte(input[index]) else { return nil }
            index += 1
        }
        guard index + 1 < input.count else { return nil }
        let encoded = input[textStart..<index]
        let end = index + 2
        let bytes =
            encoding == UInt8(ascii: "b")
            ? TransferDecoding.base64(encoded)
            : TransferDecoding.quotedPrintable(encoded, underscoreIsSpace: true)
        return (.word(charset: charset, bytes: bytes, original: Array(input[start..<end])), end)
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        byte > ASCII.space && byte < 0x7F
    }

    private static func render(_ segments: [Segment]) -> String {
        var output = ""
        var index = 0
        while index < segments.count {
            switch segments[index] {
            case .text(let bytes):
                let betweenWords =
                    index > 0 && index + 1 < segments.count
                    && bytes.allSatisfy(ASCII.isFoldingWhitespace)
                    && isWord(segments[index - 1]) && isWord(segments[index + 1])
                if !betweenWords {
                    output += Charset.lenientString(bytes)
                }
                index += 1
            case .word(let charset, var bytes, var original):
                // Join following words in the same charset, skipping whitespace between them.
                var next = index + 1
                while next < segments.count {
                    if case .word(let otherCharset, let more, let moreOriginal) = segments[next],
                        otherCharset.caseInsensitiveCompare(charset) == .orderedSame
                    {
                        bytes += more
                        original += moreOriginal
                        next += 1
                    } else if case .text(let gap) = segments[next], gap.allSatisfy(ASCII.isFoldingWhitespace),
                        next + 1 < segments.count,
                        case .word(let otherCharset, _, _) = segments[next + 1],
                        otherCharset.caseInsensitiveCompare(charset) == .orderedSame
                    {
                        next += 1
                    } else {
                        break
                    }
                }
                output += Charset.decode(bytes, charset: charset) ?? Charset.lenientString(original)
                index = next
            }
        }
        return output
    }

    private static func isWord(_ segment: Segment) -> Bool {
        if case .word = segment { return true }
        return false
    }
}
