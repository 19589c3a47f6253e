import IMAPCodec
import MailCore
import MailMessage
import NIOCore

/// ENVELOPE and BODY/BODYSTRUCTURE (RFC 3501 §7.4.2, with §9's `envelope` and `body` rules)
/// from the structure the back-end parsed at delivery, written straight into the response (each
/// string quoted or a literal, chosen by the codec): building `IMAPValue` trees first cost some
/// thirty allocations a message, and a FETCH may list a whole mailbox.
enum IMAPStructureRendering {
    typealias Encoder = IMAPResponseEncoder

    /// envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP
    ///            env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")"
    static func write(_ envelope: Envelope, into out: inout ByteBuffer) {
        out.writeStaticString("(")
        Encoder.writeNString(envelope.date, into: &out)
        out.writeStaticString(" ")
        Encoder.writeNString(envelope.subject, into: &out)
        for list in [envelope.from, envelope.sender, envelope.replyTo, envelope.to, envelope.cc, envelope.bcc] {
            out.writeStaticString(" ")
            write(list, into: &out)
        }
        out.writeStaticString(" ")
        Encoder.writeNString(envelope.inReplyTo, into: &out)
        out.writeStaticString(" ")
        Encoder.writeNString(envelope.messageID, into: &out)
        out.writeStaticString(")")
    }

    /// address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"; an empty list is NIL.
    /// Group syntax (§7.4.2) is in the parsed list already as start and end markers.
    static func write(_ list: [EnvelopeAddress], into out: inout ByteBuffer) {
        guard !list.isEmpty else {
            out.writeStaticString("NIL")
            return
        }
        out.writeStaticString("(")
        for address in list {
            out.writeStaticString("(")
            Encoder.writeNString(address.name, into: &out)
            out.writeStaticString(" ")
            Encoder.writeNString(address.adl, into: &out)
            out.writeStaticString(" ")
            Encoder.writeNString(address.mailbox, into: &out)
            out.writeStaticString(" ")
            Encoder.writeNString(address.host, into: &out)
            out.writeStaticString(")")
        }
        out.writeStaticString(")")
    }

    /// body = "(" (body-type-1part / body-type-mpart) ")"; with `extensible` the extension
    /// data of BODYSTRUCTURE (§7.4.2: md5, disposition, language, location; for multiparts the
    /// parameters first).
    static func write(_ part: BodyStructure, extensible: Bool, into out: inout ByteBuffer) {
        out.writeStaticString("(")
        switch part.content {
        case .multipart(let children):
            for child in children { write(child, extensible: extensible, into: &out) }
            if !children.isEmpty { out.writeStaticString(" ") }
            Encoder.writeString(part.subtype.uppercased(), into: &out)
            if extensible {
                out.writeStaticString(" ")
                write(part.parameters, into: &out)
                writeExtensionTail(part, into: &out)
            }
        case .single, .message:
            Encoder.writeString(part.type.uppercased(), into: &out)
            out.writeStaticString(" ")
            Encoder.writeString(part.subtype.uppercased(), into: &out)
            out.writeStaticString(" ")
            write(part.parameters, into: &out)
            out.writeStaticString(" ")
            Encoder.writeNString(part.id, into: &out)
            out.writeStaticString(" ")
            Encoder.writeNString(part.description, into: &out)
            out.writeStaticString(" ")
            Encoder.writeString(part.encoding.uppercased(), into: &out)
            out.writeString(" \(max(0, part.size))")
            if case .message(let envelope, let inner) = part.content {
                // body-type-msg: envelope, body, lines.
                out.writeStaticString(" ")
                write(envelope, into: &out)
                out.writeStaticString(" ")
                write(inner, extensible: extensible, into: &out)
                out.writeString(" \(max(0, part.lines ?? 0))")
            } else if part.type.caseInsensitiveCompare("text") == .orderedSame {
                out.writeString(" \(max(0, part.lines ?? 0))")
            }
            if extensible {
                out.writeStaticString(" ")
                Encoder.writeNString(part.md5, into: &out)
                writeExtensionTail(part, into: &out)
            }
        }
        out.writeStaticString(")")
    }

    /// SP body-fld-dsp SP body-fld-lang SP body-fld-loc.
    static func writeExtensionTail(_ part: BodyStructure, into out: inout ByteBuffer) {
        out.writeStaticString(" ")
        if let disposition = part.disposition {
            out.writeStaticString("(")
            Encoder.writeString(disposition.type.uppercased(), into: &out)
            out.writeStaticString(" ")
            write(disposition.parameters, into: &out)
            out.writeStaticString(")")
        } else {
            out.writeStaticString("NIL")
        }
        out.writeStaticString(" ")
        switch part.language.count {
        case 0: out.writeStaticString("NIL")
        case 1: Encoder.writeString(part.language[0], into: &out)
        default:
            out.writeStaticString("(")
            for (index, tag) in part.language.enumerated() {
                if index > 0 { out.writeStaticString(" ") }
                Encoder.writeString(tag, into: &out)
            }
            out.writeStaticString(")")
        }
        out.writeStaticString(" ")
        Encoder.writeNString(part.location, into: &out)
    }

    /// body-fld-param = "(" string SP string *(SP string SP string) ")" / nil
    static func write(_ list: [MIMEParameter], into out: inout ByteBuffer) {
        guard !list.isEmpty else {
            out.writeStaticString("NIL")
            return
        }
        out.writeStaticString("(")
        for (index, parameter) in list.enumerated() {
            if index > 0 { out.writeStaticString(" ") }
            Encoder.writeString(parameter.name.uppercased(), into: &out)
            out.writeStaticString(" ")
            Encoder.writeString(parameter.value, into: &out)
        }
        out.writeStaticString(")")
    }
}

/// RFC 3501 §9 `date-time` for INTERNALDATE, in UTC.
enum IMAPDateFormat {
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// `"dd-Mon-yyyy hh:mm:ss +0000"` without the quotes.
    static func dateTime(_ secondsSince1970: Int64) -> String {
        let days = secondsSince1970 >= 0 ? secondsSince1970 / 86400 : (secondsSince1970 - 86399) / 86400
        let seconds = secondsSince1970 - days * 86400
        let (year, month, day) = CivilDate.date(days: Int(days))
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(Int64(day)))-\(months[month - 1])-\(year) \(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60)) +0000"
    }
}

/// RFC 3501 §6.4.5 HEADER.FIELDS / HEADER.FIELDS.NOT over a header block: whole fields (with
/// their folded lines) whose names are in `names` (or not), then the empty line.
enum HeaderFieldFilter {
    static func filter(_ header: [UInt8], names: [String], keep: Bool) -> [UInt8] {
        let wanted = Set(names.map { $0.lowercased() })
        var result: [UInt8] = []
        var index = 0
        var including = false
        while index < header.count {
            var end = index
            while end < header.count, header[end] != UInt8(ascii: "\n") { end += 1 }
            let lineEnd = min(end + 1, header.count)
            let line = header[index..<lineEnd]
            let content = line.last == UInt8(ascii: "\n") ? line.dropLast() : line[...]
            let bare = content.last == UInt8(ascii: "\r") ? content.dropLast() : content
            if bare.isEmpty { break }
            if let first = line.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") {
                // A continuation line belongs to the field before it.
            } else if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
                let name = String(decoding: header[index..<colon], as: UTF8.self).trimmingCharacters(in: .whitespaces).lowercased()
                including = wanted.contains(name) == keep
            } else {
                including = false
            }
            if including {
                result.append(contentsOf: bare)
                result.append(contentsOf: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
            }
            index = lineEnd
        }
        result.append(contentsOf: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
        return result
    }
}

/// A LIST/LSUB pattern (RFC 3501 §6.3.8): `*` matches anything, `%` anything but the
/// delimiter `/`; INBOX matches in any case.
struct MailboxPattern {
    let pattern: [Character]

    init(_ pattern: String) {
        var text = pattern
        if text.uppercased().hasPrefix("INBOX"), text.count == 5 || text.dropFirst(5).first == "/" {
            text = "INBOX" + text.dropFirst(5)
        }
        self.pattern = Array(text)
    }

    /// One pass per pattern character over the name's positions (no backtracking, so a
    /// pattern of many `*` costs length × length, never more).
    func matches(_ name: String) -> Bool {
        let s = Array(name)
        var reachable = [Bool](repeating: false, count: s.count + 1)
        reachable[0] = true
        for c in pattern {
            var next = [Bool](repeating: false, count: s.count + 1)
            switch c {
            case "*", "%":
                var open = false
                for j in 0...s.count {
                    if reachable[j] { open = true }
                    next[j] = open
                    if c == "%", j < s.count, s[j] == "/" { open = false }
                }
            default:
                for j in 0..<s.count where reachable[j] && s[j] == c { next[j + 1] = true }
            }
            reachable = next
        }
        return reachable[s.count]
    }

    /// For `%` patterns: the nearest parent of `name` that the pattern matches (LSUB shows it
    /// as `\Noselect`, RFC 3501 §6.3.9).
    func matchingParent(of name: String) -> String? {
        guard pattern.contains("%") else { return nil }
        var parent = name
        while let slash = parent.lastIndex(of: "/") {
            parent = String(parent[..<slash])
            if matches(parent) { return parent }
        }
        return nil
    }
}
