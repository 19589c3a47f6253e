/// A message's flags: the IMAP system flags as bits (so "unseen" is one integer test in SQL)
/// plus keywords as strings. RFC 3501 §2.3.2. `\Recent` is not stored: it is a per-session
/// notion that IMAP4rev2 (RFC 9051) dropped.
public struct MessageFlags: Hashable, Sendable, Codable {
    public struct System: OptionSet, Hashable, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let seen = System(rawValue: 1 << 0)
        public static let answered = System(rawValue: 1 << 1)
        public static let flagged = System(rawValue: 1 << 2)
        public static let deleted = System(rawValue: 1 << 3)
        public static let draft = System(rawValue: 1 << 4)

        static let names: [(System, String)] = [
            (.seen, "\\Seen"), (.answered, "\\Answered"), (.flagged, "\\Flagged"),
            (.deleted, "\\Deleted"), (.draft, "\\Draft"),
        ]
    }

    public var system: System
    /// Keywords, kept sorted and unique. Case is preserved as first written.
    public var keywords: [String]

    public static let maxKeywords = 100
    public static let maxKeywordBytes = 100

    public init(system: System = [], keywords: [String] = []) {
        self.system = system
        self.keywords = keywords.count < 2 ? keywords : Array(Set(keywords)).sorted()
    }

    /// Parses `\Seen`, `\flagged` (system flags are case-insensitive) and keywords (RFC 3501
    /// `atom`). Returns nil for an unknown `\`-flag, a keyword with forbidden characters, or too
    /// many keywords.
    public init?(names: [String]) {
        var system: System = []
        var keywords = Set<String>()
        for name in names {
            if name.hasPrefix("\\") {
                // As written by this module first: lowercasing both costs two strings a flag.
                guard
                    let (flag, _) = System.names.first(where: { $0.1 == name })
                        ?? System.names.first(where: { $0.1.lowercased() == name.lowercased() })
                else { return nil }
                system.insert(flag)
            } else {
                guard Self.isValidKeyword(name) else { return nil }
                keywords.insert(name)
            }
        }
        guard keywords.count <= Self.maxKeywords else { return nil }
        self.init(system: system, keywords: Array(keywords))
    }

    /// RFC 3501 §9 `atom`: no atom-specials (`(){ %*"\]` and CTLs).
    public static func isValidKeyword(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= maxKeywordBytes else { return false }
        for b in s.utf8 {
            if b <= 0x20 || b >= 0x7F { return false }
            if "(){%*\"\\]".utf8.contains(b) { return false }
        }
        return true
    }

    public var names: [String] {
        guard !system.isEmpty else { return keywords }
        var names: [String] = []
        for (flag, name) in System.names where system.contains(flag) { names.append(name) }
        names.append(contentsOf: keywords)
        return names
    }

    public func union(_ other: MessageFlags) -> MessageFlags {
        MessageFlags(system: system.union(other.system), keywords: keywords + other.keywords)
    }

    public func subtracting(_ other: MessageFlags) -> MessageFlags {
        let drop = Set(other.keywords)
        return MessageFlags(system: system.subtracting(other.system), keywords: keywords.filter { !drop.contains($0) })
    }

    public init(from decoder: any Decoder) throws {
        let list = try decoder.singleValueContainer().decode([String].self)
        guard let value = MessageFlags(names: list) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "invalid flags: \(list)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(names)
    }
}
