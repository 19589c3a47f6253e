public import MailCore

/// Maildir as Dovecot and Courier write it (issue 14's `loft import` and `loft export`), the
/// naming rules only; `MailFolderFiles` does the file system.
///
/// A message is one file in `cur/` (seen by a client) or `new/` (not yet): `<unique>:2,<info>`,
/// the info letters in ASCII order: `D` draft, `F` flagged, `P` passed (forwarded), `R`
/// replied, `S` seen, `T` trashed, and `a`…`z` the keywords Dovecot numbers in the folder's
/// `dovecot-keywords` file (`0 $Junk`, one per line). Folders are Maildir++ (`.Lists.Swift/`
/// for `Lists/Swift`, names in modified UTF-7, `.` the separator) or Dovecot's `LAYOUT=fs`
/// (`Lists/Swift/` with `cur/` inside).
public enum Maildir {
    /// IMAP flags and keywords from a file name; `keywords` maps `a`… to their names.
    public static func flags(fileName: String, keywords: [Character: String]) -> MessageFlags {
        let bytes = Array(fileName.utf8)
        guard let colon = bytes.indices.reversed().first(where: { bytes[$0...].starts(with: Array(":2,".utf8)) }) else {
            return MessageFlags()
        }
        var names: [String] = []
        for letter in String(decoding: bytes[(colon + 3)...], as: UTF8.self) {
            switch letter {
            case "D": names.append("\\Draft")
            case "F": names.append("\\Flagged")
            case "P": names.append("$Forwarded")
            case "R": names.append("\\Answered")
            case "S": names.append("\\Seen")
            case "T": names.append("\\Deleted")
            case "a"..."z": if let keyword = keywords[letter] { names.append(keyword) }
            default: break
            }
        }
        return MessageFlags(validNames: names)
    }

    /// The `:2,` info for `flags`, letters sorted as Maildir requires; keywords get letters
    /// from `letters` (which grows, up to 26: later keywords have no letter and are dropped,
    /// as Dovecot does).
    public static func info(_ flags: MessageFlags, letters: inout [String]) -> String {
        var out: [Character] = []
        if flags.system.contains(.draft) { out.append("D") }
        if flags.system.contains(.flagged) { out.append("F") }
        if flags.keywords.contains("$Forwarded") { out.append("P") }
        if flags.system.contains(.answered) { out.append("R") }
        if flags.system.contains(.seen) { out.append("S") }
        if flags.system.contains(.deleted) { out.append("T") }
        for keyword in flags.keywords.sorted() where keyword != "$Forwarded" {
            var index = letters.firstIndex(of: keyword)
            if index == nil && letters.count < 26 {
                letters.append(keyword)
                index = letters.count - 1
            }
            if let index { out.append(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(index)))) }
        }
        return ":2," + String(out.sorted())
    }

    /// `dovecot-keywords`: `<number> <name>` per line, numbers from 0 for `a`.
    public static func keywords(_ text: String) -> [Character: String] {
        var out: [Character: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let n = Int(parts[0]), (0..<26).contains(n) else { continue }
            out[Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(n)))] = String(parts[1])
        }
        return out
    }

    /// `dovecot-uidlist` (version 3): the UID Dovecot gave each file, by the file name's part
    /// before `:2,`, so an import keeps Dovecot's order. Lines are `<uid> [fields] :<name>`
    /// after a header line.
    public static func uids(_ text: String) -> [String: UInt32] {
        var out: [String: UInt32] = [:]
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            guard let space = line.firstIndex(of: " "), let uid = UInt32(line[..<space]),
                let colon = line[space...].firstIndex(of: ":")
            else { continue }
            out[String(line[line.index(after: colon)...])] = uid
        }
        return out
    }

    /// A `dovecot-uidlist` listing `names` (without their `:2,` info) as UIDs 1, 2, ….
    public static func uidlistFile(_ names: [String], uidValidity: UInt32) -> String {
        "3 V\(uidValidity) N\(names.count + 1)\n" + names.enumerated().map { "\($0.offset + 1) :\($0.element)\n" }.joined()
    }

    /// A file name without its `:2,` info.
    public static func base(_ fileName: String) -> String {
        let bytes = Array(fileName.utf8)
        guard let colon = bytes.indices.reversed().first(where: { bytes[$0...].starts(with: Array(":2,".utf8)) }) else { return fileName }
        return String(decoding: bytes[..<colon], as: UTF8.self)
    }

    public static func keywordsFile(_ letters: [String]) -> String {
        letters.enumerated().map { "\($0.offset) \($0.element)\n" }.joined()
    }

    /// The folder a Maildir++ directory holds: `.Lists.Swift` → `Lists/Swift`; nil for a
    /// name that is not a folder (`cur`, `tmp`, a file Dovecot keeps) or does not decode.
    public static func folder(maildirPlusPlus directory: String) -> String? {
        guard directory.hasPrefix("."), directory.count > 1, directory != "..", !directory.hasPrefix("..") else { return nil }
        let parts = directory.dropFirst().split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.contains(where: \.isEmpty) else { return nil }
        let decoded = parts.map { ModifiedUTF7.decode(Array($0.utf8)) }
        guard decoded.allSatisfy({ $0 != nil }) else { return nil }
        let name = decoded.map { $0! }.joined(separator: "/")
        return name.uppercased() == "INBOX" ? "INBOX" : name
    }

    /// The Maildir++ directory for a folder: `Lists/Swift` → `.Lists.Swift`, each level in
    /// modified UTF-7; a `.` inside a level (which Maildir++ cannot hold) becomes `_`; INBOX
    /// is the root (nil).
    public static func directory(maildirPlusPlus folder: String) -> String? {
        guard folder != "INBOX" else { return nil }
        return "." + folder.split(separator: "/").map { ModifiedUTF7.encode(String($0)).replacingDots() }.joined(separator: ".")
    }
}

extension String {
    fileprivate func replacingDots() -> String { String(map { $0 == "." ? "_" : $0 }) }
}

/// Line endings: stored messages use CRLF (RFC 5322 §2.1); Maildir and mbox files usually LF.
public enum LineEndings {
    /// Every bare LF becomes CRLF; CRLF stays.
    public static func crlf(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + bytes.count / 32)
        var previous: UInt8 = 0
        for b in bytes {
            if b == 0x0A && previous != 0x0D { out.append(0x0D) }
            out.append(b)
            previous = b
        }
        return out
    }

    /// Every CRLF becomes LF.
    public static func lf(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A {
                out.append(0x0A)
                i += 2
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }
}

/// One message moved in or out: the bytes as stored (CRLF), its flags, its internal date
/// (seconds since 1970) and where it came from (for messages about it).
public struct FolderMessage: Sendable, Equatable {
    public var data: [UInt8]
    public var flags: MessageFlags
    public var internalDate: Int64
    public var source: String
    public init(data: [UInt8], flags: MessageFlags, internalDate: Int64, source: String) {
        self.data = data
        self.flags = flags
        self.internalDate = internalDate
        self.source = source
    }
}

extension MessageFlags {
    /// The flags and keywords among `names` that are valid; one that is not (a keyword with
    /// `]` in it, written by another program) is left out rather than losing all the others.
    init(validNames names: [String]) {
        self = MessageFlags(names: names.filter { MessageFlags(names: [$0]) != nil }) ?? MessageFlags()
    }
}
