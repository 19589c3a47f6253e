/// One parameter of a Content-Type or Content-Disposition field, after RFC 2231 continuations and
/// charset encoding have been resolved.
public struct MIMEParameter: Sendable, Equatable, Codable {
    /// The attribute, lowercased (RFC 2045 §5.1: attributes are case-insensitive).
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    /// A parameter as written, before RFC 2231 sections are merged.
    private struct Written {
        var name: String
        var value: [UInt8]
    }

    // RFC 2045 §5.1
    // parameter := attribute "=" value
    // value := token / quoted-string
    // tspecials :=  "(" / ")" / "<" / ">" / "@" / "," / ";" / ":" / "\" / <"> / "/" / "[" / "]" / "?" / "="
    /// Parses `*(";" parameter)` from the scanner's position to the end of the field. Unquoted
    /// values run to the next ";" (real mail puts spaces and 8-bit bytes in them); a parameter
    /// without "=" is skipped.
    static func parseList(_ scanner: inout FieldScanner) -> [MIMEParameter] {
        var written: [Written] = []
        while !scanner.isAtEnd {
            scanner.skipCFWS()
            guard let byte = scanner.current else { break }
            if byte == ASCII.semicolon {
                scanner.index += 1
                continue
            }
            let name = scanner.run {
                $0 == ASCII.equals || $0 == ASCII.semicolon || ASCII.isFoldingWhitespace($0) || $0 == ASCII.openParen
            }
            scanner.skipCFWS()
            guard !name.isEmpty, scanner.current == ASCII.equals else {
                if name.isEmpty && scanner.current != ASCII.semicolon { scanner.index += 1 }
                _ = scanner.run { $0 == ASCII.semicolon }
                continue
            }
            scanner.index += 1
            scanner.skipCFWS()
            let value: [UInt8]
            if scanner.current == ASCII.quote {
                value = scanner.quotedString().value
                _ = scanner.run { $0 == ASCII.semicolon }
            } else {
                var raw = scanner.run { $0 == ASCII.semicolon }
                while let last = raw.last, ASCII.isFoldingWhitespace(last) { raw.removeLast() }
                // A token cannot hold "(", so "flowed (x)" is a value and a comment; but a
                // lenient value like "my file (1).txt" keeps its parentheses.
                if raw.last == ASCII.closeParen, let open = raw.lastIndex(of: ASCII.openParen), open > 0,
                    ASCII.isFoldingWhitespace(raw[open - 1])
                {
                    raw.removeSubrange(open...)
                    while let last = raw.last, ASCII.isFoldingWhitespace(last) { raw.removeLast() }
                }
                value = raw
            }
            written.append(Written(name: Charset.latin1(name).lowercased(), value: value))
        }
        return merge(written)
    }

    // RFC 2231 §3, §4
    // extended-initial-name := attribute [initial-section] "*"
    // extended-other-names  := attribute other-sections "*"
    // initial-section := "*0"
    // other-sections  := "*" ("1" / "2" / "3" / "4" / "5" / "6" / "7" / "8" / "9") *DIGIT)
    // extended-initial-value := [charset] "'" [language] "'" extended-other-values
    // extended-other-values  := *(ext-octet / attribute-char)
    // ext-octet := "%" 2(DIGIT / "A" / "B" / "C" / "D" / "E" / "F")
    /// Joins `name*0`, `name*1`, ... in section order, percent-decodes `*`-marked sections and
    /// decodes the result in the charset the initial section names. An extended parameter
    /// replaces a plain one of the same name; order of first appearance is kept.
    private static func merge(_ written: [Written]) -> [MIMEParameter] {
        struct Section {
            var number: Int
            var extended: Bool
            var value: [UInt8]
        }
        var order: [String] = []
        var plain: [String: [UInt8]] = [:]
        var sections: [String: [Section]] = [:]
        for parameter in written {
            let name = parameter.name
            guard let star = name.firstIndex(of: "*") else {
                if plain[name] == nil && sections[name] == nil { order.append(name) }
                if plain[name] == nil { plain[name] = parameter.value }
                continue
            }
            let base = String(name[..<star])
            var rest = name[name.index(after: star)...]
            var extended = false
            if rest.hasSuffix("*") {
                extended = true
                rest = rest.dropLast()
            }
            let number: Int
            if rest.isEmpty {
                number = 0
                extended = true
            } else if let parsed = Int(rest), parsed >= 0 {
                number = parsed
            } else {
                continue
            }
            if plain[base] == nil && sections[base] == nil { order.append(base) }
            sections[base, default: []].append(Section(number: number, extended: extended, value: parameter.value))
        }
        return order.map { name in
            guard var parts = sections[name] else {
                return MIMEParameter(name: name, value: Charset.lenientString(plain[name] ?? []))
            }
            parts.sort { $0.number < $1.number }
            var charset: String?
            var bytes: [UInt8] = []
            for (position, part) in parts.enumerated() {
                guard part.extended else {
                    bytes += part.value
                    continue
                }
                var value = part.value[...]
                if position == 0 && part.number == 0 {
                    let quotes = value.indices.filter { value[$0] == ASCII.apostrophe }.prefix(2)
                    if quotes.count == 2 {
                        let name = Charset.latin1(value[value.startIndex..<quotes[0]])
                        charset = name.isEmpty ? nil : name
                        value = value[(quotes[1] + 1)...]
                    }
                }
                bytes += percentDecoded(value)
            }
            let text = charset.flatMap { Charset.decode(bytes, charset: $0) } ?? Charset.lenientString(bytes)
            return MIMEParameter(name: name, value: text)
        }
    }

    private static func percentDecoded(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        while index < bytes.endIndex {
            if bytes[index] == ASCII.percent, index + 2 < bytes.endIndex,
                let high = ASCII.hexValue(bytes[index + 1]), let low = ASCII.hexValue(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }
}

extension [MIMEParameter] {
    /// The value of the parameter called `name` (case-insensitive).
    public subscript(parameter name: String) -> String? {
        let key = name.lowercased()
        return first { $0.name == key }?.value
    }
}
