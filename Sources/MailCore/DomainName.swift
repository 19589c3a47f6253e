/// A DNS domain as Loft stores it: lower-cased, without a trailing dot. Address literals
/// (`[192.0.2.1]`) are kept verbatim; they never name a local domain.
public struct DomainName: Hashable, Sendable, CustomStringConvertible, Codable, Comparable {
    public let name: String

    /// RFC 1035 §2.3.4: 255 octets of name, 63 of label.
    public static let maxBytes = 253
    public static let maxLabelBytes = 63

    public init?(_ text: String) {
        var s = text.lowercased()
        if s.hasSuffix(".") { s.removeLast() }
        guard !s.isEmpty, s.utf8.count <= Self.maxBytes else { return nil }
        if s.hasPrefix("[") {
            guard s.hasSuffix("]"), s.count > 2 else { return nil }
            self.name = s
            return
        }
        for label in s.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= Self.maxLabelBytes,
                label.first != "-", label.last != "-"
            else { return nil }
            for b in label.utf8 {
                let ok =
                    (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
                    || b >= 0x80  // internationalised names (RFC 6531 U-labels)
                guard ok else { return nil }
            }
        }
        self.name = s
    }

    public var description: String { name }
    public static func < (a: DomainName, b: DomainName) -> Bool { a.name < b.name }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = DomainName(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a domain name: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}
