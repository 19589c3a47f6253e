import Foundation

/// One header field (RFC 5322 §2.2): its name as written and its value.
public struct HeaderField: Sendable, Equatable, Codable {
    /// The field name as it appears in the message (compare case-insensitively).
    public var name: String
    /// The value's bytes after the colon, folding line breaks included, final line break excluded.
    public var rawValue: [UInt8]
    /// The value unfolded (RFC 5322 §2.2.3), trimmed of surrounding whitespace, decoded as UTF-8
    /// or, failing that, Latin-1. Encoded words (RFC 2047) are kept.
    public var value: String

    public init(name: String, rawValue: [UInt8]) {
        self.name = name
        self.rawValue = rawValue
        self.value = HeaderField.unfold(rawValue)
    }

    /// RFC 5322 §2.2.3: "Unfolding is accomplished by simply removing any CRLF that is immediately
    /// followed by WSP." Every line break inside a field's value is such a fold, and bare CR or LF
    /// is treated the same way.
    static func unfold(_ raw: some Collection<UInt8>) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        for byte in raw where byte != ASCII.cr && byte != ASCII.lf {
            bytes.append(byte)
        }
        var start = 0
        var end = bytes.count
        while start < end && ASCII.isWhitespace(bytes[start]) { start += 1 }
        while end > start && ASCII.isWhitespace(bytes[end - 1]) { end -= 1 }
        return Charset.lenientString(bytes[start..<end])
    }
}

/// A header block: the ordered fields of a message or body part header, with case-insensitive
/// lookup by name.
public struct HeaderFields: Sendable, Equatable, Codable, RandomAccessCollection {
    public var fields: [HeaderField]

    public init(_ fields: [HeaderField] = []) {
        self.fields = fields
    }

    /// Parses a header block; parsing stops at the blank line that ends it, or at the first line
    /// that is neither a field nor a continuation.
    public init(parsing bytes: [UInt8], limits: MessageLimits = .standard) {
        self = bytes.withUnsafeBytes { buffer in
            HeaderBlock.scan(buffer, from: 0, to: buffer.count, limits: limits).fields
        }
    }

    public var startIndex: Int { fields.startIndex }
    public var endIndex: Int { fields.endIndex }
    public subscript(position: Int) -> HeaderField { fields[position] }

    /// The value of the first field called `name` (case-insensitive), or nil.
    public subscript(name: String) -> String? {
        fields.first { Self.sameName($0.name, name) }?.value
    }

    /// Every field called `name` (case-insensitive), in order.
    public func fields(named name: String) -> [HeaderField] {
        fields.filter { Self.sameName($0.name, name) }
    }

    /// Field names compared case-insensitively: byte by byte for ASCII, which field names are
    /// (RFC 5322 §3.6.8 ftext), without Foundation's locale-aware comparison; that one only for
    /// a name with other characters (read as Latin-1 from a malformed header).
    static func sameName(_ a: String, _ b: String) -> Bool {
        var x = a.utf8.makeIterator()
        var y = b.utf8.makeIterator()
        while true {
            switch (x.next(), y.next()) {
            case (nil, nil): return true
            case (let c?, let d?) where c < 0x80 && d < 0x80:
                if ASCII.lowercased(c) != ASCII.lowercased(d) { return false }
            case (let c, let d) where (c ?? 0) < 0x80 && (d ?? 0) < 0x80:
                return false  // one ended first, all ASCII so far
            default:
                return a.caseInsensitiveCompare(b) == .orderedSame
            }
        }
    }

    /// The values of every field called `name` (case-insensitive), in order.
    public func values(named name: String) -> [String] {
        fields(named: name).map(\.value)
    }

    /// The values (as `HeaderField.value` has them: unfolded, trimmed, encoded words kept) of
    /// the fields called `name` in the header block at the start of `bytes`, up to its blank
    /// line, in order — without making the other fields, for a search that looks at one field
    /// of many messages. The same fields `HeaderFields(parsing:)` finds, within its limits.
    public static func values(named name: String, inHeader bytes: [UInt8], limits: MessageLimits = .standard) -> [String] {
        let wanted = Array(name.utf8)
        guard !wanted.isEmpty, wanted.allSatisfy({ $0 < 0x80 }) else {
            return HeaderFields(parsing: bytes, limits: limits).values(named: name)
        }
        return bytes.withUnsafeBytes { buffer in
            var values: [String] = []
            var position = 0
            var fields = 0
            // The matching field being collected: where its value starts and ends.
            var open: (start: Int, end: Int)?
            func finish() {
                guard let field = open else { return }
                open = nil
                let end = Swift.min(field.end, field.start + limits.maxHeaderLineBytes)
                values.append(HeaderField.unfold(UnsafeRawBufferPointer(rebasing: buffer[field.start..<Swift.max(field.start, end)])))
            }
            while position < buffer.count {
                let (contentEnd, next) = Lines.line(in: buffer, from: position, to: buffer.count)
                if contentEnd == position { break }  // the blank line
                if ASCII.isWhitespace(buffer[position]) {
                    if fields == 0 { break }  // a continuation of nothing ends the header
                    if open != nil { open!.end = contentEnd }
                    position = next
                    continue
                }
                finish()
                // field-name *WSP ":" (RFC 5322 §3.6.8, §4.5.8); anything else ends the header.
                var index = position
                while index < contentEnd, buffer[index] != ASCII.colon, !ASCII.isWhitespace(buffer[index]) {
                    guard buffer[index] >= 33 && buffer[index] <= 126 else { return values }
                    index += 1
                }
                let nameEnd = index
                while index < contentEnd && ASCII.isWhitespace(buffer[index]) { index += 1 }
                guard nameEnd > position, index < contentEnd, buffer[index] == ASCII.colon else { break }
                fields += 1
                if fields > limits.maxHeaderFields { return values }
                if nameEnd - position == wanted.count
                    && zip(wanted, UnsafeRawBufferPointer(rebasing: buffer[position..<nameEnd])).allSatisfy({
                        ASCII.lowercased($0) == ASCII.lowercased($1)
                    })
                {
                    open = (index + 1, contentEnd)
                }
                position = next
            }
            finish()
            return values
        }
    }
}

/// Finds the extent of a header block and the fields in it, in one linear pass.
enum HeaderBlock {
    struct Scan {
        var fields: HeaderFields
        /// Offset of the first body byte: just after the blank line, or the first line that is
        /// not part of the header when the blank line is missing.
        var bodyStart: Int
        var truncated: Bool
    }

    // RFC 5322 §2.2, §3.6.8
    // field      = field-name ":" unstructured CRLF
    // field-name = 1*ftext
    // ftext      = %d33-57 / %d59-126    ; printable US-ASCII except ":"
    // obs-optional = field-name *WSP ":" unstructured CRLF   ; RFC 5322 §4.5.8
    /// Scans `bytes[start..<end]`. With `skipsMboxSeparator`, a first line of the form
    /// "From sender date" (an mbox separator) is taken as part of the header.
    static func scan(
        _ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int, limits: MessageLimits,
        skipsMboxSeparator: Bool = false
    ) -> Scan {
        var fields: [HeaderField] = []
        var truncated = false
        // The field being collected: where its name ends and its value starts and ends.
        var pending: (nameStart: Int, nameEnd: Int, valueStart: Int, valueEnd: Int)?

        func finish() {
            guard let field = pending else { return }
            pending = nil
            guard fields.count < limits.maxHeaderFields else {
                truncated = true
                return
            }
            var valueEnd = field.valueEnd
            if valueEnd - field.valueStart > limits.maxHeaderLineBytes {
                valueEnd = field.valueStart + limits.maxHeaderLineBytes
                truncated = true
            }
            let name = Charset.latin1(UnsafeRawBufferPointer(rebasing: bytes[field.nameStart..<field.nameEnd]))
            let raw = Array(UnsafeRawBufferPointer(rebasing: bytes[field.valueStart..<valueEnd]))
            fields.append(HeaderField(name: name, rawValue: raw))
        }

        var position = start
        while position < end {
            let (contentEnd, next) = Lines.line(in: bytes, from: position, to: end)
            if contentEnd == position {
                finish()
                return Scan(fields: HeaderFields(fields), bodyStart: next, truncated: truncated)
            }
            let first = bytes[position]
            if ASCII.isWhitespace(first) {
                guard pending != nil else {
                    // A continuation with nothing to continue: the header is over.
                    return Scan(fields: HeaderFields(fields), bodyStart: position, truncated: truncated)
                }
                pending!.valueEnd = contentEnd
                position = next
                continue
            }
            finish()
            guard let (nameEnd, colon) = fieldName(in: bytes, from: position, to: contentEnd) else {
                if skipsMboxSeparator && position == start && startsWithFromSpace(bytes, at: position, end: contentEnd) {
                    position = next
                    continue
                }
                return Scan(fields: HeaderFields(fields), bodyStart: position, truncated: truncated)
            }
            pending = (position, nameEnd, colon + 1, contentEnd)
            position = next
        }
        finish()
        return Scan(fields: HeaderFields(fields), bodyStart: end, truncated: truncated)
    }

    /// The end of the field name and the colon's offset, when the line starts with a field name.
    private static func fieldName(
        in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int
    ) -> (nameEnd: Int, colon: Int)? {
        var index = start
        while index < end {
            let byte = bytes[index]
            if byte == ASCII.colon || ASCII.isWhitespace(byte) { break }
            guard byte >= 33 && byte <= 126 else { return nil }
            index += 1
        }
        let nameEnd = index
        guard nameEnd > start else { return nil }
        while index < end && ASCII.isWhitespace(bytes[index]) { index += 1 }
        guard index < end && bytes[index] == ASCII.colon else { return nil }
        return (nameEnd, index)
    }

    private static func startsWithFromSpace(_ bytes: UnsafeRawBufferPointer, at index: Int, end: Int) -> Bool {
        let prefix: [UInt8] = Array("From ".utf8)
        guard end - index >= prefix.count else { return false }
        for offset in 0..<prefix.count where bytes[index + offset] != prefix[offset] {
            return false
        }
        return true
    }
}

/// Line-oriented scanning over raw message bytes. A line ends at LF; a CR before it is part of
/// the line break, so CRLF and bare LF messages are read alike.
enum Lines {
    /// The line starting at `start`: where its content ends (before CR LF / LF) and where the next
    /// line starts (`end` when the last line has no line break).
    static func line(
        in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int
    ) -> (contentEnd: Int, next: Int) {
        guard let lf = nextLineFeed(in: bytes, from: start, to: end) else {
            return (end, end)
        }
        var contentEnd = lf
        if contentEnd > start && bytes[contentEnd - 1] == ASCII.cr {
            contentEnd -= 1
        }
        return (contentEnd, lf + 1)
    }

    static func nextLineFeed(in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard start < end, let base = bytes.baseAddress else { return nil }
        guard let found = memchr(base + start, Int32(ASCII.lf), end - start) else { return nil }
        return UnsafeRawPointer(found) - base
    }

    /// IMAP's body-fld-lines: the number of line breaks. RFC 3501 says only "the size of the
    /// body in text lines"; a text part inside a multipart ends without one (the CRLF before the
    /// boundary is the delimiter's, RFC 2046 §5.1.1), and Dovecot, which most clients have met,
    /// does not count that last partial line, so neither does Loft (Tests/bench/IMAP.md).
    static func count(in bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int {
        var lines = 0
        var position = start
        while let lf = nextLineFeed(in: bytes, from: position, to: end) {
            lines += 1
            position = lf + 1
        }
        return lines
    }
}
