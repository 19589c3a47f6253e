extension IMAPCommandParser {
    /// RFC 3501 §6.4.5, with RFC 7162's MODSEQ item:
    ///
    ///     fetch           = "FETCH" SP sequence-set SP ("ALL" / "FULL" / "FAST" /
    ///                       fetch-att / "(" fetch-att *(SP fetch-att) ")")
    ///
    /// The macros are expanded: ALL is FLAGS INTERNALDATE RFC822.SIZE ENVELOPE; FAST is FLAGS
    /// INTERNALDATE RFC822.SIZE; FULL is ALL and BODY.
    mutating func fetch(uid: Bool) throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let set = try sequenceSet()
        try space()
        var attributes: [IMAPFetchAttribute] = []
        if peek == IMAPCharacter.openParen {
            let limit = limits.fetchAttributes
            try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                guard attributes.count < limit else { throw IMAPSyntaxError(.tooManyFetchAttributes) }
                attributes.append(try parser.fetchAttribute())
            }
        } else {
            let start = index
            switch fetchKeyword() {
            case "ALL": attributes = [.flags, .internalDate, .rfc822Size, .envelope]
            case "FAST": attributes = [.flags, .internalDate, .rfc822Size]
            case "FULL": attributes = [.flags, .internalDate, .rfc822Size, .envelope, .body]
            default:
                index = start
                attributes = [try fetchAttribute()]
            }
        }
        return .fetch(set, attributes: attributes, uid: uid, modifiers: try fetchModifiers(uid: uid))
    }

    /// RFC 4466 §2.4 and RFC 7162 §3.1.4.1, §3.2.6:
    ///
    ///     fetch-modifiers = SP "(" fetch-modifier *(SP fetch-modifier) ")"
    ///     fetch-modifier  = chgsince-fetch-mod / "VANISHED"
    ///     chgsince-fetch-mod = "CHANGEDSINCE" SP mod-sequence-value
    ///
    /// VANISHED only in UID FETCH and only with CHANGEDSINCE (§3.2.6: otherwise BAD).
    mutating func fetchModifiers(uid: Bool) throws(IMAPSyntaxError) -> IMAPFetchModifiers {
        var modifiers = IMAPFetchModifiers()
        guard peek == IMAPCharacter.space else { return modifiers }
        try space()
        try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            switch try parser.atom(or: .invalidParameter) {
            case "CHANGEDSINCE":
                try parser.space()
                let value = try parser.number64()
                guard value > 0 else { throw IMAPSyntaxError(.invalidNumber) }
                modifiers.changedSince = value
            case "VANISHED": modifiers.vanished = true
            default: throw IMAPSyntaxError(.invalidParameter)
            }
        }
        if modifiers.vanished, !uid || modifiers.changedSince == nil { throw IMAPSyntaxError(.invalidParameter) }
        return modifiers
    }

    /// Letters, digits and dots: a fetch-att name up to its `[` or `<`, uppercased.
    mutating func fetchKeyword() -> String {
        let start = index
        while let byte = peek, IMAPCharacter.isAlpha(byte) || IMAPCharacter.isDigit(byte) || byte == UInt8(ascii: ".") {
            index += 1
        }
        return IMAPCharacter.keyword(bytes[start..<index])
    }

    ///     fetch-att       = "ENVELOPE" / "FLAGS" / "INTERNALDATE" /
    ///                       "RFC822" [".HEADER" / ".SIZE" / ".TEXT"] /
    ///                       "BODY" ["STRUCTURE"] / "UID" /
    ///                       "BODY" section ["<" number "." nz-number ">"] /
    ///                       "BODY.PEEK" section ["<" number "." nz-number ">"]
    mutating func fetchAttribute() throws(IMAPSyntaxError) -> IMAPFetchAttribute {
        guard peek != nil else { throw IMAPSyntaxError(.unexpectedEnd) }
        let keyword = fetchKeyword()
        switch keyword {
        case "ENVELOPE": return .envelope
        case "FLAGS": return .flags
        case "INTERNALDATE": return .internalDate
        case "RFC822": return .rfc822
        case "RFC822.HEADER": return .rfc822Header
        case "RFC822.SIZE": return .rfc822Size
        case "RFC822.TEXT": return .rfc822Text
        case "BODYSTRUCTURE": return .bodyStructure
        case "UID": return .uid
        case "MODSEQ": return .modseq
        case "BODY" where peek != UInt8(ascii: "["): return .body
        case "BODY", "BODY.PEEK":
            guard peek == UInt8(ascii: "[") else { throw IMAPSyntaxError(.invalidSection) }
            let section = try section()
            return .bodySection(section, partial: try partial(), peek: keyword == "BODY.PEEK")
        case "BINARY", "BINARY.PEEK":
            let part = try sectionBinary()
            return .binary(part: part, partial: try partial(), peek: keyword == "BINARY.PEEK")
        case "BINARY.SIZE":
            return .binarySize(part: try sectionBinary())
        default:
            throw IMAPSyntaxError(.unknownFetchAttribute)
        }
    }

    ///     partial         = "<" number "." nz-number ">"
    mutating func partial() throws(IMAPSyntaxError) -> IMAPPartial? {
        guard consume(UInt8(ascii: "<")) else { return nil }
        let offset = try number()
        try expect(UInt8(ascii: "."), or: .invalidSection)
        let length = try nzNumber()
        try expect(UInt8(ascii: ">"), or: .invalidSection)
        return IMAPPartial(offset: offset, length: length)
    }

    /// RFC 3516 §6:
    ///
    ///     section-binary  = "[" [section-part] "]"
    mutating func sectionBinary() throws(IMAPSyntaxError) -> [Int] {
        guard peek == UInt8(ascii: "[") else { throw IMAPSyntaxError(.invalidSection) }
        let section = try section()
        guard section.text == .full else { throw IMAPSyntaxError(.invalidSection) }
        return section.part
    }

    ///     section         = "[" [section-spec] "]"
    ///     section-spec    = section-msgtext / (section-part ["." section-text])
    ///     section-msgtext = "HEADER" / "HEADER.FIELDS" [".NOT"] SP header-list /
    ///                       "TEXT"
    ///     section-part    = nz-number *("." nz-number)
    ///     section-text    = section-msgtext / "MIME"
    mutating func section() throws(IMAPSyntaxError) -> IMAPSection {
        try expect(UInt8(ascii: "["), or: .invalidSection)
        var part: [Int] = []
        var text = IMAPSection.Text.full
        var needsText = true
        if let first = peek, IMAPCharacter.isDigit(first) {
            needsText = false
            repeat {
                guard let digit = peek, IMAPCharacter.isDigit(digit) else {
                    throw IMAPSyntaxError(.invalidSection)
                }
                part.append(Int(try nzNumber()))
                guard peek == UInt8(ascii: "."), let next = byte(at: index + 1) else { break }
                index += 1
                if !IMAPCharacter.isDigit(next) {
                    needsText = true
                    break
                }
            } while true
        }
        if needsText && peek != UInt8(ascii: "]") {
            let start = index
            while let byte = peek, IMAPCharacter.isAlpha(byte) || byte == UInt8(ascii: ".") { index += 1 }
            switch IMAPCharacter.keyword(bytes[start..<index]) {
            case "HEADER": text = .header
            case "TEXT": text = .text
            case "MIME" where !part.isEmpty: text = .mime
            case "HEADER.FIELDS":
                try space()
                text = .headerFields(try headerList())
            case "HEADER.FIELDS.NOT":
                try space()
                text = .headerFieldsNot(try headerList())
            default: throw IMAPSyntaxError(.invalidSection)
            }
        } else if needsText && !part.isEmpty {
            throw IMAPSyntaxError(.invalidSection)  // "BODY[1.]"
        }
        try expect(UInt8(ascii: "]"), or: .invalidSection)
        return IMAPSection(part: part, text: text)
    }

    ///     header-list     = "(" header-fld-name *(SP header-fld-name) ")"
    ///     header-fld-name = astring
    ///
    /// Names are kept as sent; RFC 5322 §3.6.8 allows printable US-ASCII except ":".
    mutating func headerList() throws(IMAPSyntaxError) -> [String] {
        var names: [String] = []
        try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            names.append(try parser.headerFieldName())
        }
        return names
    }

    mutating func headerFieldName() throws(IMAPSyntaxError) -> String {
        let name = try astring()
        guard !name.isEmpty, name.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
            throw IMAPSyntaxError(.invalidHeaderName)
        }
        return String(decoding: name, as: UTF8.self)
    }
}
