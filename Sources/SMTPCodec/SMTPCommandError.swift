/// An error that knows the SMTP reply it is answered with (STYLE §8): both codes, one place.
public protocol SMTPReplyError: Error {
    var reply: SMTPReply { get }
}

/// A command line that could not be turned into an `SMTPCommand`. The kinds map onto
/// RFC 5321 §4.2.2 / §4.1.1.11: 500 unknown command or garbage, 501 bad arguments,
/// 555 unrecognised MAIL/RCPT parameter, 504 unknown AUTH mechanism is left to the session.
public struct SMTPCommandError: SMTPReplyError, Sendable, Hashable, CustomStringConvertible {
    /// The error kind; a struct around a private enum so new kinds do not break callers (STYLE §9).
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unknownCommand, invalidSyntax, invalidArguments, unknownParameter, invalidParameter
            case duplicateParameter, invalidBase64
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The verb is not one this server knows (500 5.5.2).
        public static let unknownCommand = Code(.unknownCommand)
        /// The line is not a command at all: control characters, empty (500 5.5.2).
        public static let invalidSyntax = Code(.invalidSyntax)
        /// A known verb with malformed arguments (501 5.5.4).
        public static let invalidArguments = Code(.invalidArguments)
        /// An ESMTP parameter keyword this server does not implement (555 5.5.4).
        public static let unknownParameter = Code(.unknownParameter)
        /// A known ESMTP parameter with a malformed value (501 5.5.4).
        public static let invalidParameter = Code(.invalidParameter)
        /// The same ESMTP parameter twice (501 5.5.4).
        public static let duplicateParameter = Code(.duplicateParameter)
        /// An AUTH initial response that is not base64 (501 5.5.2, RFC 4954 §4).
        public static let invalidBase64 = Code(.invalidBase64)

        public var description: String { base.rawValue }
    }

    public var code: Code
    public var reply: SMTPReply

    public init(_ code: Code, _ reply: SMTPReply) {
        self.code = code
        self.reply = reply
    }

    public var description: String { "\(code): \(reply.description.dropLast(2))" }

    static func unknownCommand() -> Self {
        Self(.unknownCommand, SMTPReply(500, .init(5, 5, 2), "Command unrecognized"))
    }
    static func invalidSyntax() -> Self {
        Self(.invalidSyntax, SMTPReply(500, .init(5, 5, 2), "Syntax error"))
    }
    static func invalidArguments(_ usage: String) -> Self {
        Self(.invalidArguments, SMTPReply(501, .init(5, 5, 4), "Syntax: \(usage)"))
    }
    static func unknownParameter(_ keyword: String) -> Self {
        Self(.unknownParameter, SMTPReply(555, .init(5, 5, 4), "Unsupported option: \(keyword)"))
    }
    static func invalidParameter(_ keyword: String) -> Self {
        Self(.invalidParameter, SMTPReply(501, .init(5, 5, 4), "Bad parameter syntax: \(keyword)"))
    }
    static func duplicateParameter(_ keyword: String) -> Self {
        Self(.duplicateParameter, SMTPReply(501, .init(5, 5, 4), "Duplicate parameter: \(keyword)"))
    }
    static func invalidBase64() -> Self {
        Self(.invalidBase64, SMTPReply(501, .init(5, 5, 2), "Invalid base64 data"))
    }
}
