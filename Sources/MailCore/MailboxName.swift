/// A mailbox name as Loft stores it: UTF-8, `/` between hierarchy levels. The IMAP gateway
/// converts to and from modified UTF-7 (RFC 3501 §5.1.3); nothing below it sees that form.
public struct MailboxName: Hashable, Sendable, CustomStringConvertible, Codable, Comparable {
    public let value: String

    public static let inbox = MailboxName(validated: "INBOX")
    public static let separator: Character = "/"
    public static let maxBytes = 1000
    public static let maxDepth = 32

    init(validated: String) { self.value = validated }

    /// Validates and normalises a name. `INBOX` is case-insensitive (RFC 3501 §5.1), so any
    /// spelling of it, also as the first level of a hierarchy, becomes `INBOX`. Refused: empty
    /// names and levels, control characters, the IMAP wildcards `*` and `%`, over-long names.
    public init?(_ text: String) {
        guard !text.isEmpty, text.utf8.count <= Self.maxBytes else { return nil }
        var levels = text.split(separator: Self.separator, omittingEmptySubsequences: false)
        guard levels.count <= Self.maxDepth else { return nil }
        for level in levels {
            guard !level.isEmpty else { return nil }
            for scalar in level.unicodeScalars {
                if scalar.value < 0x20 || scalar.value == 0x7F || scalar == "*" || scalar == "%" {
                    return nil
                }
            }
        }
        if levels[0].uppercased() == "INBOX" { levels[0] = "INBOX" }
        self.value = levels.joined(separator: String(Self.separator))
    }

    public var isInbox: Bool { value == "INBOX" }

    /// The levels above this one, nearest last: `a/b/c` has parents `a` and `a/b`.
    public var parents: [MailboxName] {
        let levels = value.split(separator: Self.separator)
        guard levels.count > 1 else { return [] }
        return (1..<levels.count).map {
            MailboxName(validated: levels[0..<$0].joined(separator: String(Self.separator)))
        }
    }

    /// Whether `self` is `other` or lies below it in the hierarchy.
    public func isWithin(_ other: MailboxName) -> Bool {
        value == other.value || value.hasPrefix(other.value + String(Self.separator))
    }

    public var description: String { value }
    public static func < (a: MailboxName, b: MailboxName) -> Bool { a.value < b.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = MailboxName(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a valid mailbox name: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(value)
    }
}
