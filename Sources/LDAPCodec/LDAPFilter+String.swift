// The string representation of a search filter (RFC 4515 §3), parsed and printed:
//
//     filter         = LPAREN filtercomp RPAREN
//     filtercomp     = and / or / not / item
//     and            = AMPERSAND filterlist
//     or             = VERTBAR filterlist
//     not            = EXCLAMATION filter
//     filterlist     = 1*filter
//     item           = simple / present / substring / extensible
//     simple         = attr filtertype assertionvalue
//     filtertype     = equal / approx / greaterorequal / lessorequal
//     extensible     = ( attr [dnattrs] [matchingrule] COLON EQUALS assertionvalue )
//                      / ( [dnattrs] matchingrule COLON EQUALS assertionvalue )
//     present        = attr EQUALS ASTERISK
//     substring      = attr EQUALS [initial] any [final]
//     any            = ASTERISK *(assertionvalue ASTERISK)
//     dnattrs        = COLON "dn"
//     matchingrule   = COLON oid
//     valueencoding  = 0*(normal / escaped)
//     escaped        = ESC HEX HEX
//     UTF1SUBSET     = %x01-27 / %x2B-5B / %x5D-7F

extension LDAPFilter: CustomStringConvertible {
    /// Parses the string form. Beyond RFC 4515, as OpenLDAP's tools do: an item without its
    /// parentheses (`cn=ali*`), spaces between the filters of a list, and the empty `(&)` and
    /// `(|)` of RFC 4526. The bounds on depth and components are those of BER filters.
    public init(parsing text: String, limits: LDAPLimits = .default) throws(LDAPCodecError) {
        var parser = FilterStringParser(Array(text.utf8), limits: limits)
        self = try parser.parseWhole()
    }

    /// The RFC 4515 string form: `*`, `(`, `)`, `\`, NUL, other control characters and any
    /// octet that is not part of valid UTF-8 are escaped as `\xx`.
    public var description: String {
        var out: [UInt8] = []
        write(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8]) {
        out.append(UInt8(ascii: "("))
        switch self {
        case .and(let filters), .or(let filters):
            out.append(UInt8(ascii: isAndFilter ? "&" : "|"))
            for filter in filters { filter.write(into: &out) }
        case .not(let filter):
            out.append(UInt8(ascii: "!"))
            filter.write(into: &out)
        case .equalityMatch(let assertion): Self.write(assertion, "=", into: &out)
        case .greaterOrEqual(let assertion): Self.write(assertion, ">=", into: &out)
        case .lessOrEqual(let assertion): Self.write(assertion, "<=", into: &out)
        case .approxMatch(let assertion): Self.write(assertion, "~=", into: &out)
        case .present(let attribute):
            out += attribute.utf8
            out += "=*".utf8
        case .substrings(let substrings):
            out += substrings.attribute.utf8
            out.append(UInt8(ascii: "="))
            if let initial = substrings.initial { Self.escape(initial, into: &out) }
            out.append(UInt8(ascii: "*"))
            for piece in substrings.any {
                Self.escape(piece, into: &out)
                out.append(UInt8(ascii: "*"))
            }
            if let final = substrings.final { Self.escape(final, into: &out) }
        case .extensibleMatch(let assertion):
            if let type = assertion.type { out += type.utf8 }
            if assertion.dnAttributes { out += ":dn".utf8 }
            if let rule = assertion.matchingRule { out += (":" + rule).utf8 }
            out += ":=".utf8
            Self.escape(assertion.matchValue, into: &out)
        case .unrecognized:
            // RFC 4515 has no form for it; OpenLDAP prints an Undefined filter so.
            out += "?=undefined".utf8
        }
        out.append(UInt8(ascii: ")"))
    }

    private var isAndFilter: Bool {
        if case .and = self { return true }
        return false
    }

    private static func write(_ assertion: LDAPAttributeValueAssertion, _ operator: String, into out: inout [UInt8]) {
        out += assertion.attribute.utf8
        out += `operator`.utf8
        escape(assertion.value, into: &out)
    }

    /// RFC 4515 §3: "implementations MUST escape all octets greater than 0x7F that are not part
    /// of a valid UTF-8 encoding sequence"; non-printing ASCII "may be escaped".
    static func escape(_ value: [UInt8], into out: inout [UInt8]) {
        let isUTF8 = utf8(value) != nil
        let digits = Array("0123456789abcdef".utf8)
        for octet in value {
            switch octet {
            case 0x00...0x1F, 0x28, 0x29, 0x2A, 0x5C, 0x7F:
                out += [UInt8(ascii: "\\"), digits[Int(octet >> 4)], digits[Int(octet & 0x0F)]]
            case 0x80...0xFF where !isUTF8:
                out += [UInt8(ascii: "\\"), digits[Int(octet >> 4)], digits[Int(octet & 0x0F)]]
            default:
                out.append(octet)
            }
        }
    }
}

/// A recursive-descent parser over the filter's UTF-8 octets.
private struct FilterStringParser {
    private let text: [UInt8]
    private var index = 0
    private let limits: LDAPLimits
    private var components = 0

    init(_ text: [UInt8], limits: LDAPLimits) {
        self.text = text
        self.limits = limits
    }

    mutating func parseWhole() throws(LDAPCodecError) -> LDAPFilter {
        skipSpaces()
        let filter: LDAPFilter
        if peek == UInt8(ascii: "(") {
            filter = try parseFilter(depth: 1)
        } else {
            try count(depth: 1)
            filter = try parseItem(until: nil)
        }
        skipSpaces()
        guard index == text.count else { throw error("text after the filter") }
        return filter
    }

    // MARK: filter, and, or, not

    private mutating func parseFilter(depth: Int) throws(LDAPCodecError) -> LDAPFilter {
        try expect("(")
        try count(depth: depth)
        let filter: LDAPFilter
        switch peek {
        case UInt8(ascii: "&"):
            index += 1
            filter = .and(try parseList(depth: depth))
        case UInt8(ascii: "|"):
            index += 1
            filter = .or(try parseList(depth: depth))
        case UInt8(ascii: "!"):
            index += 1
            skipSpaces()
            filter = .not(try parseFilter(depth: depth + 1))
            skipSpaces()
        default:
            filter = try parseItem(until: UInt8(ascii: ")"))
        }
        try expect(")")
        return filter
    }

    private mutating func parseList(depth: Int) throws(LDAPCodecError) -> [LDAPFilter] {
        var filters: [LDAPFilter] = []
        skipSpaces()
        while peek == UInt8(ascii: "(") {
            filters.append(try parseFilter(depth: depth + 1))
            skipSpaces()
        }
        return filters
    }

    private mutating func count(depth: Int) throws(LDAPCodecError) {
        guard depth <= limits.filterDepth else { throw LDAPCodecError(.filterTooDeep, "over \(limits.filterDepth) levels") }
        components += 1
        guard components <= limits.filterComponents else {
            throw LDAPCodecError(.tooManyFilterComponents, "over \(limits.filterComponents)")
        }
    }

    // MARK: items

    /// An item, ending before `terminator` (or at the end of the text for a bare item).
    private mutating func parseItem(until terminator: UInt8?) throws(LDAPCodecError) -> LDAPFilter {
        let attributeStart = index
        while let octet = peek, !"=~<>:()".utf8.contains(octet) { index += 1 }
        let attribute = String(decoding: text[attributeStart..<index], as: UTF8.self)
        if peek == UInt8(ascii: ":") { return try parseExtensible(attribute: attribute, at: attributeStart, terminator: terminator) }
        guard LDAPOID.isAttributeDescription(attribute) else { throw error("invalid attribute description", at: attributeStart) }
        switch peek {
        case UInt8(ascii: "="):
            index += 1
            return try parseEquals(attribute, terminator: terminator)
        case UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "<"):
            let kind = text[index]
            index += 1
            try expect("=")
            let value = try parseValue(terminator: terminator)
            let assertion = LDAPAttributeValueAssertion(attribute: attribute, value: value)
            switch kind {
            case UInt8(ascii: "~"): return .approxMatch(assertion)
            case UInt8(ascii: ">"): return .greaterOrEqual(assertion)
            default: return .lessOrEqual(assertion)
            }
        default:
            throw error("a filter type (=, ~=, >=, <=, :=) expected")
        }
    }

    /// After `attr=`: equality, presence or substrings, told apart by unescaped `*`s.
    private mutating func parseEquals(_ attribute: String, terminator: UInt8?) throws(LDAPCodecError) -> LDAPFilter {
        var pieces: [[UInt8]] = [[]]
        while let octet = peek, octet != terminator {
            if octet == UInt8(ascii: "*") {
                index += 1
                pieces.append([])
            } else {
                pieces[pieces.count - 1].append(try parseValueOctet())
            }
        }
        for piece in pieces where piece.count > limits.valueLength {
            throw LDAPCodecError(.valueTooLong, "\(piece.count) octets")
        }
        if pieces.count == 1 { return .equalityMatch(LDAPAttributeValueAssertion(attribute: attribute, value: pieces[0])) }
        if pieces.count == 2, pieces[0].isEmpty, pieces[1].isEmpty { return .present(attribute) }
        let first = pieces[0]
        let last = pieces[pieces.count - 1]
        return .substrings(
            LDAPSubstringFilter(
                attribute: attribute, initial: first.isEmpty ? nil : first, any: Array(pieces[1..<(pieces.count - 1)]),
                final: last.isEmpty ? nil : last))
    }

    /// `attr [":dn"] [":" rule] ":=" value` or `[":dn"] ":" rule ":=" value`.
    private mutating func parseExtensible(attribute: String, at start: Int, terminator: UInt8?) throws(LDAPCodecError) -> LDAPFilter {
        guard attribute.isEmpty || LDAPOID.isAttributeDescription(attribute) else {
            throw error("invalid attribute description", at: start)
        }
        var dnAttributes = false
        var rule: String?
        while true {
            try expect(":")
            if peek == UInt8(ascii: "=") {
                index += 1
                break
            }
            let tokenStart = index
            while let octet = peek, !":=()".utf8.contains(octet) { index += 1 }
            let token = String(decoding: text[tokenStart..<index], as: UTF8.self)
            if !dnAttributes, rule == nil, token.lowercased() == "dn" {
                dnAttributes = true
            } else if rule == nil, LDAPOID.isOID(token) {
                rule = token
            } else {
                throw error("invalid matching rule", at: tokenStart)
            }
        }
        guard !attribute.isEmpty || rule != nil else {
            throw error("an extensible match without an attribute needs a matching rule", at: start)
        }
        let value = try parseValue(terminator: terminator)
        return .extensibleMatch(
            LDAPMatchingRuleAssertion(
                matchingRule: rule, type: attribute.isEmpty ? nil : attribute, matchValue: value, dnAttributes: dnAttributes))
    }

    // MARK: values

    /// assertionvalue up to `terminator`, with no unescaped `*`.
    private mutating func parseValue(terminator: UInt8?) throws(LDAPCodecError) -> [UInt8] {
        var value: [UInt8] = []
        while let octet = peek, octet != terminator {
            guard octet != UInt8(ascii: "*") else { throw error("an unescaped * in a value") }
            value.append(try parseValueOctet())
        }
        guard value.count <= limits.valueLength else { throw LDAPCodecError(.valueTooLong, "\(value.count) octets") }
        return value
    }

    /// One octet of `normal / escaped`.
    private mutating func parseValueOctet() throws(LDAPCodecError) -> UInt8 {
        let octet = text[index]
        switch octet {
        case UInt8(ascii: "\\"):
            guard let high = Self.hexValue(text[safe: index + 1]), let low = Self.hexValue(text[safe: index + 2]) else {
                throw error("\\ is not followed by two hexadecimal digits")
            }
            index += 3
            return high << 4 | low
        case 0x00, UInt8(ascii: "("), UInt8(ascii: ")"):
            throw error("\(hex(octet)) must be escaped in a value")
        default:
            index += 1
            return octet
        }
    }

    private static func hexValue(_ octet: UInt8?) -> UInt8? {
        guard let octet else { return nil }
        switch octet {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return octet - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return octet - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return octet - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    // MARK: characters

    private var peek: UInt8? { index < text.count ? text[index] : nil }

    private mutating func skipSpaces() {
        while peek == UInt8(ascii: " ") { index += 1 }
    }

    private mutating func expect(_ character: Unicode.Scalar) throws(LDAPCodecError) {
        guard peek == UInt8(ascii: character) else { throw error("\"\(character)\" expected") }
        index += 1
    }

    private func error(_ message: String, at offset: Int? = nil) -> LDAPCodecError {
        LDAPCodecError(.filterSyntax, "\(message) at offset \(offset ?? index)")
    }
}

extension Array {
    fileprivate subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
