/// The character classes of RFC 3501 §9, shared by the framer, the parser and the encoder.
enum IMAPCharacter {
    static let space = UInt8(ascii: " ")
    static let cr = UInt8(ascii: "\r")
    static let lf = UInt8(ascii: "\n")
    static let quote = UInt8(ascii: "\"")
    static let backslash = UInt8(ascii: "\\")
    static let openParen = UInt8(ascii: "(")
    static let closeParen = UInt8(ascii: ")")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let plus = UInt8(ascii: "+")

    ///     ATOM-CHAR       = <any CHAR except atom-specials>
    ///     atom-specials   = "(" / ")" / "{" / SP / CTL / list-wildcards /
    ///                       quoted-specials / resp-specials
    static func isAtomChar(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte < 0x7F else { return false }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "{"), UInt8(ascii: "%"), UInt8(ascii: "*"),
            UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "]"):
            return false
        default:
            return true
        }
    }

    ///     ASTRING-CHAR   = ATOM-CHAR / resp-specials
    static func isAStringChar(_ byte: UInt8) -> Bool {
        isAtomChar(byte) || byte == UInt8(ascii: "]")
    }

    ///     tag             = 1*<any ASTRING-CHAR except "+">
    static func isTagChar(_ byte: UInt8) -> Bool {
        isAStringChar(byte) && byte != plus
    }

    ///     list-char       = ATOM-CHAR / list-wildcards / resp-specials
    static func isListChar(_ byte: UInt8) -> Bool {
        isAStringChar(byte) || byte == UInt8(ascii: "%") || byte == UInt8(ascii: "*")
    }

    static func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    static func isAlpha(_ byte: UInt8) -> Bool {
        (byte | 0x20) >= UInt8(ascii: "a") && (byte | 0x20) <= UInt8(ascii: "z")
    }

    static func uppercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }

    /// The ASCII-uppercased text of `bytes`, for matching case-insensitive keywords.
    static func keyword(_ bytes: some Collection<UInt8>) -> String {
        String(decoding: bytes.map(uppercased), as: UTF8.self)
    }

    /// The tag at the start of `bytes`, if the bytes begin with a valid tag followed by SP.
    static func tag(of bytes: some Collection<UInt8>) -> IMAPTag? {
        guard let end = bytes.firstIndex(of: space), end != bytes.startIndex,
            bytes[bytes.startIndex..<end].allSatisfy(isTagChar)
        else { return nil }
        return String(decoding: bytes[bytes.startIndex..<end], as: UTF8.self)
    }
}
