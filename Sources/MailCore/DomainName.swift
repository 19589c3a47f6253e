/// A DNS domain as Loft stores it: lower-cased, without a trailing dot, every internationalized
/// label as its A-label (`bücher` → `xn--bcher-kva`, RFC 5890 §2.3.2.1), so that the two forms
/// of one domain — U-labels from SMTPUTF8 clients and admins, A-labels from every other MTA —
/// are one domain. Input is expected in NFC, as RFC 5198 asks of text on the wire. Address
/// literals (`[192.0.2.1]`) are kept verbatim; they never name a local domain.
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
        var labels: [String] = []
        for unicode in s.split(separator: ".", omittingEmptySubsequences: false) {
            guard !unicode.isEmpty, unicode.first != "-", unicode.last != "-" else { return nil }
            var label = String(unicode)
            if label.utf8.contains(where: { $0 >= 0x80 }) {
                guard let encoded = Punycode.encode(label) else { return nil }
                label = "xn--" + encoded
            }
            guard label.utf8.count <= Self.maxLabelBytes else { return nil }
            for b in label.utf8 {
                let ok = (b >= 0x61 && b <= 0x7A) || (b >= 0x30 && b <= 0x39) || b == 0x2D || b == 0x5F
                guard ok else { return nil }
            }
            labels.append(label)
        }
        let name = labels.joined(separator: ".")
        guard name.utf8.count <= Self.maxBytes else { return nil }
        self.name = name
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
