public import Foundation
public import MailCore

/// Making `SortKeys` from a header (RFC 5256 §2.1, §2.2, §3).
extension SortKeys {
    /// The most references kept: the nearest ancestors are the ones that matter.
    public static let maxReferences = 64

    public init(header: [UInt8]) {
        self.init(headers: HeaderFields(parsing: header))
    }

    public init(headers: HeaderFields) {
        func first(_ name: String) -> String {
            guard let value = headers[name], let address = AddressParser.parse(value).first(where: { $0.mailbox != nil }) else { return "" }
            return Self.fold(address.mailbox ?? "")
        }
        let subject = Self.baseSubject(EncodedWord.decode(headers["Subject"] ?? ""))
        var references = Self.messageIDs(headers.values(named: "References").joined(separator: " "))
        if references.isEmpty, let inReplyTo = headers["In-Reply-To"], let parent = Self.messageIDs(inReplyTo).first {
            references = [parent]
        }
        self.init(
            sentDate: headers["Date"].flatMap(MessageDate.parse).map { Int64($0.timeIntervalSince1970) },
            baseSubject: Self.fold(subject.base), isReplyOrForward: subject.isReplyOrForward, from: first("From"), to: first("To"),
            cc: first("Cc"), messageID: headers["Message-ID"].flatMap { Self.messageIDs($0).first },
            references: Array(references.suffix(Self.maxReferences)))
    }

    /// i;unicode-casemap (RFC 5051) as far as Foundation's case folding goes.
    static func fold(_ text: String) -> String {
        text.folding(options: [.caseInsensitive], locale: nil)
    }

    // MARK: Base subject (RFC 5256 §2.1, §5)

    /// The base subject of `subject` (already decoded from RFC 2047) and whether a reply or
    /// forward marker was removed on the way (a subj-refwd, a "(fwd)" trailer, or [fwd: …]).
    ///
    ///     subj-trailer    = "(fwd)" / WSP
    ///     subj-fwd-hdr    = "[fwd:"
    ///     subj-fwd-trl    = "]"
    ///     subj-leader     = (*subj-blob subj-refwd) / WSP
    ///     subj-blob       = "[" *BLOBCHAR "]" *WSP
    ///     subj-refwd      = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
    ///     BLOBCHAR        = %x01-5a / %x5c / %x5e-7f ; any CHAR8 except '[' and ']'
    public static func baseSubject(_ subject: String) -> (base: String, isReplyOrForward: Bool) {
        // (1) Tabs and continuations to spaces, runs of spaces to one.
        var text = ""
        var lastWasSpace = false
        for character in subject {
            let space = character == " " || character == "\t" || character == "\r\n" || character == "\r" || character == "\n"
            if space {
                if !lastWasSpace { text.append(" ") }
            } else {
                text.append(character)
            }
            lastWasSpace = space
        }
        var chars = Array(text)
        var marked = false
        while true {
            // (2) Trailers: "(fwd)" and white space, repeatedly.
            while true {
                if let last = chars.last, last == " " {
                    chars.removeLast()
                } else if chars.count >= 5, String(chars.suffix(5)).lowercased() == "(fwd)" {
                    chars.removeLast(5)
                    marked = true
                } else {
                    break
                }
            }
            // (3)-(5) Leaders and blobs, repeatedly.
            var changed = true
            while changed {
                changed = false
                if let length = leader(chars) {
                    chars.removeFirst(length.count)
                    if length.refwd { marked = true }
                    changed = true
                }
                if let blob = blob(chars, at: 0), blob < chars.count, hasBase(Array(chars[blob...])) {
                    chars.removeFirst(blob)
                    changed = true
                }
            }
            // (6) [fwd: … ]
            let lowered = String(chars.prefix(5)).lowercased()
            if lowered == "[fwd:", chars.last == "]" {
                chars = Array(chars[5..<(chars.count - 1)])
                marked = true
                continue
            }
            break
        }
        return (String(chars), marked)
    }

    /// A subj-leader at the start: white space, or blobs followed by a subj-refwd.
    static func leader(_ chars: [Character]) -> (count: Int, refwd: Bool)? {
        if chars.first == " " { return (1, false) }
        var index = 0
        while true {
            if let refwd = refwd(chars, at: index) { return (refwd, true) }
            guard let next = blob(chars, at: index) else { return nil }
            index = next
        }
    }

    /// The end of a subj-refwd starting at `start`.
    static func refwd(_ chars: [Character], at start: Int) -> Int? {
        var index = start
        func lower(_ i: Int) -> Character? { i < chars.count ? Character(chars[i].lowercased()) : nil }
        if lower(index) == "r", lower(index + 1) == "e" {
            index += 2
        } else if lower(index) == "f", lower(index + 1) == "w" {
            index += lower(index + 2) == "d" ? 3 : 2
        } else {
            return nil
        }
        while index < chars.count, chars[index] == " " { index += 1 }
        if let end = blob(chars, at: index) { index = end }
        guard index < chars.count, chars[index] == ":" else { return nil }
        return index + 1
    }

    /// The end of a subj-blob (with its trailing white space) starting at `start`.
    static func blob(_ chars: [Character], at start: Int) -> Int? {
        guard start < chars.count, chars[start] == "[" else { return nil }
        var index = start + 1
        while index < chars.count, chars[index] != "]" {
            if chars[index] == "[" { return nil }
            index += 1
        }
        guard index < chars.count else { return nil }
        index += 1
        while index < chars.count, chars[index] == " " { index += 1 }
        return index
    }

    /// §2.1 (4): what is left after a blob must be a non-empty subj-base.
    static func hasBase(_ rest: [Character]) -> Bool {
        rest.contains { $0 != " " }
    }

    // MARK: Message IDs (RFC 5256 §3, RFC 5322 §3.6.4)

    /// The `<…>` message IDs in `value`, each normalised: quoting removed from the local part,
    /// the angle brackets kept. Text outside brackets (comments, stray words) is skipped.
    public static func messageIDs(_ value: String) -> [String] {
        var result: [String] = []
        var index = value.startIndex
        while let open = value[index...].firstIndex(of: "<") {
            guard let close = value[open...].firstIndex(of: ">") else { break }
            let inner = value[value.index(after: open)..<close]
            index = value.index(after: close)
            guard let at = inner.lastIndex(of: "@") else { continue }
            var local = String(inner[..<at])
            let domain = inner[inner.index(after: at)...]
            guard !local.isEmpty, !domain.isEmpty, !inner.contains(" ") || local.hasPrefix("\"") else { continue }
            if local.hasPrefix("\""), local.hasSuffix("\""), local.count >= 2 {
                local = String(local.dropFirst().dropLast()).replacingOccurrences(of: "\\", with: "")
            }
            result.append("<\(local)@\(domain)>")
        }
        return result
    }
}
