/// A command that does not follow RFC 3501 §9, or breaks one of `IMAPLimits`: the gateway
/// answers `tag BAD message` (or `* BAD` without a tag). A struct around a private code enum so
/// new codes do not break callers (STYLE §9); tests compare `code`.
public struct IMAPSyntaxError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case invalidTag, unknownCommand, expectedSpace, unexpectedCharacters, unexpectedEnd
            case invalidString, invalidLiteral, invalidAtom, invalidNumber, numberTooLarge
            case invalidSequenceSet, tooManyRanges, invalidFlag, invalidDate, invalidDateTime
            case unknownFetchAttribute, tooManyFetchAttributes, invalidSection, invalidHeaderName
            case unknownSearchKey, searchTooDeep, nestingTooDeep, unknownStatusItem
            case invalidStoreAction, invalidParameter, invalidBase64, missingLiteral
            case nulCharacter, lineTooLong, literalTooLarge, commandTooLarge
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The line does not start with a tag (RFC 3501 §9 `tag`) and a space.
        public static let invalidTag = Code(.invalidTag)
        /// The command name is not one this server knows.
        public static let unknownCommand = Code(.unknownCommand)
        /// A single space was expected between arguments (§9: "SP refers to exactly one space").
        public static let expectedSpace = Code(.expectedSpace)
        /// Something follows the last argument.
        public static let unexpectedCharacters = Code(.unexpectedCharacters)
        /// The command ends before a required argument.
        public static let unexpectedEnd = Code(.unexpectedEnd)
        /// A quoted string with a bad escape, no closing quote, CR or LF; or no astring at all.
        public static let invalidString = Code(.invalidString)
        /// A literal whose `{n}` is malformed or whose data is short.
        public static let invalidLiteral = Code(.invalidLiteral)
        /// An atom (a keyword, a mechanism name) is missing or holds a special character.
        public static let invalidAtom = Code(.invalidAtom)
        /// A number that is not decimal digits, or zero where `nz-number` is required.
        public static let invalidNumber = Code(.invalidNumber)
        /// A number over 2^32 - 1 (§9 `number`), or over 2^63 - 1 for a mod-sequence.
        public static let numberTooLarge = Code(.numberTooLarge)
        /// A sequence set that does not follow §9 `sequence-set`.
        public static let invalidSequenceSet = Code(.invalidSequenceSet)
        /// A sequence set with more ranges than `IMAPLimits.sequenceRanges`.
        public static let tooManyRanges = Code(.tooManyRanges)
        /// A flag or flag list that does not follow §9 `flag-list`.
        public static let invalidFlag = Code(.invalidFlag)
        /// A §9 `date` that is malformed or names no real day.
        public static let invalidDate = Code(.invalidDate)
        /// A §9 `date-time` that is malformed or out of range.
        public static let invalidDateTime = Code(.invalidDateTime)
        /// A FETCH data item that §6.4.5 does not define.
        public static let unknownFetchAttribute = Code(.unknownFetchAttribute)
        /// More FETCH data items than `IMAPLimits.fetchAttributes`.
        public static let tooManyFetchAttributes = Code(.tooManyFetchAttributes)
        /// A `BODY[section]<partial>` that does not follow §9 `section`.
        public static let invalidSection = Code(.invalidSection)
        /// A header field name that is not printable US-ASCII without ":" (RFC 5322 §3.6.8).
        public static let invalidHeaderName = Code(.invalidHeaderName)
        /// A search key that §6.4.4 does not define.
        public static let unknownSearchKey = Code(.unknownSearchKey)
        /// Search keys nested deeper than `IMAPLimits.searchDepth`.
        public static let searchTooDeep = Code(.searchTooDeep)
        /// Parentheses nested deeper than `IMAPLimits.parenthesisDepth`.
        public static let nestingTooDeep = Code(.nestingTooDeep)
        /// A STATUS data item that §6.3.10 does not define.
        public static let unknownStatusItem = Code(.unknownStatusItem)
        /// A STORE data item other than `[+|-]FLAGS[.SILENT]`.
        public static let invalidStoreAction = Code(.invalidStoreAction)
        /// A SELECT/EXAMINE parameter list that does not follow RFC 4466 §2.1.
        public static let invalidParameter = Code(.invalidParameter)
        /// An AUTHENTICATE initial response that is not base64 or "=" (RFC 4959).
        public static let invalidBase64 = Code(.invalidBase64)
        /// APPEND without its message literal (§6.3.11).
        public static let missingLiteral = Code(.missingLiteral)
        /// A NUL outside a literal (§9: "%x00 MUST NOT be used at any time").
        public static let nulCharacter = Code(.nulCharacter)
        /// A line over `IMAPLimits.commandLength` (or `lineLength` in line mode).
        public static let lineTooLong = Code(.lineTooLong)
        /// A literal over `IMAPLimits.literalSize`.
        public static let literalTooLarge = Code(.literalTooLarge)
        /// A command over `IMAPLimits.commandSize`, literals included.
        public static let commandTooLarge = Code(.commandTooLarge)

        public var description: String {
            switch base {
            case .invalidTag: "invalid tag"
            case .unknownCommand: "unknown command"
            case .expectedSpace: "expected a single space"
            case .unexpectedCharacters: "unexpected characters after the arguments"
            case .unexpectedEnd: "missing argument"
            case .invalidString: "invalid string"
            case .invalidLiteral: "invalid literal"
            case .invalidAtom: "invalid atom"
            case .invalidNumber: "invalid number"
            case .numberTooLarge: "number too large"
            case .invalidSequenceSet: "invalid sequence set"
            case .tooManyRanges: "too many ranges in sequence set"
            case .invalidFlag: "invalid flag"
            case .invalidDate: "invalid date"
            case .invalidDateTime: "invalid date-time"
            case .unknownFetchAttribute: "unknown fetch attribute"
            case .tooManyFetchAttributes: "too many fetch attributes"
            case .invalidSection: "invalid body section"
            case .invalidHeaderName: "invalid header field name"
            case .unknownSearchKey: "unknown search key"
            case .searchTooDeep: "search keys nested too deeply"
            case .nestingTooDeep: "parentheses nested too deeply"
            case .unknownStatusItem: "unknown status item"
            case .invalidStoreAction: "invalid store data item"
            case .invalidParameter: "invalid parameter list"
            case .invalidBase64: "invalid base64"
            case .missingLiteral: "missing message literal"
            case .nulCharacter: "NUL character in command"
            case .lineTooLong: "line too long"
            case .literalTooLarge: "literal too large"
            case .commandTooLarge: "command too large"
            }
        }
    }

    public let code: Code
    /// The command's tag, when one could be read, so the gateway can answer `tag BAD`.
    public internal(set) var tag: IMAPTag?
    /// The command's name when it was recognised, so the message can name it.
    public internal(set) var command: IMAPCommandName?

    public init(_ code: Code, tag: IMAPTag? = nil, command: IMAPCommandName? = nil) {
        self.code = code
        self.tag = tag
        self.command = command
    }

    /// The text for the BAD response: short, and never an echo of the client's bytes.
    public var message: String {
        if let command { "\(command.rawValue): \(code)" } else { code.description }
    }

    public var description: String { message }
}
