import SwiftASN1

// The few shapes every LDAP element takes, read from swift-asn1's nodes and written with its
// serializer, under RFC 4511 §5.1's restrictions: definite lengths (checked in
// `BERStructure`), OCTET STRINGs primitive only, TRUE written as 0xFF, defaults left out.

extension ASN1Identifier {
    static func application(_ number: UInt) -> ASN1Identifier { ASN1Identifier(tagWithNumber: number, tagClass: .application) }
    static func context(_ number: UInt) -> ASN1Identifier { ASN1Identifier(tagWithNumber: number, tagClass: .contextSpecific) }
}

/// The elements of one constructed node, read in order. Whatever follows the fields a decoder
/// reads is ignored: "clients and servers MUST (unless otherwise specified) ignore trailing
/// SEQUENCE components whose tags they do not recognize" (RFC 4511 §4).
struct BERElements {
    private var iterator: ASN1NodeCollection.Iterator
    private var pending: ASN1Node?
    private let what: String

    init(_ node: ASN1Node, _ identifier: ASN1Identifier, _ what: String) throws(LDAPCodecError) {
        guard node.identifier == identifier, case .constructed(let nodes) = node.content else {
            throw LDAPCodecError(.malformed, "\(what) expected, found \(node.identifier)")
        }
        self.what = what
        iterator = nodes.makeIterator()
        pending = iterator.next()
    }

    var isAtEnd: Bool { pending == nil }

    /// The next element, which must be there.
    mutating func next(_ field: String) throws(LDAPCodecError) -> ASN1Node {
        guard let node = pending else { throw LDAPCodecError(.malformed, "\(what) without \(field)") }
        pending = iterator.next()
        return node
    }

    /// The next element when it has `identifier`: an OPTIONAL or DEFAULT field.
    mutating func next(ifTagged identifier: ASN1Identifier) -> ASN1Node? {
        guard let node = pending, node.identifier == identifier else { return nil }
        pending = iterator.next()
        return node
    }

    /// Every element left, for a SEQUENCE OF or SET OF.
    mutating func rest() -> [ASN1Node] {
        var nodes: [ASN1Node] = []
        while let node = pending {
            nodes.append(node)
            pending = iterator.next()
        }
        return nodes
    }
}

extension ASN1Node {
    /// A primitive OCTET STRING (or one implicitly tagged `identifier`).
    func octets(_ identifier: ASN1Identifier = .octetString, _ field: String) throws(LDAPCodecError) -> [UInt8] {
        guard self.identifier == identifier else {
            throw LDAPCodecError(.malformed, "\(field): \(identifier) expected, found \(self.identifier)")
        }
        guard case .primitive(let bytes) = content else {
            throw LDAPCodecError(.malformed, "\(field): OCTET STRING values are encoded in the primitive form only (RFC 4511 §5.1)")
        }
        return Array(bytes)
    }

    /// An AttributeValue or AssertionValue, within `LDAPLimits.valueLength`.
    func value(_ identifier: ASN1Identifier = .octetString, _ field: String, limits: LDAPLimits) throws(LDAPCodecError) -> [UInt8] {
        let bytes = try octets(identifier, field)
        guard bytes.count <= limits.valueLength else { throw LDAPCodecError(.valueTooLong, "\(field): \(bytes.count) octets") }
        return bytes
    }

    /// LDAPString ::= OCTET STRING -- UTF-8 encoded (RFC 4511 §4.1.2)
    func string(_ identifier: ASN1Identifier = .octetString, _ field: String) throws(LDAPCodecError) -> String {
        guard let string = utf8(try octets(identifier, field)) else { throw LDAPCodecError(.invalidString, field) }
        return string
    }

    /// LDAPDN ::= LDAPString (RFC 4511 §4.1.3). Only UTF-8 is checked: a DN's grammar (RFC
    /// 4514) is the directory's concern, which answers a DN it cannot parse itself.
    func dn(_ identifier: ASN1Identifier = .octetString, _ field: String) throws(LDAPCodecError) -> String {
        guard let string = utf8(try octets(identifier, field)) else { throw LDAPCodecError(.invalidDN, field) }
        return string
    }

    /// LDAPOID ::= OCTET STRING -- Constrained to <numericoid> (RFC 4511 §4.1.2)
    func oid(_ identifier: ASN1Identifier = .octetString, _ field: String) throws(LDAPCodecError) -> String {
        let string = try string(identifier, field)
        guard LDAPOID.isNumericOID(string) else { throw LDAPCodecError(.invalidOID, "\(field): \(string.prefix(64))") }
        return string
    }

    /// An INTEGER or ENUMERATED that fits an `Int`.
    func integer(_ identifier: ASN1Identifier = .integer, _ field: String) throws(LDAPCodecError) -> Int {
        do {
            return try Int(berEncoded: self, withIdentifier: identifier)
        } catch {
            throw LDAPCodecError(.malformed, "\(field): \(error)")
        }
    }

    /// An INTEGER (0 .. maxInt) (RFC 4511 §4.1.1, §4.5.1).
    func nonNegative(_ field: String) throws(LDAPCodecError) -> Int32 {
        let value = try integer(.integer, field)
        guard let bounded = Int32(exactly: value), bounded >= 0 else { throw LDAPCodecError(.invalidValue, "\(field) \(value)") }
        return bounded
    }

    /// A BOOLEAN; any non-zero octet is TRUE, as X.690 §8.2.2 has it for BER (RFC 4511 §5.1
    /// asks senders for 0xFF).
    func boolean(_ identifier: ASN1Identifier = .boolean, _ field: String) throws(LDAPCodecError) -> Bool {
        do {
            return try Bool(berEncoded: self, withIdentifier: identifier)
        } catch {
            throw LDAPCodecError(.malformed, "\(field): \(error)")
        }
    }
}

/// The octets as a String when they are UTF-8.
func utf8(_ bytes: [UInt8]) -> String? {
    let string = String(decoding: bytes, as: UTF8.self)
    return string.utf8.elementsEqual(bytes) ? string : nil
}

extension DER.Serializer {
    mutating func octets(_ bytes: some Sequence<UInt8>, _ identifier: ASN1Identifier = .octetString) {
        appendPrimitiveNode(identifier: identifier) { $0.append(contentsOf: bytes) }
    }

    mutating func string(_ string: String, _ identifier: ASN1Identifier = .octetString) {
        octets(string.utf8, identifier)
    }

    /// The fewest two's-complement octets (X.690 §8.3.2).
    mutating func integer(_ value: Int, _ identifier: ASN1Identifier = .integer) {
        var octets: [UInt8] = []
        var rest = value
        repeat {
            octets.append(UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        } while !((rest == 0 && octets.last! & 0x80 == 0) || (rest == -1 && octets.last! & 0x80 != 0))
        self.octets(octets.reversed(), identifier)
    }

    mutating func boolean(_ value: Bool, _ identifier: ASN1Identifier = .boolean) {
        octets([value ? 0xFF : 0x00], identifier)
    }

    mutating func constructed(_ identifier: ASN1Identifier, _ body: (inout DER.Serializer) -> Void) {
        appendConstructedNode(identifier: identifier, body)
    }
}

/// RFC 4512 §1.4:
///
///     numericoid = number 1*( DOT number )
///     number  = DIGIT / ( LDIGIT 1*DIGIT )
///     descr   = keystring
///     keystring = leadkeychar *keychar
///     leadkeychar = ALPHA
///     keychar = ALPHA / DIGIT / HYPHEN
enum LDAPOID {
    static func isNumericOID(_ string: some StringProtocol) -> Bool {
        let parts = string.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count >= 2 else { return false }
        return parts.allSatisfy { part in
            guard let first = part.first, part.allSatisfy(isDigit) else { return false }
            return first != UInt8(ascii: "0") || part.count == 1
        }
    }

    static func isDescriptor(_ string: some StringProtocol) -> Bool {
        guard let first = string.utf8.first, isAlpha(first) else { return false }
        return string.utf8.allSatisfy { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
    }

    /// oid = descr / numericoid
    static func isOID(_ string: some StringProtocol) -> Bool { isDescriptor(string) || isNumericOID(string) }

    /// RFC 4512 §2.5:
    ///
    ///     attributedescription = attributetype options
    ///     attributetype = oid
    ///     options = *( SEMI option )
    ///     option = 1*keychar
    static func isAttributeDescription(_ string: some StringProtocol) -> Bool {
        let parts = string.split(separator: ";", omittingEmptySubsequences: false)
        guard let type = parts.first, isOID(type) else { return false }
        return parts.dropFirst().allSatisfy { option in
            !option.isEmpty && option.utf8.allSatisfy { isAlpha($0) || isDigit($0) || $0 == UInt8(ascii: "-") }
        }
    }

    static func isDigit(_ octet: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(octet) }
    static func isAlpha(_ octet: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(octet) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(octet)
    }
}
