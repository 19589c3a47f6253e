extension IMAPCommandParser {
    /// RFC 3501 §6.4.4:
    ///
    ///     search          = "SEARCH" [SP "CHARSET" SP astring] 1*(SP search-key)
    ///
    /// One key is returned as itself, several as `.and`.
    mutating func search(uid: Bool) throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        var charset: String?
        var returns: IMAPSearchReturn?
        // RFC 4731 §7: search-return-opts = SP "RETURN" SP "(" [search-return-opt
        // *(SP search-return-opt)] ")" ; search-return-opt = "MIN" / "MAX" / "ALL" / "COUNT"
        // (and RFC 5182's "SAVE").
        let beforeReturn = index
        if (try? atom()) == "RETURN", peek == IMAPCharacter.space {
            try space()
            var options = IMAPSearchReturn()
            var any = false
            try parenthesised(allowEmpty: true) { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                any = true
                switch try parser.atom(or: .invalidParameter) {
                case "MIN": options.min = true
                case "MAX": options.max = true
                case "ALL": options.all = true
                case "COUNT": options.count = true
                case "SAVE": options.save = true
                default: throw IMAPSyntaxError(.invalidParameter)
                }
            }
            if !any { options.all = true }
            returns = options
            try space()
        } else {
            index = beforeReturn
        }
        let start = index
        if (try? atom()) == "CHARSET" {
            try space()
            charset = String(decoding: try astring(), as: UTF8.self)
            try space()
        } else {
            index = start
        }
        var keys = [try searchKey(depth: 0)]
        while peek == IMAPCharacter.space {
            try space()
            keys.append(try searchKey(depth: 0))
        }
        return .search(charset: charset, key: keys.count == 1 ? keys[0] : .and(keys), uid: uid, returns: returns)
    }

    /// RFC 5256 §5:
    ///
    ///     sort            = ["UID" SP] "SORT" SP sort-criteria SP search-criteria
    ///     sort-criteria   = "(" sort-criterion *(SP sort-criterion) ")"
    ///     sort-criterion  = ["REVERSE" SP] sort-key
    ///     sort-key        = "ARRIVAL" / "CC" / "DATE" / "FROM" / "SIZE" / "SUBJECT" / "TO"
    ///     search-criteria = charset 1*(SP search-key)
    mutating func sort(uid: Bool) throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        var criteria: [IMAPSortCriterion] = []
        try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            var word = try parser.atom(or: .invalidParameter)
            var reverse = false
            if word == "REVERSE" {
                reverse = true
                try parser.space()
                word = try parser.atom(or: .invalidParameter)
            }
            guard let key = IMAPSortCriterion.Key(rawValue: word) else { throw IMAPSyntaxError(.invalidParameter) }
            criteria.append(IMAPSortCriterion(key, reverse: reverse))
        }
        try space()
        let (charset, key) = try searchCriteria()
        return .sort(criteria: criteria, charset: charset, key: key, uid: uid)
    }

    ///     thread          = ["UID" SP] "THREAD" SP thread-alg SP search-criteria
    ///     thread-alg      = "ORDEREDSUBJECT" / "REFERENCES" / thread-alg-ext
    mutating func thread(uid: Bool) throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let algorithm = try atom(or: .invalidParameter)
        try space()
        let (charset, key) = try searchCriteria()
        return .thread(algorithm: algorithm, charset: charset, key: key, uid: uid)
    }

    /// `charset 1*(SP search-key)`: the charset is not optional here (RFC 5256 §3).
    mutating func searchCriteria() throws(IMAPSyntaxError) -> (String, IMAPSearchKey) {
        let charset = String(decoding: try astring(), as: UTF8.self)
        var keys: [IMAPSearchKey] = []
        repeat {
            try space()
            keys.append(try searchKey(depth: 0))
        } while peek == IMAPCharacter.space
        return (charset, keys.count == 1 ? keys[0] : .and(keys))
    }

    ///     search-key      = "ALL" / "ANSWERED" / "BCC" SP astring /
    ///                       "BEFORE" SP date / "BODY" SP astring /
    ///                       "CC" SP astring / "DELETED" / "FLAGGED" /
    ///                       "FROM" SP astring / "KEYWORD" SP flag-keyword /
    ///                       "NEW" / "OLD" / "ON" SP date / "RECENT" / "SEEN" /
    ///                       "SINCE" SP date / "SUBJECT" SP astring /
    ///                       "TEXT" SP astring / "TO" SP astring /
    ///                       "UNANSWERED" / "UNDELETED" / "UNFLAGGED" /
    ///                       "UNKEYWORD" SP flag-keyword / "UNSEEN" /
    ///                       "DRAFT" / "HEADER" SP header-fld-name SP astring /
    ///                       "LARGER" SP number / "NOT" SP search-key /
    ///                       "OR" SP search-key SP search-key /
    ///                       "SENTBEFORE" SP date / "SENTON" SP date /
    ///                       "SENTSINCE" SP date / "SMALLER" SP number /
    ///                       "UID" SP sequence-set / "UNDRAFT" / sequence-set /
    ///                       "(" search-key *(SP search-key) ")"
    ///
    /// `depth` counts the NOT, OR and parentheses around this key, against
    /// `IMAPLimits.searchDepth`.
    mutating func searchKey(depth: Int) throws(IMAPSyntaxError) -> IMAPSearchKey {
        guard let first = peek else { throw IMAPSyntaxError(.unexpectedEnd) }
        if first == IMAPCharacter.openParen {
            let inner = try nested(depth)
            var keys: [IMAPSearchKey] = []
            try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                keys.append(try parser.searchKey(depth: inner))
            }
            return keys.count == 1 ? keys[0] : .and(keys)
        }
        if IMAPCharacter.isDigit(first) || first == UInt8(ascii: "*") || first == UInt8(ascii: "$") {
            return .sequence(try sequenceSet())
        }
        let keyword = try atom(or: .unknownSearchKey)
        switch keyword {
        case "ALL": return .all
        case "ANSWERED": return .answered
        case "DELETED": return .deleted
        case "DRAFT": return .draft
        case "FLAGGED": return .flagged
        case "NEW": return .new
        case "OLD": return .old
        case "RECENT": return .recent
        case "SEEN": return .seen
        case "UNANSWERED": return .unanswered
        case "UNDELETED": return .undeleted
        case "UNDRAFT": return .undraft
        case "UNFLAGGED": return .unflagged
        case "UNSEEN": return .unseen
        case "KEYWORD", "UNKEYWORD":
            // flag-keyword = atom
            try space()
            let start = index
            while let byte = peek, IMAPCharacter.isAtomChar(byte) { index += 1 }
            guard index > start else { throw IMAPSyntaxError(peek == nil ? .unexpectedEnd : .invalidFlag) }
            let flag = String(decoding: bytes[start..<index], as: UTF8.self)
            return keyword == "KEYWORD" ? .keyword(flag) : .unkeyword(flag)
        case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
            try space()
            let value = try astring()
            switch keyword {
            case "BCC": return .bcc(value)
            case "BODY": return .body(value)
            case "CC": return .cc(value)
            case "FROM": return .from(value)
            case "SUBJECT": return .subject(value)
            case "TEXT": return .text(value)
            default: return .to(value)
            }
        case "HEADER":
            try space()
            let name = try headerFieldName()
            try space()
            return .header(name, try astring())
        case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
            try space()
            let day = try date()
            switch keyword {
            case "BEFORE": return .before(day)
            case "ON": return .on(day)
            case "SINCE": return .since(day)
            case "SENTBEFORE": return .sentBefore(day)
            case "SENTON": return .sentOn(day)
            default: return .sentSince(day)
            }
        case "LARGER", "SMALLER":
            try space()
            let size = try number()
            return keyword == "LARGER" ? .larger(size) : .smaller(size)
        case "UID":
            try space()
            return .uid(try sequenceSet())
        case "NOT":
            let inner = try nested(depth)
            try space()
            return .not(try searchKey(depth: inner))
        case "OR":
            let inner = try nested(depth)
            try space()
            let first = try searchKey(depth: inner)
            try space()
            return .or(first, try searchKey(depth: inner))
        case "MODSEQ":
            return try modseq()
        default:
            throw IMAPSyntaxError(.unknownSearchKey)
        }
    }

    /// The depth of a key inside NOT, OR or a parenthesis at `depth`, if the limit allows it.
    func nested(_ depth: Int) throws(IMAPSyntaxError) -> Int {
        guard depth < limits.searchDepth else { throw IMAPSyntaxError(.searchTooDeep) }
        return depth + 1
    }

    /// RFC 7162 §3.1.5 and §7:
    ///
    ///     search-modsequence = "MODSEQ" [search-modseq-ext] SP
    ///                          mod-sequence-valzer
    ///     search-modseq-ext = SP entry-name SP entry-type-req
    ///     entry-name        = entry-flag-name
    ///     entry-flag-name   = DQUOTE "/flags/" attr-flag DQUOTE
    ///     entry-type-req    = entry-type-resp / "all"
    ///     entry-type-resp   = "priv" / "shared"
    ///     mod-sequence-valzer = "0" / mod-sequence-value
    ///
    /// The entry is accepted and ignored: this server keeps one mod-sequence per message.
    mutating func modseq() throws(IMAPSyntaxError) -> IMAPSearchKey {
        try space()
        if peek == IMAPCharacter.quote {
            _ = try string()
            try space()
            guard ["PRIV", "SHARED", "ALL"].contains(try atom()) else { throw IMAPSyntaxError(.unknownSearchKey) }
            try space()
        }
        return .modseq(try number64())
    }

    /// RFC 9051 §9 (and RFC 7162's mod-sequence-valzer, which allows 0):
    ///
    ///     number64        = 1*DIGIT ; Unsigned 63-bit integer, 0 <= number64 <= 9,223,372,036,854,775,807
    mutating func number64() throws(IMAPSyntaxError) -> Int64 {
        let start = index
        var value: Int64 = 0
        while let byte = peek, IMAPCharacter.isDigit(byte) {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { throw IMAPSyntaxError(.numberTooLarge) }
            value = sum
            index += 1
        }
        guard index > start else { throw IMAPSyntaxError(peek == nil ? .unexpectedEnd : .invalidNumber) }
        return value
    }
}
