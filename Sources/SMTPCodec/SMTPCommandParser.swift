import MailCore
public import NIOCore
import SASL

/// Parses one command line (without its line ending) into an `SMTPCommand`.
///
/// Verbs and parameter keywords are case-insensitive (RFC 5321 §2.4). Where clients commonly
/// deviate the parser is liberal and says so: a space after `FROM:`/`TO:`, several spaces
/// between parameters, trailing spaces, any printable word as the HELO/EHLO name.
public enum SMTPCommandParser {
    public static func parse(_ line: ByteBuffer) throws(SMTPCommandError) -> SMTPCommand {
        try parse(Array(line.readableBytesView))
    }

    public static func parse(_ line: some StringProtocol) throws(SMTPCommandError) -> SMTPCommand {
        try parse(Array(line.utf8))
    }

    public static func parse(_ line: [UInt8]) throws(SMTPCommandError) -> SMTPCommand {
        var cursor = Cursor(line)
        let verbBytes = cursor.take(while: { $0 != space })
        guard !verbBytes.isEmpty else { throw .invalidSyntax() }
        guard verbBytes.allSatisfy({ $0 < 0x80 }),
            let verb = SMTPVerb(rawValue: String(decoding: verbBytes, as: UTF8.self).uppercased())
        else {
            throw .unknownCommand()
        }
        // RFC 5321 §4.1.2, last paragraph: invalid character codes in a command → 501.
        guard !line.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw .invalidArguments(usage(verb))
        }
        do throws(ArgumentError) {
            return try parseArguments(of: verb, &cursor)
        } catch {
            switch error {
            case .syntax: throw .invalidArguments(usage(verb))
            case .parameter(let parameterError): throw parameterError
            }
        }
    }

    enum ArgumentError: Error {
        case syntax
        case parameter(SMTPCommandError)
    }

    // RFC 5321 §4.1.1:
    //   ehlo = "EHLO" SP ( Domain / address-literal ) CRLF
    //   helo = "HELO" SP Domain CRLF
    //   mail = "MAIL FROM:" Reverse-path [SP Mail-parameters] CRLF
    //   rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" /
    //               Forward-path ) [SP Rcpt-parameters] CRLF
    //   data = "DATA" CRLF
    //   rset = "RSET" CRLF
    //   vrfy = "VRFY" SP String CRLF
    //   expn = "EXPN" SP String CRLF
    //   help = "HELP" [ SP String ] CRLF
    //   noop = "NOOP" [ SP String ] CRLF
    //   quit = "QUIT" CRLF
    // RFC 3207 §4:   "STARTTLS" with no parameters
    // RFC 3030 §2:   bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
    //                chunk-size ::= 1*DIGIT
    //                end-marker ::= "LAST"
    // RFC 4954 §4:   auth-command = "AUTH" SP sasl-mech [SP initial-response] ...
    //                initial-response = base64 / "="
    private static func parseArguments(
        of verb: SMTPVerb, _ cursor: inout Cursor
    ) throws(ArgumentError)
        -> SMTPCommand
    {
        switch verb {
        case .helo, .ehlo:
            // Liberal: many clients send names that are not RFC 5321 Domains (underscores,
            // bare words); the name is informational, so any single printable word is taken.
            guard cursor.skip(space) else { throw .syntax }
            cursor.skipAll(space)
            let name = cursor.take(while: { $0 != space })
            cursor.skipAll(space)
            guard !name.isEmpty, cursor.atEnd, let text = String(validating: name, as: UTF8.self) else {
                throw .syntax
            }
            return verb == .helo ? .helo(domain: text) : .ehlo(domain: text)
        case .mail:
            guard cursor.skip(space), cursor.skipCaseInsensitive("FROM:") else { throw .syntax }
            cursor.skipAll(space)
            let path = try parseReversePath(&cursor)
            let parameters = try parseMailParameters(&cursor)
            return .mail(reversePath: path, parameters: parameters)
        case .rcpt:
            guard cursor.skip(space), cursor.skipCaseInsensitive("TO:") else { throw .syntax }
            cursor.skipAll(space)
            let path = try parseForwardPath(&cursor)
            let parameters = try parseRecipientParameters(&cursor)
            return .rcpt(forwardPath: path, parameters: parameters)
        case .data, .rset, .quit, .starttls:
            cursor.skipAll(space)
            guard cursor.atEnd else { throw .syntax }
            switch verb {
            case .data: return .data
            case .rset: return .rset
            case .quit: return .quit
            default: return .starttls
            }
        case .noop, .help:
            let argument = try optionalString(&cursor)
            return verb == .noop ? .noop(argument) : .help(argument)
        case .vrfy, .expn:
            guard let argument = try optionalString(&cursor) else { throw .syntax }
            return verb == .vrfy ? .vrfy(argument) : .expn(argument)
        case .bdat:
            return try parseBDAT(&cursor)
        case .auth:
            return try parseAuth(&cursor)
        }
    }

    /// `[ SP String ]` taken liberally as the rest of the line.
    private static func optionalString(_ cursor: inout Cursor) throws(ArgumentError) -> String? {
        if cursor.atEnd { return nil }
        guard cursor.skip(space) else { throw .syntax }
        cursor.skipAll(space)
        var rest = cursor.rest
        while rest.last == space { rest.removeLast() }
        guard !rest.isEmpty else { return nil }
        guard let text = String(validating: rest, as: UTF8.self) else { throw .syntax }
        return text
    }

    // RFC 3030 §2:
    //   bdat-cmd   ::= "BDAT" SP chunk-size [ SP end-marker ] CR LF
    //   chunk-size ::= 1*DIGIT
    //   end-marker ::= "LAST"
    private static func parseBDAT(_ cursor: inout Cursor) throws(ArgumentError) -> SMTPCommand {
        guard cursor.skip(space) else { throw .syntax }
        cursor.skipAll(space)
        let digits = cursor.take(while: isDigit)
        // 18 digits always fit an Int; a larger chunk cannot be honoured anyway.
        guard (1...18).contains(digits.count), let size = Int(String(decoding: digits, as: UTF8.self)) else {
            throw .syntax
        }
        cursor.skipAll(space)
        var last = false
        if !cursor.atEnd {
            guard cursor.skipCaseInsensitive("LAST") else { throw .syntax }
            last = true
            cursor.skipAll(space)
        }
        guard cursor.atEnd else { throw .syntax }
        return .bdat(size: size, last: last)
    }

    // RFC 4954 §4:
    //   auth-command = "AUTH" SP sasl-mech [SP initial-response]
    //                  *(CRLF [base64]) [CRLF cancel-response]
    //                  CRLF
    //   initial-response = base64 / "="
    // RFC 4422 §3.1 / RFC 4954 §3:
    //   sasl-mech    = 1*20mech-char
    //   mech-char    = UPPER-ALPHA / DIGIT / HYPHEN / UNDERSCORE
    private static func parseAuth(_ cursor: inout Cursor) throws(ArgumentError) -> SMTPCommand {
        guard cursor.skip(space) else { throw .syntax }
        let mechanism = cursor.take(while: { $0 != space })
        guard (1...SMTPLimits.mechanismName).contains(mechanism.count),
            mechanism.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == hyphen || $0 == UInt8(ascii: "_") })
        else { throw .syntax }
        let name = String(decoding: mechanism, as: UTF8.self).uppercased()
        guard cursor.skip(space) else {
            guard cursor.atEnd else { throw .syntax }
            return .auth(mechanism: name, initialResponse: nil)
        }
        var response = cursor.rest
        while response.last == space { response.removeLast() }
        guard case .success(let initialResponse) = SASLInitialResponse.parse(response) else {
            throw .parameter(.invalidBase64())
        }
        return .auth(mechanism: name, initialResponse: initialResponse)
    }

    // MARK: Paths

    // RFC 5321 §4.1.2:
    //   Reverse-path   = Path / "<>"
    //   Forward-path   = Path
    //   Path           = "<" [ A-d-l ":" ] Mailbox ">"
    //   A-d-l          = At-domain *( "," At-domain )
    //                  ; Note that this form, the so-called "source
    //                  ; route", MUST BE accepted, SHOULD NOT be
    //                  ; generated, and SHOULD be ignored.
    //   At-domain      = "@" Domain
    static func parseReversePath(_ cursor: inout Cursor) throws(ArgumentError) -> ReversePath {
        let start = cursor.index
        if cursor.skip(UInt8(ascii: "<")), cursor.skip(UInt8(ascii: ">")) { return .null }
        cursor.reset(to: start)
        return .mailbox(try parsePath(&cursor))
    }

    // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain MUST be accepted.
    static func parseForwardPath(_ cursor: inout Cursor) throws(ArgumentError) -> ForwardPath {
        let start = cursor.index
        if cursor.skip(UInt8(ascii: "<")), cursor.skipCaseInsensitive("Postmaster>") {
            return .postmaster
        }
        cursor.reset(to: start)
        return .mailbox(try parsePath(&cursor))
    }

    private static func parsePath(_ cursor: inout Cursor) throws(ArgumentError) -> Mailbox {
        guard cursor.skip(UInt8(ascii: "<")) else { throw .syntax }
        // Source route (RFC 5321 Appendix C): parsed for syntax, then dropped.
        if cursor.peek == UInt8(ascii: "@") {
            repeat {
                guard cursor.skip(UInt8(ascii: "@")) else { throw .syntax }
                _ = try parseDomain(&cursor)
            } while cursor.skip(UInt8(ascii: ","))
            guard cursor.skip(UInt8(ascii: ":")) else { throw .syntax }
        }
        let mailbox = try parseMailbox(&cursor)
        guard cursor.skip(UInt8(ascii: ">")) else { throw .syntax }
        return mailbox
    }

    // RFC 5321 §4.1.2 (with RFC 6531 §3.3: atext, qtextSMTP and sub-domain =/ UTF-8):
    //   Mailbox        = Local-part "@" ( Domain / address-literal )
    //   Local-part     = Dot-string / Quoted-string
    //   Dot-string     = Atom *("."  Atom)
    //   Atom           = 1*atext
    //   Quoted-string  = DQUOTE *QcontentSMTP DQUOTE
    //   QcontentSMTP   = qtextSMTP / quoted-pairSMTP
    //   quoted-pairSMTP  = %d92 %d32-126
    //   qtextSMTP      = %d32-33 / %d35-91 / %d93-126
    static func parseMailbox(_ cursor: inout Cursor) throws(ArgumentError) -> Mailbox {
        let localStart = cursor.index
        if cursor.skip(dquote) {
            while true {
                guard let byte = cursor.next() else { throw .syntax }
                if byte == dquote { break }
                if byte == backslash {
                    guard let quoted = cursor.next(), (32...126).contains(quoted) else { throw .syntax }
                } else if !(byte == 32 || byte == 33 || (35...91).contains(byte) || (93...126).contains(byte)
                    || byte >= 0x80)
                {
                    throw .syntax
                }
            }
        } else {
            repeat {
                guard !cursor.take(while: isAtext).isEmpty else { throw .syntax }
            } while cursor.skip(UInt8(ascii: "."))
        }
        let localPart = cursor.bytes[localStart..<cursor.index]
        guard cursor.skip(UInt8(ascii: "@")) else { throw .syntax }
        let domain = cursor.peek == UInt8(ascii: "[") ? try parseAddressLiteral(&cursor) : try parseDomain(&cursor)
        guard let local = String(validating: localPart, as: UTF8.self) else { throw .syntax }
        return Mailbox(localPart: local, domain: domain)
    }

    //   Domain         = sub-domain *("." sub-domain)
    //   sub-domain     = Let-dig [Ldh-str]          ; RFC 6531: =/ U-label
    //   Let-dig        = ALPHA / DIGIT
    //   Ldh-str        = *( ALPHA / DIGIT / "-" ) Let-dig
    static func parseDomain(_ cursor: inout Cursor) throws(ArgumentError) -> String {
        let start = cursor.index
        repeat {
            let label = cursor.take(while: { isAlpha($0) || isDigit($0) || $0 == hyphen || $0 >= 0x80 })
            guard let first = label.first, let last = label.last, first != hyphen, last != hyphen else {
                throw .syntax
            }
        } while cursor.skip(UInt8(ascii: "."))
        guard let domain = String(validating: cursor.bytes[start..<cursor.index], as: UTF8.self) else {
            throw .syntax
        }
        return domain
    }

    // RFC 5321 §4.1.3:
    //   address-literal  = "[" ( IPv4-address-literal / IPv6-address-literal /
    //                      General-address-literal ) "]"
    //   IPv4-address-literal  = Snum 3("."  Snum)
    //   IPv6-address-literal  = "IPv6:" IPv6-addr
    //   General-address-literal  = Standardized-tag ":" 1*dcontent
    //   dcontent       = %d33-90 / %d94-126
    // IPv6 addresses are checked for their alphabet only; the back-end never routes on them.
    static func parseAddressLiteral(_ cursor: inout Cursor) throws(ArgumentError) -> String {
        let start = cursor.index
        guard cursor.skip(UInt8(ascii: "[")) else { throw .syntax }
        let content = cursor.take(while: { (33...90).contains($0) || (94...126).contains($0) })
        guard cursor.skip(UInt8(ascii: "]")), !content.isEmpty else { throw .syntax }
        let text = String(decoding: content, as: UTF8.self)
        if let colon = text.firstIndex(of: ":") {
            let tag = text[..<colon]
            let value = text[text.index(after: colon)...]
            guard !tag.isEmpty, !value.isEmpty, tag.utf8.allSatisfy({ isAlpha($0) || isDigit($0) || $0 == hyphen })
            else { throw .syntax }
            if tag.lowercased() == "ipv6" {
                guard value.utf8.allSatisfy({ isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") })
                else { throw .syntax }
            }
        } else {
            let octets = text.split(separator: ".", omittingEmptySubsequences: false)
            guard octets.count == 4,
                octets.allSatisfy({ (1...3).contains($0.count) && $0.utf8.allSatisfy(isDigit) && Int($0)! <= 255 })
            else { throw .syntax }
        }
        return String(decoding: cursor.bytes[start..<cursor.index], as: UTF8.self)
    }

    // MARK: ESMTP parameters

    // RFC 5321 §4.1.2:
    //   Mail-parameters  = esmtp-param *(SP esmtp-param)
    //   Rcpt-parameters  = esmtp-param *(SP esmtp-param)
    //   esmtp-param    = esmtp-keyword ["=" esmtp-value]
    //   esmtp-keyword  = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    //   esmtp-value    = 1*(%d33-60 / %d62-126)       ; RFC 6531 §3.3: =/ UTF8-non-ascii
    static func parseParameters(_ cursor: inout Cursor) throws(ArgumentError) -> [(keyword: String, value: [UInt8]?)] {
        var parameters: [(keyword: String, value: [UInt8]?)] = []
        if cursor.atEnd { return parameters }
        guard cursor.skip(space) else { throw .syntax }
        while true {
            cursor.skipAll(space)
            if cursor.atEnd { break }
            let keyword = cursor.take(while: { isAlpha($0) || isDigit($0) || $0 == hyphen })
            guard let first = keyword.first, first != hyphen else { throw .syntax }
            var value: [UInt8]?
            if cursor.skip(UInt8(ascii: "=")) {
                let bytes = cursor.take(while: { (33...60).contains($0) || (62...126).contains($0) || $0 >= 0x80 })
                guard !bytes.isEmpty else { throw .syntax }
                value = Array(bytes)
            }
            guard cursor.atEnd || cursor.peek == space else { throw .syntax }
            let name = String(decoding: keyword, as: UTF8.self).uppercased()
            guard !parameters.contains(where: { $0.keyword == name }) else {
                throw .parameter(.duplicateParameter(name))
            }
            parameters.append((name, value))
        }
        return parameters
    }

    // RFC 1870 §6:   size-param ::= "SIZE=" size-value ; size-value ::= 1*20DIGIT
    // RFC 1652 §3 / RFC 3030 §3:  body-value ::= "7BIT" / "8BITMIME" / "BINARYMIME"
    // RFC 6531 §3.4: "SMTPUTF8" takes no value.
    // RFC 3461 §4.3: ret-value = "FULL" / "HDRS"
    // RFC 3461 §4.4: envid-parameter = "ENVID=" xtext   (at most 100 characters)
    // RFC 4954 §5:   auth-param = "AUTH=" xtext   ; "<>" means unknown
    static func parseMailParameters(_ cursor: inout Cursor) throws(ArgumentError) -> MailParameters {
        var result = MailParameters()
        for (keyword, value) in try parseParameters(&cursor) {
            let bad = ArgumentError.parameter(.invalidParameter(keyword))
            switch keyword {
            case "SIZE":
                guard let value, (1...20).contains(value.count), value.allSatisfy(isDigit) else { throw bad }
                result.size = Int(String(decoding: value, as: UTF8.self)) ?? Int.max
            case "BODY":
                guard let value, let body = BodyType(rawValue: String(decoding: value, as: UTF8.self).uppercased())
                else { throw bad }
                result.body = body
            case "SMTPUTF8":
                guard value == nil else { throw bad }
                result.smtpUTF8 = true
            case "RET":
                guard let value, let ret = DSNReturn(rawValue: String(decoding: value, as: UTF8.self).uppercased())
                else { throw bad }
                result.ret = ret
            case "ENVID":
                guard let value, value.count <= SMTPLimits.envelopeID, let text = decodeXtext(value) else {
                    throw bad
                }
                result.envelopeID = text
            case "AUTH":
                guard let value else { throw bad }
                if value == Array("<>".utf8) {
                    result.auth = .unknown
                } else {
                    guard let text = decodeXtext(value) else { throw bad }
                    result.auth = .identity(text)
                }
            default:
                throw .parameter(.unknownParameter(keyword))
            }
        }
        return result
    }

    // RFC 3461 §4.1:
    //   notify-esmtp-value  = "NEVER" / 1#notify-list-element
    //   notify-list-element = "SUCCESS" / "FAILURE" / "DELAY"
    // RFC 3461 §4.2:
    //   orcpt-parameter = "ORCPT=" original-recipient-address
    //   original-recipient-address = addr-type ";" xtext   (at most 500 characters)
    //   addr-type = atom
    static func parseRecipientParameters(_ cursor: inout Cursor) throws(ArgumentError) -> RecipientParameters {
        var result = RecipientParameters()
        for (keyword, value) in try parseParameters(&cursor) {
            let bad = ArgumentError.parameter(.invalidParameter(keyword))
            switch keyword {
            case "NOTIFY":
                guard let value else { throw bad }
                let items = String(decoding: value, as: UTF8.self).uppercased().split(
                    separator: ",", omittingEmptySubsequences: false)
                if items == ["NEVER"] {
                    result.notify = .never
                } else {
                    var conditions = Set<DSNNotify.Condition>()
                    for item in items {
                        guard let condition = DSNNotify.Condition(rawValue: String(item)),
                            conditions.insert(condition).inserted
                        else { throw bad }
                    }
                    result.notify = .on(conditions)
                }
            case "ORCPT":
                guard let value, value.count <= SMTPLimits.originalRecipient,
                    let semicolon = value.firstIndex(of: UInt8(ascii: ";")), semicolon > 0,
                    value[..<semicolon].allSatisfy(isAtext),
                    let address = decodeXtext(value[(semicolon + 1)...]), !address.isEmpty
                else { throw bad }
                result.originalRecipient = OriginalRecipient(
                    addressType: String(decoding: value[..<semicolon], as: UTF8.self), address: address)
            default:
                throw .parameter(.unknownParameter(keyword))
            }
        }
        return result
    }

    // RFC 3461 §4:
    //   xtext = *( xchar / hexchar )
    //   xchar = any ASCII CHAR between "!" (33) and "~" (126) inclusive,
    //           except for "+" and "=".
    //   hexchar = ASCII "+" immediately followed by two upper case hexadecimal digits
    // Liberal: lower-case hex digits are taken too; UTF-8 passes through (RFC 6531 §3.3).
    static func decodeXtext(_ value: some Collection<UInt8>) -> String? {
        var output: [UInt8] = []
        var iterator = value.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                output.append(high << 4 | low)
            } else {
                guard byte != UInt8(ascii: "="), (33...126).contains(byte) || byte >= 0x80 else { return nil }
                output.append(byte)
            }
        }
        return String(validating: output, as: UTF8.self)
    }

    static func usage(_ verb: SMTPVerb) -> String {
        switch verb {
        case .helo: "HELO hostname"
        case .ehlo: "EHLO hostname"
        case .mail: "MAIL FROM:<address> [parameters]"
        case .rcpt: "RCPT TO:<address> [parameters]"
        case .data, .rset, .quit, .starttls: verb.rawValue
        case .noop: "NOOP [string]"
        case .help: "HELP [topic]"
        case .vrfy: "VRFY address"
        case .expn: "EXPN list"
        case .bdat: "BDAT size [LAST]"
        case .auth: "AUTH mechanism [initial-response]"
        }
    }
}

// MARK: Byte classes and cursor

let space = UInt8(ascii: " ")
let hyphen = UInt8(ascii: "-")
let dquote = UInt8(ascii: "\"")
let backslash = UInt8(ascii: "\\")

func isAlpha(_ byte: UInt8) -> Bool { (65...90).contains(byte) || (97...122).contains(byte) }
func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
func isHexDigit(_ byte: UInt8) -> Bool { hexValue(byte) != nil }
func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case 48...57: byte - 48
    case 65...70: byte - 55
    case 97...102: byte - 87
    default: nil
    }
}

/// RFC 5322 §3.2.3 atext, extended with UTF8-non-ascii by RFC 6531 §3.3.
func isAtext(_ byte: UInt8) -> Bool {
    if isAlpha(byte) || isDigit(byte) || byte >= 0x80 { return true }
    switch byte {
    case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
        UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
        UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
        UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
        return true
    default:
        return false
    }
}

/// A read position in one command line.
struct Cursor {
    let bytes: [UInt8]
    private(set) var index: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.index = 0
    }

    var atEnd: Bool { index == bytes.count }
    var peek: UInt8? { atEnd ? nil : bytes[index] }
    var rest: ArraySlice<UInt8> { bytes[index...] }

    mutating func reset(to position: Int) { index = position }

    mutating func next() -> UInt8? {
        guard let byte = peek else { return nil }
        index += 1
        return byte
    }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard peek == byte else { return false }
        index += 1
        return true
    }

    mutating func skipAll(_ byte: UInt8) {
        while peek == byte { index += 1 }
    }

    mutating func skipCaseInsensitive(_ word: String) -> Bool {
        let expected = Array(word.utf8)
        guard bytes.count - index >= expected.count else { return false }
        for (offset, byte) in expected.enumerated() {
            let actual = bytes[index + offset]
            let folded = isAlpha(actual) ? actual | 0x20 : actual
            let wanted = isAlpha(byte) ? byte | 0x20 : byte
            guard folded == wanted else { return false }
        }
        index += expected.count
        return true
    }

    mutating func take(while predicate: (UInt8) -> Bool) -> ArraySlice<UInt8> {
        let start = index
        while let byte = peek, predicate(byte) { index += 1 }
        return bytes[start..<index]
    }
}
