/// A Content-Disposition field (RFC 2183 §2): "inline", "attachment" or another type, with
/// parameters such as filename.
public struct ContentDisposition: Sendable, Equatable, Codable {
    /// Lowercased.
    public var type: String
    public var parameters: [MIMEParameter]

    public init(type: String, parameters: [MIMEParameter] = []) {
        self.type = type.lowercased()
        self.parameters = parameters
    }

    public subscript(parameter name: String) -> String? {
        parameters[parameter: name]
    }

    // RFC 2183 §2
    // disposition := "Content-Disposition" ":" disposition-type *(";" disposition-parm)
    // disposition-type := "inline" / "attachment" / extension-token
    /// Parses a field value; nil when it has no disposition type.
    public static func parse(_ value: String) -> ContentDisposition? {
        var scanner = FieldScanner(value)
        scanner.skipCFWS()
        let type = scanner.run { !ContentType.isTokenByte($0) }
        guard !type.isEmpty else { return nil }
        let parameters = MIMEParameter.parseList(&scanner)
        return ContentDisposition(type: Charset.latin1(type), parameters: parameters)
    }
}
