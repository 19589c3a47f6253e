/// Parses address-list fields (From, To, Cc, ...) per RFC 5322 §3.4 and its obsolete forms
/// (§4.4), tolerating the garbage real mail contains: every byte is consumed and malformed pieces
/// become the nearest sensible address rather than an error.
public enum AddressParser {
    // RFC 5322 §3.4
    // address-list = (address *("," address)) / obs-addr-list
    // address      = mailbox / group
    // mailbox      = name-addr / addr-spec
    // name-addr    = [display-name] angle-addr
    // group        = display-name ":" [group-list] ";" [CFWS]
    // display-name = phrase
    /// Parses a field value (unfolded or not) into IMAP envelope addresses.
    public static func parse(_ value: String) -> [EnvelopeAddress] {
        var scanner = FieldScanner(value)
        var addresses: [EnvelopeAddress] = []
        var inGroup = false
        while !scanner.isAtEnd {
            let phrase = readPhrase(&scanner)
            switch scanner.current {
            case nil:
                if let bare = bareMailbox(phrase) { addresses.append(bare) }
            case ASCII.comma:
                if let bare = bareMailbox(phrase) { addresses.append(bare) }
                scanner.index += 1
            case ASCII.semicolon:
                if let bare = bareMailbox(phrase) { addresses.append(bare) }
                if inGroup {
                    addresses.append(EnvelopeAddress(mailbox: nil, host: nil))
                    inGroup = false
                }
                scanner.index += 1
            case ASCII.colon:
                // A colon inside a group has no meaning; skip it.
                if !inGroup {
                    addresses.append(EnvelopeAddress(mailbox: phrase.text ?? "", host: nil))
                    inGroup = true
                }
                scanner.index += 1
            case ASCII.lessThan:
                addresses.append(readAngleAddress(&scanner, name: phrase.text))
            case ASCII.at:
                scanner.index += 1
                var comments: [[UInt8]] = []
                let host = readDomain(&scanner, comments: &comments)
                comments += scanner.skipCFWS()
                let name = comments.last.map(Charset.lenientString).flatMap { $0.isEmpty ? nil : $0 }
                addresses.append(EnvelopeAddress(name: name, mailbox: phrase.localPart, host: host))
            default:
                // A stray ">", ")", "]", "\" or control byte: drop it and carry on.
                scanner.index += 1
            }
        }
        if inGroup {
            addresses.append(EnvelopeAddress(mailbox: nil, host: nil))
        }
        return addresses
    }

    private struct Phrase {
        /// Each word's value (quotes removed) and its text as written.
        var words: [(value: [UInt8], raw: [UInt8])] = []
        var comments: [[UInt8]] = []

        // RFC 5322 §3.2.5: phrase = 1*word / obs-phrase; obs-phrase = word *(word / "." / CFWS)
        var text: String? {
            words.isEmpty ? nil : words.map { Charset.lenientString($0.value) }.joined(separator: " ")
        }

        // RFC 5322 §3.4.1: local-part = dot-atom / quoted-string / obs-local-part
        var localPart: String {
            Charset.lenientString(words.flatMap(\.raw))
        }
    }

    /// Reads words (atoms, which here include ".", and quoted strings) and the comments between.
    private static func readPhrase(_ scanner: inout FieldScanner) -> Phrase {
        var phrase = Phrase()
        while true {
            phrase.comments += scanner.skipCFWS()
            guard let byte = scanner.current else { break }
            if byte == ASCII.quote {
                let quoted = scanner.quotedString()
                phrase.words.append((quoted.value, quoted.raw))
            } else if isAtomByte(byte) {
                let atom = scanner.run { !isAtomByte($0) }
                phrase.words.append((atom, atom))
            } else {
                break
            }
        }
        return phrase
    }

    /// A phrase with no "@" or "<": a local name such as "postmaster", or nothing at all.
    private static func bareMailbox(_ phrase: Phrase) -> EnvelopeAddress? {
        guard !phrase.words.isEmpty else { return nil }
        return EnvelopeAddress(mailbox: phrase.localPart, host: "")
    }

    // RFC 5322 §3.4, §4.4
    // angle-addr     = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
    // obs-angle-addr = [CFWS] "<" obs-route addr-spec ">" [CFWS]
    // obs-route      = obs-domain-list ":"
    // obs-domain-list = *(CFWS / ",") "@" domain *("," [CFWS] ["@" domain])
    // addr-spec      = local-part "@" domain
    private static func readAngleAddress(_ scanner: inout FieldScanner, name: String?) -> EnvelopeAddress {
        scanner.index += 1
        scanner.skipCFWS()
        var route: String?
        if scanner.current == ASCII.at {
            let start = scanner.index
            let routeBytes = scanner.run { $0 == ASCII.colon || $0 == ASCII.greaterThan }
            if scanner.current == ASCII.colon {
                route = Charset.lenientString(routeBytes.filter { !ASCII.isFoldingWhitespace($0) })
                scanner.index += 1
            } else {
                // "<@host>" has no route, only a domain with an empty local part.
                scanner.index = start
            }
        }
        let local = readPhrase(&scanner)
        var host = ""
        if scanner.current == ASCII.at {
            scanner.index += 1
            var comments: [[UInt8]] = []
            host = readDomain(&scanner, comments: &comments)
        }
        // Skip junk up to ">", but leave a "," for the list: an unclosed "<" must not eat the rest.
        _ = scanner.run { $0 == ASCII.greaterThan || $0 == ASCII.comma }
        if scanner.current == ASCII.greaterThan { scanner.index += 1 }
        return EnvelopeAddress(name: name, adl: route, mailbox: local.localPart, host: host)
    }

    // RFC 5322 §3.4.1
    // domain         = dot-atom / domain-literal / obs-domain
    // domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS]
    private static func readDomain(_ scanner: inout FieldScanner, comments: inout [[UInt8]]) -> String {
        var domain: [UInt8] = []
        while true {
            comments += scanner.skipCFWS()
            guard let byte = scanner.current else { break }
            if byte == ASCII.openBracket && domain.isEmpty {
                var literal = scanner.run { $0 == ASCII.closeBracket }
                if scanner.current == ASCII.closeBracket {
                    literal.append(ASCII.closeBracket)
                    scanner.index += 1
                }
                domain = literal.filter { !ASCII.isFoldingWhitespace($0) }
                break
            } else if isAtomByte(byte) {
                domain += scanner.run { !isAtomByte($0) }
            } else {
                break
            }
        }
        return Charset.lenientString(domain)
    }

    // RFC 5322 §3.2.3
    // atext = ALPHA / DIGIT / "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "/" / "=" /
    //         "?" / "^" / "_" / "`" / "{" / "|" / "}" / "~"
    /// atext plus "." (dot-atom, obs-phrase) and 8-bit bytes (RFC 6532 and unlabelled legacy text).
    private static func isAtomByte(_ byte: UInt8) -> Bool {
        guard byte > ASCII.space && byte != 0x7F else { return false }
        switch byte {
        case ASCII.openParen, ASCII.closeParen, ASCII.lessThan, ASCII.greaterThan, ASCII.openBracket,
            ASCII.closeBracket, ASCII.colon, ASCII.semicolon, ASCII.at, ASCII.backslash, ASCII.comma,
            ASCII.quote:
            return false
        default:
            return true
        }
    }
}
