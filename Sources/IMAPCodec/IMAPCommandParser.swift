import MailCore
import SASL

/// Parses one whole IMAP command (RFC 3501 §9 `command`) into the AST: the line or lines the
/// framer collected, without the final CRLF, each literal still written as `{n}` CRLF followed
/// by its n octets (the framer has already read them, and checked their sizes).
///
///     command         = tag SP (command-any / command-auth / command-nonauth /
///                       command-select) CRLF
///
/// Keywords are case-insensitive (§9 note 1); SP is exactly one space (note 2); nothing may
/// follow the last argument. A failure keeps the tag, when one was read, for `tag BAD`.
public struct IMAPCommandParser {
    let bytes: [UInt8]
    var index: Int
    let limits: IMAPLimits
    var parenthesisDepth = 0
    var readTag: IMAPTag?
    var name: IMAPCommandName?

    init(_ bytes: [UInt8], limits: IMAPLimits) {
        self.bytes = bytes
        self.index = 0
        self.limits = limits
    }

    /// Parses `bytes` as one tagged command; throws with the tag kept when the tag was read.
    public static func parse(_ bytes: [UInt8], limits: IMAPLimits = IMAPLimits()) throws(IMAPSyntaxError) -> IMAPTaggedCommand {
        var parser = IMAPCommandParser(bytes, limits: limits)
        do throws(IMAPSyntaxError) {
            let tag = try parser.parseTag()
            parser.readTag = tag
            try parser.space()
            let command = try parser.command()
            try parser.end()
            return IMAPTaggedCommand(tag: tag, command: command)
        } catch {
            throw IMAPSyntaxError(error.code, tag: parser.readTag, command: parser.name)
        }
    }

    /// The start of APPEND up to and including its message literal's `{n}` or `{n+}`, which is
    /// where the framer stops to ask the gateway (§6.3.11):
    ///
    ///     append          = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP
    ///                       literal
    static func parseAppend(_ bytes: [UInt8], limits: IMAPLimits) throws(IMAPSyntaxError) -> IMAPAppendHeader {
        var parser = IMAPCommandParser(bytes, limits: limits)
        do throws(IMAPSyntaxError) {
            let tag = try parser.parseTag()
            parser.readTag = tag
            try parser.space()
            guard try parser.atom() == "APPEND" else { throw IMAPSyntaxError(.unknownCommand) }
            parser.name = .append
            try parser.space()
            let mailbox = try parser.mailbox()
            try parser.space()
            var flags: [String] = []
            if parser.peek == IMAPCharacter.openParen {
                flags = try parser.flagList()
                try parser.space()
            }
            var date: IMAPDateTime?
            if parser.peek == IMAPCharacter.quote {
                date = try parser.dateTime()
                try parser.space()
            }
            // RFC 3516 §4.4: the message may be a literal8, `~{n}`, which may hold any octet.
            if parser.peek == UInt8(ascii: "~"), parser.byte(at: parser.index + 1) == IMAPCharacter.openBrace { parser.index += 1 }
            guard parser.peek == IMAPCharacter.openBrace else { throw IMAPSyntaxError(.missingLiteral) }
            let (size, synchronizing) = try parser.literalPrefix()
            try parser.end()
            return IMAPAppendHeader(
                tag: tag, mailbox: mailbox, flags: flags, date: date, size: size, synchronizing: synchronizing)
        } catch {
            throw IMAPSyntaxError(error.code, tag: parser.readTag, command: parser.name)
        }
    }

    // MARK: Commands

    ///     command-any     = "CAPABILITY" / "LOGOUT" / "NOOP" / x-command
    ///     command-auth    = append / create / delete / examine / list / lsub /
    ///                       rename / select / status / subscribe / unsubscribe
    ///     command-nonauth = login / authenticate / "STARTTLS"
    ///     command-select  = "CHECK" / "CLOSE" / "EXPUNGE" / copy / fetch / store /
    ///                       uid / search
    ///     uid             = "UID" SP (copy / fetch / search / store)
    mutating func command() throws(IMAPSyntaxError) -> IMAPCommand {
        var word = try atom(or: .unknownCommand)
        var uid = false
        if word == "UID" {
            uid = true
            try space()
            word = try atom(or: .unknownCommand)
            // RFC 4315 §2.1 UID EXPUNGE, RFC 6851 §3.3 UID MOVE.
            // RFC 5256 §3 UID SORT and UID THREAD.
            guard ["FETCH", "STORE", "COPY", "SEARCH", "EXPUNGE", "MOVE", "SORT", "THREAD"].contains(word) else {
                throw IMAPSyntaxError(.unknownCommand)
            }
        }
        guard let name = IMAPCommandName(rawValue: word) else { throw IMAPSyntaxError(.unknownCommand) }
        self.name = name
        switch name {
        case .capability: return .capability
        case .noop: return .noop
        case .logout: return .logout
        case .startTLS: return .startTLS
        case .check: return .check
        case .close: return .close
        case .expunge where uid:
            // RFC 4315 §2.1: uid-expunge = "UID" SP "EXPUNGE" SP sequence-set
            try space()
            return .uidExpunge(try sequenceSet())
        case .expunge: return .expunge
        case .unselect: return .unselect
        case .namespace: return .namespace
        case .compress:
            // RFC 4978 §5: command-auth =/ compress ; compress = "COMPRESS" SP algorithm ; algorithm = "DEFLATE"
            try space()
            return .compress(mechanism: try atom())
        case .getQuota:
            // RFC 9208 §7: getquota = "GETQUOTA" SP quota-root-name ; quota-root-name = astring
            try space()
            return .getQuota(root: try astring())
        case .getQuotaRoot:
            // getquotaroot = "GETQUOTAROOT" SP mailbox
            try space()
            return .getQuotaRoot(try mailbox())
        case .idle: return .idle
        case .id: return try id()
        case .enable:
            // RFC 5161 §3.1: command-any =/ "ENABLE" 1*(SP capability)
            var names: [String] = []
            repeat {
                try space()
                names.append(try atom().uppercased())
            } while peek == IMAPCharacter.space
            return .enable(names)
        case .move:
            // RFC 6851 §3.1: move = "MOVE" SP sequence-set SP mailbox
            try space()
            let set = try sequenceSet()
            try space()
            return .move(set, to: try mailbox(), uid: uid)
        case .authenticate: return try authenticate()
        case .login:
            // login = "LOGIN" SP userid SP password ; userid = astring ; password = astring
            try space()
            let username = try astring()
            try space()
            return .login(username: username, password: try astring())
        case .select, .examine:
            // select = "SELECT" SP mailbox [select-params]   (RFC 4466 §2.1)
            try space()
            let mailbox = try mailbox()
            let parameters = try selectParameters()
            return name == .select ? .select(mailbox, parameters: parameters) : .examine(mailbox, parameters: parameters)
        case .create:
            try space()
            let mailbox = try mailbox()
            return .create(mailbox, uses: try createParameters())
        case .delete, .subscribe, .unsubscribe:
            try space()
            let mailbox = try mailbox()
            switch name {
            case .delete: return .delete(mailbox)
            case .subscribe: return .subscribe(mailbox)
            default: return .unsubscribe(mailbox)
            }
        case .rename:
            // rename = "RENAME" SP mailbox SP mailbox
            try space()
            let from = try mailbox()
            try space()
            return .rename(from: from, to: try mailbox())
        case .list: return .list(try list())
        case .lsub:
            // lsub = "LSUB" SP mailbox SP list-mailbox. The reference stays as sent (no INBOX
            // normalisation): it is a prefix, not a mailbox.
            try space()
            let reference = try astring()
            try space()
            return .lsub(reference: reference, pattern: try listMailbox())
        case .status: return try status()
        case .append: throw IMAPSyntaxError(.missingLiteral)
        case .search: return try search(uid: uid)
        case .sort: return try sort(uid: uid)
        case .thread: return try thread(uid: uid)
        case .fetch: return try fetch(uid: uid)
        case .store: return try store(uid: uid)
        case .copy:
            // copy = "COPY" SP sequence-set SP mailbox
            try space()
            let set = try sequenceSet()
            try space()
            return .copy(set, to: try mailbox(), uid: uid)
        }
    }

    /// RFC 2971 §4:
    ///
    ///     id ::= "ID" SPACE id_params_list
    ///     id_params_list ::= "(" #(string SPACE nstring) ")" / nil
    ///
    /// At most 30 fields (§3.3), each name at most 30 and each value at most 1024 octets.
    mutating func id() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        if peek != IMAPCharacter.openParen {
            guard try atom().uppercased() == "NIL" else { throw IMAPSyntaxError(.invalidParameter) }
            return .id(nil)
        }
        var fields: [IMAPIDField] = []
        var pending: String?
        try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            if let name = pending {
                pending = nil
                let value: String?
                if parser.peek == IMAPCharacter.quote || parser.peek == IMAPCharacter.openBrace {
                    value = String(decoding: try parser.string(), as: UTF8.self)
                } else {
                    guard try parser.atom().uppercased() == "NIL" else { throw IMAPSyntaxError(.invalidParameter) }
                    value = nil
                }
                guard fields.count < 30, name.utf8.count <= 30, (value?.utf8.count ?? 0) <= 1024 else {
                    throw IMAPSyntaxError(.invalidParameter)
                }
                fields.append(IMAPIDField(name: name, value: value))
            } else {
                pending = String(decoding: try parser.string(), as: UTF8.self)
            }
        }
        guard pending == nil else { throw IMAPSyntaxError(.invalidParameter) }
        return .id(fields)
    }

    /// RFC 4959 §3:
    ///
    ///     authenticate  = "AUTHENTICATE" SP auth-type [SP (base64 / "=")]
    ///                     *(CRLF base64)
    mutating func authenticate() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let mechanism = try atom()
        guard peek == IMAPCharacter.space else { return .authenticate(mechanism: mechanism, initialResponse: nil) }
        try space()
        let start = index
        while let byte = peek, byte != IMAPCharacter.space { index += 1 }
        guard case .success(let response) = SASLInitialResponse.parse(bytes[start..<index]) else {
            throw IMAPSyntaxError(.invalidBase64)
        }
        return .authenticate(mechanism: mechanism, initialResponse: response.bytes)
    }

    /// RFC 3501 §6.3.10, with RFC 7162's HIGHESTMODSEQ and RFC 8438's SIZE:
    ///
    /// RFC 5258 §6, with RFC 5819's and RFC 6154's options:
    ///
    ///     list            = "LIST" [SP list-select-opts] SP mailbox SP mbox-or-pat
    ///                       [SP list-return-opts]
    ///     list-select-opts = "(" [list-select-opt *(SP list-select-opt)] ")"
    ///     mbox-or-pat     = list-mailbox / patterns
    ///     patterns        = "(" list-mailbox *(SP list-mailbox) ")"
    ///     list-return-opts = "RETURN" SP "(" [return-option *(SP return-option)] ")"
    ///     return-option   = "SUBSCRIBED" / "CHILDREN" / "SPECIAL-USE" /
    ///                       "STATUS" SP "(" status-att *(SP status-att) ")"
    ///
    /// An unknown option is BAD (§3), and so is RECURSIVEMATCH without an option it modifies
    /// (§3.1). The reference stays as sent (no INBOX normalisation): it is a prefix.
    mutating func list() throws(IMAPSyntaxError) -> IMAPListCommand {
        try space()
        var extended = false
        var selection = Set<IMAPListCommand.Selection>()
        if peek == IMAPCharacter.openParen {
            extended = true
            try parenthesised(allowEmpty: true) { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                guard let option = IMAPListCommand.Selection(rawValue: try parser.atom(or: .invalidParameter)) else {
                    throw IMAPSyntaxError(.invalidParameter)
                }
                selection.insert(option)
            }
            // RFC 6154 §6 makes SPECIAL-USE an independent option, so only SUBSCRIBED is one
            // RECURSIVEMATCH modifies.
            if selection.contains(.recursiveMatch), !selection.contains(.subscribed) {
                throw IMAPSyntaxError(.invalidParameter)
            }
            try space()
        }
        let reference = try astring()
        try space()
        var patterns: [[UInt8]] = []
        if peek == IMAPCharacter.openParen {
            extended = true
            try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                patterns.append(try parser.listMailbox())
            }
        } else {
            patterns.append(try listMailbox())
        }
        var returns = IMAPListCommand.Returns()
        if peek == IMAPCharacter.space {
            try space()
            guard try atom() == "RETURN" else { throw IMAPSyntaxError(.invalidParameter) }
            extended = true
            try space()
            try parenthesised(allowEmpty: true) { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                switch try parser.atom(or: .invalidParameter) {
                case "SUBSCRIBED": returns.subscribed = true
                case "CHILDREN": returns.children = true
                case "SPECIAL-USE": returns.specialUse = true
                case "STATUS":
                    try parser.space()
                    var items: [IMAPStatusItem] = []
                    try parser.parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                        guard let item = IMAPStatusItem(rawValue: try parser.atom(or: .unknownStatusItem)) else {
                            throw IMAPSyntaxError(.unknownStatusItem)
                        }
                        items.append(item)
                    }
                    returns.status = items
                default: throw IMAPSyntaxError(.invalidParameter)
                }
            }
        }
        // §3.1: the SUBSCRIBED selection option implies the SUBSCRIBED return option.
        if selection.contains(.subscribed) { returns.subscribed = true }
        // RFC 6154 §2: and SPECIAL-USE implies SPECIAL-USE.
        if selection.contains(.specialUse) { returns.specialUse = true }
        return IMAPListCommand(selection: selection, reference: reference, patterns: patterns, returns: returns, extended: extended)
    }

    /// RFC 4466 §2.2 create parameters, of which RFC 6154 §6 defines the one there is:
    ///
    ///     create-params   = SP "(" create-param *( SP create-param) ")"
    ///     create-param    = "USE" SP "(" [use-attr *(SP use-attr)] ")"
    ///     use-attr        = "\" atom
    mutating func createParameters() throws(IMAPSyntaxError) -> [String] {
        guard peek == IMAPCharacter.space else { return [] }
        try space()
        var uses: [String] = []
        try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            guard try parser.atom(or: .invalidParameter) == "USE" else { throw IMAPSyntaxError(.invalidParameter) }
            try parser.space()
            try parser.parenthesised(allowEmpty: true) { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                let attribute = try parser.flag()
                guard attribute.hasPrefix("\\") else { throw IMAPSyntaxError(.invalidParameter) }
                uses.append(attribute)
            }
        }
        return uses
    }

    ///     status          = "STATUS" SP mailbox SP
    ///                       "(" status-att *(SP status-att) ")"
    mutating func status() throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let mailbox = try mailbox()
        try space()
        var items: [IMAPStatusItem] = []
        try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            guard let item = IMAPStatusItem(rawValue: try parser.atom(or: .unknownStatusItem)) else {
                throw IMAPSyntaxError(.unknownStatusItem)
            }
            items.append(item)
        }
        return .status(mailbox, items: items)
    }

    /// RFC 3501 §6.4.6:
    ///
    ///     store           = "STORE" SP sequence-set SP store-att-flags
    ///     store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP
    ///                       (flag-list / (flag *(SP flag)))
    mutating func store(uid: Bool) throws(IMAPSyntaxError) -> IMAPCommand {
        try space()
        let set = try sequenceSet()
        try space()
        // RFC 7162 §3.1.3: store-modifiers = SP "(" "UNCHANGEDSINCE" SP mod-sequence-valzer ")"
        var unchangedSince: Int64?
        if peek == IMAPCharacter.openParen {
            try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
                guard try parser.atom(or: .invalidParameter) == "UNCHANGEDSINCE" else { throw IMAPSyntaxError(.invalidParameter) }
                try parser.space()
                unchangedSince = try parser.number64()
            }
            try space()
        }
        var operation = IMAPStoreAction.Operation.replace
        if peek == UInt8(ascii: "+") {
            operation = .add
            index += 1
        } else if peek == UInt8(ascii: "-") {
            operation = .remove
            index += 1
        }
        let item = try atom(or: .invalidStoreAction)
        guard item == "FLAGS" || item == "FLAGS.SILENT" else { throw IMAPSyntaxError(.invalidStoreAction) }
        try space()
        var flags: [String]
        if peek == IMAPCharacter.openParen {
            flags = try flagList()
        } else {
            flags = [try flag()]
            while peek == IMAPCharacter.space {
                try space()
                flags.append(try flag())
            }
        }
        return .store(
            set, IMAPStoreAction(operation: operation, silent: item == "FLAGS.SILENT", flags: flags, unchangedSince: unchangedSince),
            uid: uid)
    }

    /// RFC 4466 §2.1 (used by RFC 7162 CONDSTORE and QRESYNC):
    ///
    ///     select-params = SP "(" select-param *(SP select-param) ")"
    ///     select-param = select-param-name [SP select-param-value]
    ///     select-param-name = tagged-ext-label
    ///     select-param-value = tagged-ext-val
    ///     tagged-ext-label = tagged-label-fchar *tagged-label-char
    ///     tagged-label-fchar = ALPHA / "-" / "_" / "."
    ///     tagged-label-char = tagged-label-fchar / DIGIT / ":"
    ///     tagged-ext-val = tagged-ext-simple / "(" [tagged-ext-comp] ")"
    ///     tagged-ext-simple = sequence-set / number / number64
    ///
    /// A value starts with a digit, `*` or `(`, a name never does, which tells them apart.
    mutating func selectParameters() throws(IMAPSyntaxError) -> [IMAPSelectParameter] {
        guard peek == IMAPCharacter.space else { return [] }
        try space()
        var parameters: [IMAPSelectParameter] = []
        try parenthesised { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            let nameStart = parser.index
            while let byte = parser.peek,
                IMAPCharacter.isAlpha(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: ".")
                    || (parser.index > nameStart && (IMAPCharacter.isDigit(byte) || byte == UInt8(ascii: ":")))
            {
                parser.index += 1
            }
            guard parser.index > nameStart else { throw IMAPSyntaxError(.invalidParameter) }
            let name = IMAPCharacter.keyword(parser.bytes[nameStart..<parser.index])
            var value: String?
            if parser.peek == IMAPCharacter.space, let next = parser.byte(at: parser.index + 1),
                IMAPCharacter.isDigit(next) || next == UInt8(ascii: "*") || next == IMAPCharacter.openParen
            {
                try parser.space()
                let valueStart = parser.index
                if next == IMAPCharacter.openParen {
                    try parser.taggedExtensionValue()
                } else {
                    while let byte = parser.peek,
                        IMAPCharacter.isDigit(byte) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ",")
                            || byte == UInt8(ascii: "*")
                    {
                        parser.index += 1
                    }
                }
                value = String(decoding: parser.bytes[valueStart..<parser.index], as: UTF8.self)
            }
            parameters.append(IMAPSelectParameter(name: name, value: value))
        }
        return parameters
    }

    /// RFC 4466 §2.1, kept as text for the extensions that define its meaning:
    ///
    ///     tagged-ext-comp = astring / tagged-ext-comp *(SP tagged-ext-comp) /
    ///                       "(" tagged-ext-comp ")"
    mutating func taggedExtensionValue() throws(IMAPSyntaxError) {
        try parenthesised(allowEmpty: true) { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            if parser.peek == IMAPCharacter.openParen {
                try parser.taggedExtensionValue()
            } else {
                _ = try parser.astring()
            }
        }
    }

    // MARK: Arguments

    var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    func byte(at position: Int) -> UInt8? { position < bytes.count ? bytes[position] : nil }

    /// `SP`: exactly one space.
    mutating func space() throws(IMAPSyntaxError) {
        guard let byte = peek else { throw IMAPSyntaxError(.unexpectedEnd) }
        guard byte == IMAPCharacter.space else { throw IMAPSyntaxError(.expectedSpace) }
        index += 1
    }

    mutating func expect(_ byte: UInt8, or code: IMAPSyntaxError.Code) throws(IMAPSyntaxError) {
        guard peek == byte else { throw IMAPSyntaxError(peek == nil ? .unexpectedEnd : code) }
        index += 1
    }

    /// The end of the command: anything left over is an error.
    func end() throws(IMAPSyntaxError) {
        guard index == bytes.count else { throw IMAPSyntaxError(.unexpectedCharacters) }
    }

    ///     tag             = 1*<any ASTRING-CHAR except "+">
    mutating func parseTag() throws(IMAPSyntaxError) -> IMAPTag {
        let start = index
        while let byte = peek, IMAPCharacter.isTagChar(byte) { index += 1 }
        guard index > start, peek == IMAPCharacter.space else { throw IMAPSyntaxError(.invalidTag) }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// `atom = 1*ATOM-CHAR`, uppercased: the keywords, which are case-insensitive. `.` belongs to
    /// ATOM-CHAR, so `FLAGS.SILENT` and `BODY.PEEK` are one atom; `[` does too, so callers that
    /// expect a section stop there with `keyword(until:)`.
    mutating func atom(or code: IMAPSyntaxError.Code = .invalidAtom) throws(IMAPSyntaxError) -> String {
        let start = index
        while let byte = peek, IMAPCharacter.isAtomChar(byte) { index += 1 }
        guard index > start else { throw IMAPSyntaxError(peek == nil ? .unexpectedEnd : code) }
        return IMAPCharacter.keyword(bytes[start..<index])
    }

    ///     astring         = 1*ASTRING-CHAR / string
    mutating func astring() throws(IMAPSyntaxError) -> [UInt8] {
        switch peek {
        case nil: throw IMAPSyntaxError(.unexpectedEnd)
        case IMAPCharacter.quote, IMAPCharacter.openBrace: return try string()
        default:
            let start = index
            while let byte = peek, IMAPCharacter.isAStringChar(byte) { index += 1 }
            guard index > start else { throw IMAPSyntaxError(.invalidString) }
            return Array(bytes[start..<index])
        }
    }

    ///     string          = quoted / literal
    ///     quoted          = DQUOTE *QUOTED-CHAR DQUOTE
    ///     QUOTED-CHAR     = <any TEXT-CHAR except quoted-specials> /
    ///                       "\" quoted-specials
    ///
    /// Octets above 0x7F are accepted in quoted strings, as RFC 9051 §9 (`QUOTED-CHAR =/
    /// UTF8-2 ...`) and RFC 6855 allow, since clients send UTF-8 passwords and search text.
    mutating func string() throws(IMAPSyntaxError) -> [UInt8] {
        if peek == IMAPCharacter.openBrace { return try literal() }
        try expect(IMAPCharacter.quote, or: .invalidString)
        var result: [UInt8] = []
        while true {
            guard let byte = peek else { throw IMAPSyntaxError(.invalidString) }
            index += 1
            switch byte {
            case IMAPCharacter.quote:
                return result
            case IMAPCharacter.backslash:
                guard let escaped = peek, escaped == IMAPCharacter.quote || escaped == IMAPCharacter.backslash else {
                    throw IMAPSyntaxError(.invalidString)
                }
                index += 1
                result.append(escaped)
            case IMAPCharacter.cr, IMAPCharacter.lf, 0:
                throw IMAPSyntaxError(.invalidString)
            default:
                result.append(byte)
            }
        }
    }

    ///     literal         = "{" number "}" CRLF *CHAR8
    ///
    /// with RFC 7888's `{n+}`. The framer checked n against the limits and read the octets.
    mutating func literal() throws(IMAPSyntaxError) -> [UInt8] {
        let (size, _) = try literalPrefix()
        guard byte(at: index) == IMAPCharacter.cr, byte(at: index + 1) == IMAPCharacter.lf,
            bytes.count - index - 2 >= size
        else { throw IMAPSyntaxError(.invalidLiteral) }
        index += 2
        defer { index += size }
        return Array(bytes[index..<(index + size)])
    }

    /// `"{" number ["+"] "}"`: the size and whether the literal is synchronizing. The size is
    /// read as far as `Int` goes, so an APPEND over 4 GiB is still reported (RFC 9051 §9
    /// `number64`) and refused by size rather than by syntax.
    mutating func literalPrefix() throws(IMAPSyntaxError) -> (size: Int, synchronizing: Bool) {
        try expect(IMAPCharacter.openBrace, or: .invalidLiteral)
        let start = index
        var size = 0
        while let byte = peek, IMAPCharacter.isDigit(byte) {
            let (shifted, overflowA) = size.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(Int(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { throw IMAPSyntaxError(.invalidLiteral) }
            size = sum
            index += 1
        }
        guard index > start else { throw IMAPSyntaxError(.invalidLiteral) }
        let synchronizing = peek != IMAPCharacter.plus
        if !synchronizing { index += 1 }
        try expect(IMAPCharacter.closeBrace, or: .invalidLiteral)
        return (size, synchronizing)
    }

    ///     mailbox         = "INBOX" / astring
    ///                         ; INBOX is case-insensitive.
    mutating func mailbox() throws(IMAPSyntaxError) -> IMAPMailbox {
        let name = try astring()
        if name.count == 5, IMAPCharacter.keyword(name) == "INBOX" { return IMAPMailbox("INBOX") }
        return IMAPMailbox(name)
    }

    ///     list-mailbox    = 1*list-char / string
    mutating func listMailbox() throws(IMAPSyntaxError) -> [UInt8] {
        switch peek {
        case nil: throw IMAPSyntaxError(.unexpectedEnd)
        case IMAPCharacter.quote, IMAPCharacter.openBrace: return try string()
        default:
            let start = index
            while let byte = peek, IMAPCharacter.isListChar(byte) { index += 1 }
            guard index > start else { throw IMAPSyntaxError(.invalidString) }
            return Array(bytes[start..<index])
        }
    }

    ///     number          = 1*DIGIT
    ///                         ; Unsigned 32-bit integer
    mutating func number() throws(IMAPSyntaxError) -> UInt32 {
        let start = index
        var value: UInt32 = 0
        while let byte = peek, IMAPCharacter.isDigit(byte) {
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(UInt32(byte - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { throw IMAPSyntaxError(.numberTooLarge) }
            value = sum
            index += 1
        }
        guard index > start else { throw IMAPSyntaxError(peek == nil ? .unexpectedEnd : .invalidNumber) }
        return value
    }

    ///     nz-number       = digit-nz *DIGIT
    mutating func nzNumber() throws(IMAPSyntaxError) -> UInt32 {
        guard let first = peek, first != UInt8(ascii: "0") else { throw IMAPSyntaxError(.invalidNumber) }
        return try number()
    }

    ///     sequence-set    = (seq-number / seq-range) *("," sequence-set)
    ///     seq-range       = seq-number ":" seq-number
    ///     seq-number      = nz-number / "*"
    mutating func sequenceSet() throws(IMAPSyntaxError) -> IMAPSequenceSet {
        // RFC 5182 §4: sequence-set =/ seq-last-command ; seq-last-command = "$"
        if consume(UInt8(ascii: "$")) { return .saved }
        var ranges: [IMAPSequenceSet.Range] = []
        repeat {
            guard ranges.count < limits.sequenceRanges else { throw IMAPSyntaxError(.tooManyRanges) }
            let first = try sequenceNumber()
            var last = first
            if peek == UInt8(ascii: ":") {
                index += 1
                last = try sequenceNumber()
            }
            ranges.append(IMAPSequenceSet.Range(first, last))
        } while consume(UInt8(ascii: ","))
        return IMAPSequenceSet(ranges)
    }

    mutating func sequenceNumber() throws(IMAPSyntaxError) -> IMAPSequenceNumber {
        if consume(UInt8(ascii: "*")) { return .star }
        guard let first = peek, IMAPCharacter.isDigit(first), first != UInt8(ascii: "0") else {
            throw IMAPSyntaxError(peek == nil ? .unexpectedEnd : .invalidSequenceSet)
        }
        return .number(try number())
    }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    ///     flag-list       = "(" [flag *(SP flag)] ")"
    mutating func flagList() throws(IMAPSyntaxError) -> [String] {
        var flags: [String] = []
        try parenthesised(allowEmpty: true) { (parser: inout IMAPCommandParser) throws(IMAPSyntaxError) in
            flags.append(try parser.flag())
        }
        return flags
    }

    ///     flag            = "\Answered" / "\Flagged" / "\Deleted" /
    ///                       "\Seen" / "\Draft" / flag-keyword / flag-extension
    ///     flag-keyword    = atom
    ///     flag-extension  = "\" atom
    ///
    /// As sent: flags compare case-insensitively, which is the session's business.
    mutating func flag() throws(IMAPSyntaxError) -> String {
        let start = index
        _ = consume(IMAPCharacter.backslash)
        let atomStart = index
        while let byte = peek, IMAPCharacter.isAtomChar(byte) { index += 1 }
        guard index > atomStart else { throw IMAPSyntaxError(peek == nil ? .unexpectedEnd : .invalidFlag) }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    /// `"(" element *(SP element) ")"`, counting the parenthesis against the nesting limit.
    mutating func parenthesised(
        allowEmpty: Bool = false, _ element: (inout IMAPCommandParser) throws(IMAPSyntaxError) -> Void
    ) throws(IMAPSyntaxError) {
        try expect(IMAPCharacter.openParen, or: .unexpectedCharacters)
        parenthesisDepth += 1
        guard parenthesisDepth <= limits.parenthesisDepth else { throw IMAPSyntaxError(.nestingTooDeep) }
        if !(allowEmpty && peek == IMAPCharacter.closeParen) {
            try element(&self)
            while peek == IMAPCharacter.space {
                index += 1
                try element(&self)
            }
        }
        try expect(IMAPCharacter.closeParen, or: .unexpectedCharacters)
        parenthesisDepth -= 1
    }
}

/// The start of an APPEND, as far as its message literal (RFC 3501 §6.3.11).
struct IMAPAppendHeader: Hashable, Sendable {
    var tag: IMAPTag
    var mailbox: IMAPMailbox
    var flags: [String]
    var date: IMAPDateTime?
    var size: Int
    var synchronizing: Bool
}
