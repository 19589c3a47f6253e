public import MailCore

/// mbox (RFC 4155), the two quotings in use: `mboxrd` (a body line `>*From ` gains one `>` on
/// writing and loses one on reading, so every line comes back) and `mboxo` (only `From `
/// gets a `>`, so `>From ` in a body is read back as `From `). A message begins with a
/// `From <sender> <asctime>` line, and a blank line before the next one is the separator, not
/// part of the message. Flags travel in the
/// `Status` (`R` seen, `O` old), `X-Status` (`A` answered, `F` flagged, `T` draft, `D`
/// deleted) and `X-Keywords` header fields mutt, Dovecot and Thunderbird use: read into flags
/// and taken out of the message on import, written back on export.
public enum Mbox {
    public enum Quoting: String, Sendable, CaseIterable { case mboxrd, mboxo }

    public struct Entry: Sendable, Equatable {
        /// The message as stored: CRLF, without the flag fields.
        public var message: [UInt8]
        public var flags: MessageFlags
        /// From the `From ` line, seconds since 1970 (UTC); nil when it has no date.
        public var date: Int64?
    }

    /// Every message of an mbox file, decoded.
    public static func read(_ bytes: [UInt8], quoting: Quoting) -> [Entry] {
        messages(in: bytes).map { entry(bytes, $0, quoting: quoting) }
    }

    /// Where each message is: its `From ` line and the lines after it up to the next (the
    /// separating blank line left out). Only ranges, so a file of any size can be walked
    /// (memory-mapped) and its messages decoded one at a time with `entry`.
    public struct Span: Sendable, Equatable {
        public var fromLine: Range<Int>
        public var content: Range<Int>
    }

    public static func messages<C: RandomAccessCollection<UInt8>>(in bytes: C) -> [Span] where C.Index == Int {
        var spans: [Span] = []
        var current: (from: Range<Int>, start: Int)?
        var lastBlank: Int?  // where the blank line before the current position begins
        var start = bytes.startIndex
        func close(at end: Int) {
            guard let c = current else { return }
            let stop = lastBlank.map { $0 >= c.start ? $0 : end } ?? end
            spans.append(Span(fromLine: c.from, content: c.start..<max(c.start, stop)))
        }
        while start < bytes.endIndex {
            var end = start
            while end < bytes.endIndex && bytes[end] != 0x0A { end += 1 }
            var lineEnd = end
            if lineEnd > start && bytes[lineEnd - 1] == 0x0D { lineEnd -= 1 }
            // In both quotings every body line beginning `From ` was quoted, so an unquoted
            // one is always a separator, blank line before it or not (Netscape's files have none).
            if bytes[start..<lineEnd].starts(with: fromPrefix) {
                close(at: start)
                current = (start..<lineEnd, min(end + 1, bytes.endIndex))
                lastBlank = nil
            } else if lineEnd == start {
                lastBlank = start
            } else {
                lastBlank = nil
            }
            start = end + 1
        }
        close(at: bytes.endIndex)
        return spans
    }

    /// One message of `bytes` at `span`: unquoted, CRLF, its flag fields taken out.
    public static func entry<C: RandomAccessCollection<UInt8>>(_ bytes: C, _ span: Span, quoting: Quoting) -> Entry
    where C.Index == Int {
        var body: [UInt8] = []
        body.reserveCapacity(span.content.count + span.content.count / 32)
        var start = span.content.lowerBound
        while start < span.content.upperBound {
            var end = start
            while end < span.content.upperBound && bytes[end] != 0x0A { end += 1 }
            var line = Array(bytes[start..<end])[...]
            if line.last == 0x0D { line = line.dropLast() }
            body += unquote(line, quoting: quoting)
            body.append(0x0A)
            start = end + 1
        }
        let (message, flags) = takeFlags(LineEndings.crlf(body))
        return Entry(message: message, flags: flags, date: date(fromLine: String(decoding: bytes[span.fromLine], as: UTF8.self)))
    }

    /// One message in mbox form: the `From ` line, the header with the flag fields, the body
    /// quoted, LF line ends, and the blank separator line.
    public static func write(_ message: [UInt8], flags: MessageFlags, date: Int64, quoting: Quoting = .mboxrd) -> [UInt8] {
        let lf = LineEndings.lf(addFlags(message, flags))
        var out = Array("From \(sender(of: message)) \(asctime(date))\n".utf8)
        var start = 0
        while start < lf.count {
            var end = start
            while end < lf.count && lf[end] != 0x0A { end += 1 }
            let line = lf[start..<end]
            if needsQuote(line, quoting: quoting) { out.append(UInt8(ascii: ">")) }
            out += line
            out.append(0x0A)
            start = end + 1
        }
        out.append(0x0A)
        return out
    }

    static let fromPrefix = Array("From ".utf8)

    static func needsQuote(_ line: ArraySlice<UInt8>, quoting: Quoting) -> Bool {
        switch quoting {
        case .mboxo: return line.starts(with: fromPrefix)
        case .mboxrd: return line.drop { $0 == UInt8(ascii: ">") }.starts(with: fromPrefix)
        }
    }

    static func unquote(_ line: ArraySlice<UInt8>, quoting: Quoting) -> ArraySlice<UInt8> {
        guard line.first == UInt8(ascii: ">") else { return line }
        switch quoting {
        case .mboxo: return line.dropFirst().starts(with: fromPrefix) ? line.dropFirst() : line
        case .mboxrd: return line.drop { $0 == UInt8(ascii: ">") }.starts(with: fromPrefix) ? line.dropFirst() : line
        }
    }

    // MARK: The From line

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday

    /// `From alice@example.org Thu Dec  3 12:00:00 2026` → its instant, read as UTC; the
    /// asctime form is the line's last five words (a time zone after the year is ignored).
    public static func date(fromLine line: String) -> Int64? {
        var words = line.split(separator: " ").map(String.init)
        if let last = words.last, last.hasPrefix("+") || last.hasPrefix("-") { words.removeLast() }
        guard words.count >= 6, let month = months.firstIndex(of: words[words.count - 4]),
            let day = Int(words[words.count - 3]), let year = Int(words[words.count - 1])
        else { return nil }
        let time = words[words.count - 2].split(separator: ":").compactMap { Int($0) }
        guard time.count == 3, (1...31).contains(day), (1970...9999).contains(year) else { return nil }
        return Int64(CivilDate.days(year: year, month: month + 1, day: day)) * 86_400 + Int64(time[0] * 3600 + time[1] * 60 + time[2])
    }

    /// `Thu Dec  3 12:00:00 2026` (UTC).
    public static func asctime(_ seconds: Int64) -> String {
        let days = CivilDate.days(seconds: seconds)
        let rest = seconds - days * 86_400
        let (y, m, d) = CivilDate.date(days: Int(days))
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        return
            "\(weekday) \(months[Int(m) - 1]) \(d < 10 ? " " : "")\(d) \(two(rest / 3600)):\(two(rest % 3600 / 60)):\(two(rest % 60)) \(y)"
    }

    /// The Return-Path's address, else `MAILER-DAEMON` (what mbox writers put for unknown).
    static func sender(of message: [UInt8]) -> String {
        for (name, value) in HeaderFields.fields(message) where name.lowercased() == "return-path" {
            let address = value.trimming(" <>\t")
            if !address.isEmpty, !address.contains(" ") { return address }
        }
        return "MAILER-DAEMON"
    }

    // MARK: Flag fields

    static let flagFields: Set<String> = ["status", "x-status", "x-keywords"]

    /// The message without its flag fields, and the flags they held.
    static func takeFlags(_ message: [UInt8]) -> ([UInt8], MessageFlags) {
        var names: [String] = []
        let kept = HeaderFields.removing(message) { name, value in
            switch name.lowercased() {
            case "status": if value.contains("R") { names.append("\\Seen") }
            case "x-status":
                if value.contains("A") { names.append("\\Answered") }
                if value.contains("F") { names.append("\\Flagged") }
                if value.contains("T") { names.append("\\Draft") }
                if value.contains("D") { names.append("\\Deleted") }
            case "x-keywords":
                names += value.split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init).filter { !$0.isEmpty }
            default: return false
            }
            return true
        }
        return (kept, MessageFlags(validNames: names))
    }

    /// The message with flag fields for `flags` at the end of its header.
    static func addFlags(_ message: [UInt8], _ flags: MessageFlags) -> [UInt8] {
        var fields = "Status: " + (flags.system.contains(.seen) ? "RO" : "O") + "\r\n"
        var x = ""
        if flags.system.contains(.answered) { x += "A" }
        if flags.system.contains(.flagged) { x += "F" }
        if flags.system.contains(.draft) { x += "T" }
        if flags.system.contains(.deleted) { x += "D" }
        if !x.isEmpty { fields += "X-Status: \(x)\r\n" }
        if !flags.keywords.isEmpty { fields += "X-Keywords: \(flags.keywords.joined(separator: " "))\r\n" }
        let end = HeaderFields.headerEnd(message)
        return Array(message[..<end]) + Array(fields.utf8) + Array(message[end...])
    }
}

/// The few header operations mbox's flag fields need, on CRLF bytes.
enum HeaderFields {
    /// Where the header's last field ends: before the blank line (or the end).
    static func headerEnd(_ m: [UInt8]) -> Int {
        if m.starts(with: [0x0D, 0x0A]) { return 0 }
        var i = 0
        while i + 3 < m.count {
            if m[i] == 0x0D && m[i + 1] == 0x0A && m[i + 2] == 0x0D && m[i + 3] == 0x0A { return i + 2 }
            i += 1
        }
        return m.count
    }

    /// (name, unfolded value) of each field.
    static func fields(_ m: [UInt8]) -> [(String, String)] {
        var out: [(String, String)] = []
        for raw in unfold(m, end: headerEnd(m)) {
            let text = String(decoding: raw, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { continue }
            out.append((String(text[..<colon]), String(text[text.index(after: colon)...]).trimming(" \t\r\n")))
        }
        return out
    }

    /// The message without the fields `drop` says yes to.
    static func removing(_ m: [UInt8], drop: (String, String) -> Bool) -> [UInt8] {
        let end = headerEnd(m)
        var out: [UInt8] = []
        for field in unfold(m, end: end) {
            let text = String(decoding: field, as: UTF8.self)
            if let colon = text.firstIndex(of: ":"),
                drop(String(text[..<colon]), String(text[text.index(after: colon)...]).trimming(" \t\r\n"))
            {
                continue
            }
            out += field
        }
        return out + m[end...]
    }

    /// The header's fields, each with its continuation lines and CRLFs.
    static func unfold(_ m: [UInt8], end: Int) -> [ArraySlice<UInt8>] {
        var out: [ArraySlice<UInt8>] = []
        var start = 0
        var i = 0
        while i < end {
            var lineEnd = i
            while lineEnd < end && m[lineEnd] != 0x0A { lineEnd += 1 }
            let next = min(lineEnd + 1, end)
            if next < end && (m[next] == 0x20 || m[next] == 0x09) {
                i = next
                continue
            }
            out.append(m[start..<next])
            start = next
            i = next
        }
        return out
    }
}

extension String {
    func trimming(_ set: String) -> String {
        let drop = Set(set)
        var s = Substring(self)
        while let f = s.first, drop.contains(f) { s.removeFirst() }
        while let l = s.last, drop.contains(l) { s.removeLast() }
        return String(s)
    }
}
