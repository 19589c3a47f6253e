/// A Content-Type field (RFC 2045 §5.1): media type, subtype and parameters.
public struct ContentType: Sendable, Equatable, Codable {
    /// Lowercased, e.g. "text".
    public var type: String
    /// Lowercased, e.g. "plain".
    public var subtype: String
    public var parameters: [MIMEParameter]

    public init(type: String, subtype: String, parameters: [MIMEParameter] = []) {
        self.type = type.lowercased()
        self.subtype = subtype.lowercased()
        self.parameters = parameters
    }

    /// RFC 2045 §5.2: "text/plain; charset=us-ascii", assumed when the field is absent or invalid.
    public static let `default` = ContentType(
        type: "text", subtype: "plain", parameters: [MIMEParameter(name: "charset", value: "us-ascii")])

    /// RFC 2046 §5.1.5: the default inside multipart/digest.
    public static let digestDefault = ContentType(type: "message", subtype: "rfc822")

    public subscript(parameter name: String) -> String? {
        parameters[parameter: name]
    }

    // RFC 2045 §5.1
    // content := "Content-Type" ":" type "/" subtype *(";" parameter)
    // type    := discrete-type / composite-type   ; a token, case-insensitive
    // subtype := extension-token / iana-token
    /// Parses a field value; nil when there is no "type/subtype" (the caller then applies the
    /// RFC 2045 §5.2 default).
    public static func parse(_ value: String) -> ContentType? {
        var scanner = FieldScanner(value)
        scanner.skipCFWS()
        let type = scanner.run { !isTokenByte($0) }
        scanner.skipCFWS()
        guard !type.isEmpty, scanner.current == ASCII.slash else { return nil }
        scanner.index += 1
        scanner.skipCFWS()
        let subtype = scanner.run { !isTokenByte($0) }
        guard !subtype.isEmpty else { return nil }
        let parameters = MIMEParameter.parseList(&scanner)
        return ContentType(type: Charset.latin1(type), subtype: Charset.latin1(subtype), parameters: parameters)
    }

    /// token := 1*<any (US-ASCII) CHAR except SPACE, CTLs, or tspecials>   (RFC 2045 §5.1)
    static func isTokenByte(_ byte: UInt8) -> Bool {
        guard byte > ASCII.space && byte < 0x7F else { return false }
        switch byte {
        case ASCII.openParen, ASCII.closeParen, ASCII.lessThan, ASCII.greaterThan, ASCII.at, ASCII.comma,
            ASCII.semicolon, ASCII.colon, ASCII.backslash, ASCII.quote, ASCII.slash, ASCII.openBracket,
            ASCII.closeBracket, ASCII.question, ASCII.equals:
            return false
        default:
            return true
        }
    }
}
