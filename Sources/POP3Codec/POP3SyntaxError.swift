/// A command line that does not follow the POP3 grammar. The session answers it with `-ERR`
/// (POP3 has no separate syntax-error status). A struct around a private code enum so new codes
/// do not break callers (STYLE §9); tests compare `code`.
public struct POP3SyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case emptyLine
            case lineTooLong
            case invalidCharacter
            case unknownCommand
            case missingArgument
            case unexpectedArgument
            case invalidNumber
            case invalidDigest
            case invalidMechanism
            case invalidBase64
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The line was empty (or only spaces).
        public static let emptyLine = Code(.emptyLine)
        /// The line is longer than the limit for the current state (RFC 2449 §4).
        public static let lineTooLong = Code(.lineTooLong)
        /// The line holds NUL, CR or another control character where none may appear.
        public static let invalidCharacter = Code(.invalidCharacter)
        /// The keyword is not a POP3 command this server knows.
        public static let unknownCommand = Code(.unknownCommand)
        /// A required argument is absent.
        public static let missingArgument = Code(.missingArgument)
        /// More arguments than the command takes.
        public static let unexpectedArgument = Code(.unexpectedArgument)
        /// A message number or line count that is not a decimal number in range.
        public static let invalidNumber = Code(.invalidNumber)
        /// An APOP digest that is not 32 hexadecimal digits.
        public static let invalidDigest = Code(.invalidDigest)
        /// A SASL mechanism name that does not follow RFC 4422 §3.1.
        public static let invalidMechanism = Code(.invalidMechanism)
        /// A SASL response or initial response that is not valid base64.
        public static let invalidBase64 = Code(.invalidBase64)

        public var description: String {
            switch base {
            case .emptyLine: "empty command line"
            case .lineTooLong: "line too long"
            case .invalidCharacter: "invalid character in command"
            case .unknownCommand: "unknown command"
            case .missingArgument: "missing argument"
            case .unexpectedArgument: "too many arguments"
            case .invalidNumber: "invalid number"
            case .invalidDigest: "invalid digest"
            case .invalidMechanism: "invalid mechanism name"
            case .invalidBase64: "invalid base64"
            }
        }
    }

    public let code: Code
    /// The command keyword when it was recognised, so the reply can name it.
    public let keyword: POP3CommandKeyword?

    public init(_ code: Code, keyword: POP3CommandKeyword? = nil) {
        self.code = code
        self.keyword = keyword
    }

    public var description: String {
        if let keyword { "\(keyword.rawValue): \(code)" } else { code.description }
    }
}
