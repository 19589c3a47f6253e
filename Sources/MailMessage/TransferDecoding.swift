/// Content-Transfer-Encoding decoders (RFC 2045 §6), bytes to bytes, for web mail and IMAP BINARY.
/// Both are lenient: they never fail, and decode what can be decoded.
public enum TransferDecoding {
    /// Decodes a body in the named transfer encoding; nil for an encoding this module does not know
    /// (RFC 2045 §6.4: such a body must be treated as application/octet-stream).
    public static func decode(_ bytes: [UInt8], encoding: String) -> [UInt8]? {
        switch encoding.trimmingWhitespace().lowercased() {
        case "", "7bit", "8bit", "binary": bytes
        case "base64": base64(bytes)
        case "quoted-printable": quotedPrintable(bytes)
        default: nil
        }
    }

    /// A body decoded piece by piece in bounded memory (IMAP BINARY of a large attachment),
    /// with the same result as decoding it whole: base64 carries an unfinished quantum over,
    /// quoted-printable decodes whole lines and carries the last, unfinished one. With `crlf`
    /// (a text part: RFC 9051 §7.5.2 wants CRLF line ends) a bare LF in the decoded bytes
    /// becomes CRLF.
    public struct Decoder: Sendable {
        private enum Kind: Sendable {
            case identity
            case base64(Base64Stream)
            case quotedPrintable(carry: [UInt8])
        }
        private var kind: Kind
        private let crlf: Bool
        private var lastWasCR = false
        /// A quoted-printable "line" longer than this (no line break in sight: not a
        /// conforming body, RFC 2045 §6.7 rule 5 allows 76) is decoded in pieces of about this
        /// size, so the carry stays bounded.
        static let longestCarriedLine = 64 * 1024

        /// nil for an encoding this module does not know (IMAP's `UNKNOWN-CTE`).
        public init?(encoding: String, crlf: Bool = false) {
            switch encoding.trimmingWhitespace().lowercased() {
            case "", "7bit", "8bit", "binary": kind = .identity
            case "base64": kind = .base64(Base64Stream())
            case "quoted-printable": kind = .quotedPrintable(carry: [])
            default: return nil
            }
            self.crlf = crlf
        }

        /// The decoded bytes `piece` completes.
        public mutating func decode(_ piece: [UInt8]) -> [UInt8] {
            switch kind {
            case .identity:
                return lineEnds(piece)
            case .base64(var stream):
                let output = stream.decode(piece)
                kind = .base64(stream)
                return lineEnds(output)
            case .quotedPrintable(let carry):
                let input = carry + piece
                var cut = (input.lastIndex(of: ASCII.lf).map { $0 + 1 }) ?? 0
                var forcedWhitespace = 0
                if cut == 0, input.count > Self.longestCarriedLine {
                    cut = Self.safeCut(input)
                    // Cut inside a whitespace run longer than the look-back: it is not at the
                    // line's end (more follows), so it is kept, not dropped as rule 3 would.
                    while forcedWhitespace < cut, [ASCII.space, ASCII.tab].contains(input[cut - 1 - forcedWhitespace]) {
                        forcedWhitespace += 1
                    }
                }
                kind = .quotedPrintable(carry: Array(input[cut...]))
                guard cut > 0 else { return [] }
                let decoded = TransferDecoding.quotedPrintable(input[..<(cut - forcedWhitespace)])
                return lineEnds(decoded + input[(cut - forcedWhitespace)..<cut])
            }
        }

        /// The bytes left at the end of the body.
        public mutating func finish() -> [UInt8] {
            switch kind {
            case .identity:
                return []
            case .base64(var stream):
                let output = stream.finish()
                kind = .base64(stream)
                return lineEnds(output)
            case .quotedPrintable(let carry):
                kind = .quotedPrintable(carry: [])
                return lineEnds(TransferDecoding.quotedPrintable(carry))
            }
        }

        private mutating func lineEnds(_ bytes: [UInt8]) -> [UInt8] {
            guard crlf, !bytes.isEmpty else { return bytes }
            var output: [UInt8] = []
            output.reserveCapacity(bytes.count + bytes.count / 32)
            for byte in bytes {
                if byte == ASCII.lf, !lastWasCR { output.append(ASCII.cr) }
                output.append(byte)
                lastWasCR = byte == ASCII.cr
            }
            return output
        }

        /// Where an overlong line may be cut so that the two sides decode as the whole would:
        /// not after a CR (its LF may follow), not within the three octets of an `=XX` or a
        /// soft break's `=`, not inside a run of whitespace (which rule 3 drops only at a
        /// line's end). It looks back a bounded distance; a line of nothing but whitespace
        /// or escapes longer than that is cut anyway (a body that long is not conforming).
        static func safeCut(_ input: [UInt8]) -> Int {
            let lookBack = 1024
            var cut = input.count
            let floor = max(1, input.count - lookBack)
            while cut > floor {
                let last = input[cut - 1]
                if last == ASCII.cr || last == ASCII.space || last == ASCII.tab {
                    cut -= 1
                    continue
                }
                if let equals = input[max(0, cut - 3)..<cut].lastIndex(of: ASCII.equals), equals >= cut - 3 {
                    // "=XX" complete just before the cut is fine; anything shorter is not.
                    if equals == cut - 3, ASCII.hexValue(input[cut - 2]) != nil, ASCII.hexValue(input[cut - 1]) != nil { return cut }
                    cut = equals
                    continue
                }
                return cut
            }
            return input.count
        }
    }

    // RFC 2045 §6.8: "All line breaks or other characters not found in Table 1 must be ignored by
    // decoding software." A "=" ends a quantum, so concatenated padded chunks decode too.
    /// Decodes base64, skipping whitespace and any other byte outside the alphabet.
    public static func base64(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var stream = Base64Stream()
        var output = stream.decode(Array(bytes))
        output += stream.finish()
        return output
    }

    /// Base64 decoded piece by piece, as `base64` decodes the whole: a quantum split between
    /// pieces is carried over, so a body can be decoded in bounded pieces cut anywhere.
    public struct Base64Stream: Sendable {
        private var quantum: UInt32 = 0
        private var filled = 0

        public init() {}

        /// The bytes `piece` completes.
        public mutating func decode(_ piece: [UInt8]) -> [UInt8] {
            var output: [UInt8] = []
            output.reserveCapacity(piece.count / 4 * 3 + 3)
            piece.withUnsafeBufferPointer { input in
                Self.values.withUnsafeBufferPointer { table in
                    for byte in input {
                        if byte == ASCII.equals {
                            flushPartial(into: &output)
                            continue
                        }
                        let value = table[Int(byte)]
                        guard value != 0xFF else { continue }
                        quantum = quantum << 6 | UInt32(value)
                        filled += 1
                        if filled == 4 {
                            output.append(UInt8(truncatingIfNeeded: quantum >> 16))
                            output.append(UInt8(truncatingIfNeeded: quantum >> 8))
                            output.append(UInt8(truncatingIfNeeded: quantum))
                            quantum = 0
                            filled = 0
                        }
                    }
                }
            }
            return output
        }

        /// The bytes of a quantum left unfinished at the end.
        public mutating func finish() -> [UInt8] {
            var output: [UInt8] = []
            flushPartial(into: &output)
            return output
        }

        private mutating func flushPartial(into output: inout [UInt8]) {
            // 2 sextets carry one byte, 3 carry two; a lone sextet carries nothing.
            if filled == 2 {
                output.append(UInt8(truncatingIfNeeded: quantum >> 4))
            } else if filled == 3 {
                output.append(UInt8(truncatingIfNeeded: quantum >> 10))
                output.append(UInt8(truncatingIfNeeded: quantum >> 2))
            }
            quantum = 0
            filled = 0
        }

        static let values: [UInt8] = {
            var table = [UInt8](repeating: 0xFF, count: 256)
            for (index, byte) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
                table[Int(byte)] = UInt8(index)
            }
            // RFC 4648 §5 base64url letters, seen in the wild in encoded words.
            table[Int(UInt8(ascii: "-"))] = 62
            table[Int(UInt8(ascii: "_"))] = 63
            return table
        }()
    }

    // RFC 2045 §6.7
    // quoted-printable := qp-line *(CRLF qp-line)
    // qp-line := *(qp-segment transport-padding CRLF) qp-part transport-padding
    // qp-segment := qp-section *(SPACE / TAB) "="     ; a soft line break
    // hex-octet := "=" 2(DIGIT / "A" / "B" / "C" / "D" / "E" / "F")
    /// Decodes quoted-printable: "=XX" (either case) becomes the octet, "=" before optional
    /// whitespace and a line break is a soft break, trailing whitespace on a line is dropped
    /// (rule 3), and a "=" that starts neither is kept as is. With `underscoreIsSpace`, "_" is
    /// read as a space, as in RFC 2047 §4.2 "Q" encoded words.
    public static func quotedPrintable(_ bytes: some Collection<UInt8>, underscoreIsSpace: Bool = false) -> [UInt8] {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        // Where the run of literal whitespace at the end of the output began, if it is one.
        var trailingWhitespaceStart: Int?
        var index = 0
        while index < input.count {
            let byte = input[index]
            switch byte {
            case ASCII.equals:
                trailingWhitespaceStart = nil
                var after = index + 1
                while after < input.count && ASCII.isWhitespace(input[after]) { after += 1 }
                if after == input.count {
                    index = after
                } else if input[after] == ASCII.lf {
                    index = after + 1
                } else if input[after] == ASCII.cr {
                    index = after + 1
                    if index < input.count && input[index] == ASCII.lf { index += 1 }
                } else if index + 2 < input.count,
                    let high = ASCII.hexValue(input[index + 1]), let low = ASCII.hexValue(input[index + 2])
                {
                    output.append(high << 4 | low)
                    index += 3
                } else {
                    output.append(byte)
                    index += 1
                }
            case ASCII.cr, ASCII.lf:
                if let start = trailingWhitespaceStart {
                    output.removeSubrange(start...)
                    trailingWhitespaceStart = nil
                }
                output.append(byte)
                index += 1
            case ASCII.space, ASCII.tab:
                if trailingWhitespaceStart == nil { trailingWhitespaceStart = output.count }
                output.append(byte)
                index += 1
            case ASCII.underscore where underscoreIsSpace:
                trailingWhitespaceStart = nil
                output.append(ASCII.space)
                index += 1
            default:
                trailingWhitespaceStart = nil
                output.append(byte)
                index += 1
            }
        }
        if let start = trailingWhitespaceStart {
            output.removeSubrange(start...)
        }
        return output
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" || first == "\r" || first == "\n" {
            scalars.removeFirst()
        }
        while let last = scalars.last, last == " " || last == "\t" || last == "\r" || last == "\n" {
            scalars.removeLast()
        }
        return String(scalars)
    }
}
