/// An RFC 5321 mailbox (`local-part@domain`) as it travels through the envelope.
///
/// The local part keeps its case (RFC 5321 §2.4 says it may be case-sensitive); `canonical`
/// lower-cases both halves, which is how Loft matches accounts, aliases and groups.
public struct EmailAddress: Hashable, Sendable, CustomStringConvertible, Codable {
    public let localPart: String
    public let domain: DomainName

    /// RFC 5321 §4.5.3.1.1 and §4.5.3.1.3: 64 octets of local part, 254 of path.
    public static let maxLocalPartBytes = 64
    public static let maxAddressBytes = 254

    public init(localPart: String, domain: DomainName) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Parses `local@domain`, tolerating surrounding angle brackets and whitespace.
    /// A quoted local part (`"a b"@x`) is accepted as written; the address must have exactly one
    /// unquoted `@`, a non-empty local part within 64 bytes and a valid domain.
    public init?(_ text: String) {
        var s = Substring(text).trimmingSpaces()
        if s.hasPrefix("<") && s.hasSuffix(">") { s = s.dropFirst().dropLast() }
        guard !s.isEmpty, s.utf8.count <= Self.maxAddressBytes,
            let at = s.lastIndex(of: "@")
        else { return nil }
        let local = s[..<at]
        let domainText = s[s.index(after: at)...]
        guard !local.isEmpty, local.utf8.count <= Self.maxLocalPartBytes,
            Self.isValidLocalPart(local),
            let domain = DomainName(String(domainText))
        else { return nil }
        self.localPart = String(local)
        self.domain = domain
    }

    /// RFC 5321 §4.1.2 `Local-part = Dot-string / Quoted-string`, widened to UTF-8 by RFC 6531.
    static func isValidLocalPart(_ s: Substring) -> Bool {
        if s.hasPrefix("\"") {
            return s.count >= 2 && s.hasSuffix("\"")
                && !s.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 })
        }
        if s.hasPrefix(".") || s.hasSuffix(".") || s.contains("..") { return false }
        for b in s.utf8 {
            if b >= 0x80 { continue }  // RFC 6531 UTF8-non-ascii
            if Self.atext.contains(b) || b == UInt8(ascii: ".") { continue }
            return false
        }
        return true
    }

    /// RFC 5322 §3.2.3 `atext`.
    static let atext: Set<UInt8> = {
        var set = Set<UInt8>()
        for b in UInt8(ascii: "a")...UInt8(ascii: "z") { set.insert(b) }
        for b in UInt8(ascii: "A")...UInt8(ascii: "Z") { set.insert(b) }
        for b in UInt8(ascii: "0")...UInt8(ascii: "9") { set.insert(b) }
        for c in "!#$%&'*+-/=?^_`{|}~".utf8 { set.insert(c) }
        return set
    }()

    /// The form used for lookups: lower-cased local part and domain.
    public var canonical: String { "\(localPart.lowercased())@\(domain.name)" }

    public var description: String { "\(localPart)@\(domain.name)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = EmailAddress(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not an email address: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

extension Substring {
    func trimmingSpaces() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
