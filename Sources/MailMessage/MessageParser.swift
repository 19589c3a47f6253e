public import Foundation

/// MailMessage owns RFC 5322 / MIME parsing (DESIGN §6): header fields, encoded words, envelope,
/// body structure with byte offsets, and part decoding. It may import MailCore and Foundation
/// only (today just Foundation) and knows nothing of storage, networking or IMAP syntax.
///
/// The parser never throws and never traps: every input yields a `ParsedMessage`. It works in
/// linear passes over the bytes (one per nesting level, bounded by `MessageLimits.maxDepth`),
/// recurses no deeper than that limit, and allocates in proportion to the structure it finds.
public enum MessageParser {
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: MessageLimits = .standard) -> ParsedMessage {
        var parser = EntityParser(bytes: bytes, limits: limits)
        let (headers, body) = parser.entity(
            from: 0, to: bytes.count, depth: 0, defaultType: .default, isTopLevel: true)
        return ParsedMessage(envelope: Envelope(headers: headers), body: body, truncated: parser.truncated)
    }

    public static func parse(_ bytes: [UInt8], limits: MessageLimits = .standard) -> ParsedMessage {
        bytes.withUnsafeBytes { parse($0, limits: limits) }
    }

    public static func parse(_ data: Data, limits: MessageLimits = .standard) -> ParsedMessage {
        data.withUnsafeBytes { parse($0, limits: limits) }
    }
}

/// The walk over one message's bytes, counting parts and noting when a limit cuts it short.
private struct EntityParser {
    let bytes: UnsafeRawBufferPointer
    let limits: MessageLimits
    var parts = 0
    var truncated = false

    init(bytes: UnsafeRawBufferPointer, limits: MessageLimits) {
        self.bytes = bytes
        self.limits = limits
    }

    // RFC 2045 §3
    // entity-headers := [ content CRLF ] [ encoding CRLF ] [ id CRLF ] [ description CRLF ]
    //                   *( MIME-extension-field CRLF )
    /// Parses the entity in `start..<end`: its header, then its body according to its type.
    /// `depth` is the number of multipart and message/rfc822 levels above it.
    mutating func entity(
        from start: Int, to end: Int, depth: Int, defaultType: ContentType, isTopLevel: Bool = false
    ) -> (HeaderFields, BodyStructure) {
        parts += 1
        let header = HeaderBlock.scan(
            bytes, from: start, to: end, limits: limits, skipsMboxSeparator: isTopLevel)
        if header.truncated { truncated = true }
        let fields = header.fields
        let bodyStart = header.bodyStart
        let contentType = fields["Content-Type"].flatMap(ContentType.parse) ?? defaultType
        var encoding = (fields["Content-Transfer-Encoding"] ?? "").trimmingWhitespace().uppercased()
        if encoding.isEmpty { encoding = "7BIT" }

        var structure = BodyStructure(
            type: contentType.type,
            subtype: contentType.subtype,
            parameters: contentType.parameters,
            id: fields["Content-ID"],
            description: fields["Content-Description"],
            encoding: encoding,
            size: end - bodyStart,
            md5: fields["Content-MD5"],
            disposition: fields["Content-Disposition"].flatMap(ContentDisposition.parse),
            language: Self.languageTags(fields["Content-Language"]),
            location: fields["Content-Location"],
            headerStart: start,
            bodyStart: bodyStart,
            end: end)

        switch contentType.type {
        case "multipart":
            guard depth < limits.maxDepth else {
                truncated = true
                break
            }
            let boundary = Array((contentType[parameter: "boundary"] ?? "").utf8)
            let childType = contentType.subtype == "digest" ? ContentType.digestDefault : ContentType.default
            var children: [BodyStructure] = []
            if !boundary.isEmpty {
                let (ranges, more) = bodyParts(
                    from: bodyStart, to: end, boundary: boundary, limit: limits.maxParts - parts)
                if more { truncated = true }
                for range in ranges {
                    guard parts < limits.maxParts else {
                        truncated = true
                        break
                    }
                    children.append(
                        entity(from: range.lowerBound, to: range.upperBound, depth: depth + 1, defaultType: childType).1
                    )
                }
            }
            structure.content = .multipart(children)
        case "message" where contentType.subtype == "rfc822" || contentType.subtype == "global":
            structure.lines = Lines.count(in: bytes, from: bodyStart, to: end)
            // RFC 2046 §5.2.1: only 7bit, 8bit and binary are allowed; an encoded one is opaque.
            guard ["7BIT", "8BIT", "BINARY"].contains(encoding) else { break }
            guard depth < limits.maxDepth, parts < limits.maxParts else {
                truncated = true
                break
            }
            let (innerHeaders, inner) = entity(from: bodyStart, to: end, depth: depth + 1, defaultType: .default)
            structure.content = .message(envelope: Envelope(headers: innerHeaders), body: inner)
        case "text":
            structure.lines = Lines.count(in: bytes, from: bodyStart, to: end)
        default:
            break
        }
        return (fields, structure)
    }

    // RFC 2046 §5.1.1
    // multipart-body := [preamble CRLF] dash-boundary transport-padding CRLF body-part
    //                   *encapsulation close-delimiter transport-padding [CRLF epilogue]
    // dash-boundary := "--" boundary
    // encapsulation := delimiter transport-padding CRLF body-part
    // delimiter := CRLF dash-boundary
    // close-delimiter := delimiter "--"
    // transport-padding := *LWSP-char
    /// The body parts of a multipart body in `start..<end`, at most `limit` of them, and whether
    /// more were left out. A delimiter must start a line; the line break before it belongs to it.
    /// Without a close delimiter the last part runs to `end`; preamble and epilogue are skipped.
    private func bodyParts(
        from start: Int, to end: Int, boundary: [UInt8], limit: Int
    ) -> (ranges: [Range<Int>], more: Bool) {
        var ranges: [Range<Int>] = []
        var partStart: Int?
        var lineStart = start
        while lineStart < end {
            let (contentEnd, next) = Lines.line(in: bytes, from: lineStart, to: end)
            if let isClose = delimiter(from: lineStart, to: contentEnd, boundary: boundary) {
                if let partStart {
                    guard ranges.count < limit else { return (ranges, true) }
                    ranges.append(partStart..<max(partStart, lineBreakStart(before: lineStart, limit: start)))
                }
                if isClose { return (ranges, false) }
                partStart = next
            }
            lineStart = next
        }
        if let partStart {
            guard ranges.count < limit else { return (ranges, true) }
            ranges.append(partStart..<end)
        }
        return (ranges, false)
    }

    /// Whether the line `start..<end` is a delimiter for `boundary`: nil if not, otherwise whether
    /// it is the close delimiter. Only transport padding may follow the boundary (and "--").
    private func delimiter(from start: Int, to end: Int, boundary: [UInt8]) -> Bool? {
        guard end - start >= boundary.count + 2, bytes[start] == ASCII.hyphen, bytes[start + 1] == ASCII.hyphen
        else { return nil }
        var index = start + 2
        for byte in boundary {
            guard bytes[index] == byte else { return nil }
            index += 1
        }
        var isClose = false
        if end - index >= 2 && bytes[index] == ASCII.hyphen && bytes[index + 1] == ASCII.hyphen {
            isClose = true
            index += 2
        }
        while index < end {
            guard ASCII.isWhitespace(bytes[index]) else { return nil }
            index += 1
        }
        return isClose
    }

    /// Where the line break ending the line before `lineStart` begins (CRLF or bare LF).
    private func lineBreakStart(before lineStart: Int, limit: Int) -> Int {
        var index = lineStart
        if index > limit && bytes[index - 1] == ASCII.lf { index -= 1 }
        if index > limit && bytes[index - 1] == ASCII.cr { index -= 1 }
        return index
    }

    // RFC 3282 §2: Content-Language = Language-List; Language-List = Language-Tag [CFWS]
    //              *("," [CFWS] Language-Tag [CFWS])
    private static func languageTags(_ value: String?) -> [String] {
        guard let value else { return [] }
        var scanner = FieldScanner(value)
        var tags: [String] = []
        while !scanner.isAtEnd {
            scanner.skipCFWS()
            let tag = scanner.run { $0 == ASCII.comma || $0 == ASCII.openParen || ASCII.isFoldingWhitespace($0) }
            if !tag.isEmpty { tags.append(Charset.lenientString(tag)) }
            scanner.skipCFWS()
            if scanner.current == ASCII.comma || (scanner.current != nil && tag.isEmpty) { scanner.index += 1 }
        }
        return tags
    }
}
