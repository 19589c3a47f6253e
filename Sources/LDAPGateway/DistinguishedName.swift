/// A distinguished name parsed from its RFC 4514 string form and normalised for comparison:
/// attribute types by their canonical schema name (`commonName` and `2.5.4.3` are `cn`), values
/// by their type's equality rule (case folded, insignificant spaces removed), the AVAs of a
/// multi-valued RDN sorted. Two DNs are equal when their `normalized` strings are.
public struct DistinguishedName: Sendable, Hashable {
    /// One attribute type and value of an RDN, both normalised.
    public struct AttributeTypeAndValue: Sendable, Hashable, Comparable {
        public var type: String
        public var value: [UInt8]
        public static func < (lhs: Self, rhs: Self) -> Bool {
            lhs.type != rhs.type ? lhs.type < rhs.type : lhs.value.lexicographicallyPrecedes(rhs.value)
        }
    }

    /// The RDNs, the leftmost (the entry's own) first.
    public var rdns: [[AttributeTypeAndValue]]

    /// The DN that `rdns` beyond the first make: the entry's superior.
    public var parent: DistinguishedName? { rdns.isEmpty ? nil : DistinguishedName(rdns: Array(rdns.dropFirst())) }

    init(rdns: [[AttributeTypeAndValue]]) { self.rdns = rdns }

    /// A key that is equal exactly for equal DNs.
    public var normalized: String {
        rdns.map { rdn in
            rdn.map { $0.type + "=" + DistinguishedName.escape(String(decoding: $0.value, as: UTF8.self)) }.joined(separator: "+")
        }.joined(separator: ",")
    }

    /// Whether `self` is `other` or lies below it.
    public func isWithin(_ other: DistinguishedName) -> Bool {
        rdns.count >= other.rdns.count && Array(rdns.suffix(other.rdns.count)) == other.rdns
    }

    // RFC 4514 §3:
    //     distinguishedName = [ relativeDistinguishedName *( COMMA relativeDistinguishedName ) ]
    //     relativeDistinguishedName = attributeTypeAndValue *( PLUS attributeTypeAndValue )
    //     attributeTypeAndValue = attributeType EQUALS attributeValue
    //     attributeType = descr / numericoid
    //     attributeValue = string / hexstring
    // Like slapd it also takes `;` between RDNs (RFC 2253 §4) and spaces around `,`, `+`, `=`.
    /// Parses `string`; nil when it is not a DN (answered with invalidDNSyntax).
    public init?(parsing string: String) {
        let bytes = Array(string.utf8)
        var position = 0
        var rdns: [[AttributeTypeAndValue]] = []
        var rdn: [AttributeTypeAndValue] = []
        func skipSpaces() { while position < bytes.count, bytes[position] == 0x20 { position += 1 } }
        skipSpaces()
        if position == bytes.count {
            self.rdns = []
            return
        }
        while true {
            skipSpaces()
            let typeStart = position
            while position < bytes.count, Self.isTypeCharacter(bytes[position]) { position += 1 }
            guard position > typeStart else { return nil }
            let typeText = String(decoding: bytes[typeStart..<position], as: UTF8.self)
            guard Self.isDescriptor(typeText) || Self.isNumericOID(typeText) else { return nil }
            skipSpaces()
            guard position < bytes.count, bytes[position] == UInt8(ascii: "=") else { return nil }
            position += 1
            skipSpaces()
            var value: [UInt8] = []
            if position < bytes.count, bytes[position] == UInt8(ascii: "#") {
                // hexstring = SHARP 1*hexpair: the BER encoding of the value.
                position += 1
                var encoding: [UInt8] = []
                while position + 1 < bytes.count, let high = Self.hexValue(bytes[position]), let low = Self.hexValue(bytes[position + 1]) {
                    encoding.append(high << 4 | low)
                    position += 2
                }
                guard let decoded = Self.berContents(encoding) else { return nil }
                value = decoded
            } else {
                while position < bytes.count {
                    let byte = bytes[position]
                    if byte == UInt8(ascii: ",") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ";") { break }
                    if byte == UInt8(ascii: "\\") {
                        // escaped = DQUOTE / special / SPACE / SHARP / EQUALS / hexpair
                        guard position + 1 < bytes.count else { return nil }
                        if position + 2 < bytes.count, let high = Self.hexValue(bytes[position + 1]),
                            let low = Self.hexValue(bytes[position + 2])
                        {
                            value.append(high << 4 | low)
                            position += 3
                        } else {
                            value.append(bytes[position + 1])
                            position += 2
                        }
                        continue
                    }
                    value.append(byte)
                    position += 1
                }
            }
            skipSpaces()
            rdn.append(Self.normalize(type: typeText, value: value))
            guard position < bytes.count else {
                rdns.append(rdn.sorted())
                break
            }
            let separator = bytes[position]
            position += 1
            if separator != UInt8(ascii: "+") {
                rdns.append(rdn.sorted())
                rdn = []
            }
        }
        self.rdns = rdns
    }

    static func normalize(type: String, value: [UInt8]) -> AttributeTypeAndValue {
        guard let position = LDAPSchema.attributeType(named: type) else {
            return AttributeTypeAndValue(type: type.lowercased(), value: LDAPValue.caseIgnore(value))
        }
        let attributeType = LDAPSchema.attributeTypes[position]
        let normalized: [UInt8]
        switch attributeType.matching {
        case .distinguishedName:
            normalized = DistinguishedName(parsing: String(decoding: value, as: UTF8.self)).map { Array($0.normalized.utf8) } ?? value
        case .exact: normalized = value
        case .caseIgnore, .objectIdentifier: normalized = LDAPValue.caseIgnore(value)
        }
        return AttributeTypeAndValue(type: attributeType.names[0].lowercased(), value: normalized)
    }

    private static func isTypeCharacter(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
            || byte == 0x2E
    }

    // descr = keystring = leadkeychar *keychar (RFC 4512 §1.4)
    private static func isDescriptor(_ text: String) -> Bool {
        guard let first = text.utf8.first, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A) else { return false }
        return !text.utf8.contains(0x2E)
    }

    // numericoid = number 1*( DOT number )
    private static func isNumericOID(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case 0x30...0x39: byte - 0x30
        case 0x41...0x46: byte - 0x41 + 10
        case 0x61...0x66: byte - 0x61 + 10
        default: nil
        }
    }

    /// The contents of one primitive BER TLV (the value of a `#` hexstring), nil if malformed.
    private static func berContents(_ encoding: [UInt8]) -> [UInt8]? {
        guard encoding.count >= 2 else { return nil }
        var length = Int(encoding[1])
        var start = 2
        if length & 0x80 != 0 {
            let count = length & 0x7F
            guard count >= 1, count <= 4, encoding.count >= 2 + count else { return nil }
            length = encoding[2..<(2 + count)].reduce(0) { $0 << 8 | Int($1) }
            start = 2 + count
        }
        guard encoding.count == start + length else { return nil }
        return Array(encoding[start...])
    }

    /// A value in the string form of RFC 4514 §2.4: `"+,;<>\` and NUL escaped, and a leading
    /// `#` or space and a trailing space.
    public static func escape(_ value: String) -> String {
        let bytes = Array(value.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for (index, byte) in bytes.enumerated() {
            let special = "\"+,;<>\\".utf8.contains(byte)
            let edge = (index == 0 && (byte == 0x20 || byte == 0x23)) || (index == bytes.count - 1 && byte == 0x20)
            if byte == 0 {
                out.append(contentsOf: Array("\\00".utf8))
            } else if special || edge {
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            } else {
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
