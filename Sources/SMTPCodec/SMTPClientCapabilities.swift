/// What a server said it supports in its EHLO reply (RFC 5321 §4.1.1.1: the first line names
/// the server, each further line is `ehlo-keyword *( SP ehlo-param )`). After HELO there are none.
public struct SMTPServerCapabilities: Sendable, Hashable {
    /// The extensions the client acts on. `.binaryMIME` is set only together with `.chunking`
    /// (RFC 3030 §3: BINARYMIME requires CHUNKING).
    public var extensions: SMTPExtensions
    /// SIZE n (RFC 1870 §4); nil when SIZE is absent or n is 0 ("no fixed maximum").
    public var maximumSize: Int?
    /// STARTTLS (RFC 3207 §4).
    public var startTLS: Bool
    /// ENHANCEDSTATUSCODES (RFC 2034 §3).
    public var enhancedStatusCodes: Bool
    /// The keyword lines as sent, for logging.
    public var keywords: [String]
    /// AUTH's mechanisms (RFC 4954 §3), upper case.
    public var authMechanisms: Set<String> = []

    public init(
        extensions: SMTPExtensions = [], maximumSize: Int? = nil, startTLS: Bool = false, enhancedStatusCodes: Bool = false,
        keywords: [String] = []
    ) {
        self.extensions = extensions
        self.maximumSize = maximumSize
        self.startTLS = startTLS
        self.enhancedStatusCodes = enhancedStatusCodes
        self.keywords = keywords
    }

    // RFC 5321 §4.1.1.1:
    //   ehlo-ok-rsp  = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
    //                  / ( "250-" Domain [ SP ehlo-greet ] CRLF
    //                   *( "250-" ehlo-line CRLF )
    //                      "250" SP ehlo-line CRLF )
    //   ehlo-line    = ehlo-keyword *( SP ehlo-param )
    /// Reads the keywords of a positive EHLO reply; unknown keywords and malformed parameters
    /// are ignored (a SIZE without a usable number means SIZE without a limit).
    public init(ehloReply reply: SMTPReply) {
        self.init()
        for line in reply.lines.dropFirst() {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let keyword = words.first?.uppercased() else { continue }
            keywords.append(line)
            switch keyword {
            case "SIZE":
                extensions.insert(.size)
                if words.count > 1, let limit = Int(words[1]), limit > 0 { maximumSize = limit }
            case "8BITMIME": extensions.insert(.eightBitMIME)
            case "PIPELINING": extensions.insert(.pipelining)
            case "CHUNKING": extensions.insert(.chunking)
            case "BINARYMIME": extensions.insert(.binaryMIME)
            case "DSN": extensions.insert(.dsn)
            case "SMTPUTF8": extensions.insert(.smtpUTF8)
            case "STARTTLS": startTLS = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            case "AUTH": authMechanisms.formUnion(words.dropFirst().map { $0.uppercased() })
            default: break
            }
        }
        if !extensions.contains(.chunking) { extensions.remove(.binaryMIME) }
    }
}
