/// A name or message that does not follow RFC 1035, or that passes one of `DNSLimits`. A struct
/// around a private code enum so new codes do not break callers (STYLE §9); tests compare `code`.
public struct DNSCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case truncated
            case messageTooLarge
            case tooManyQuestions
            case tooManyRecords
            case emptyLabel
            case labelTooLong
            case nameTooLong
            case invalidCharacter
            case invalidLabelType
            case invalidPointer
            case tooManyPointers
            case invalidRecordData
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The message ends inside its header, a name, a record or a record's data.
        public static let truncated = Code(.truncated)
        /// Longer than `DNSLimits.maximumMessageSize`.
        public static let messageTooLarge = Code(.messageTooLarge)
        /// The header declares more than `DNSLimits.maximumQuestions`.
        public static let tooManyQuestions = Code(.tooManyQuestions)
        /// The header declares more than `DNSLimits.maximumRecords`.
        public static let tooManyRecords = Code(.tooManyRecords)
        /// A name with an empty label other than the root (`a..b`, `.a`).
        public static let emptyLabel = Code(.emptyLabel)
        /// A label over 63 octets (RFC 1035 §2.3.4).
        public static let labelTooLong = Code(.labelTooLong)
        /// A name over 255 octets in wire form (RFC 1035 §2.3.4), after decompression.
        public static let nameTooLong = Code(.nameTooLong)
        /// A name given as text with a character outside printable ASCII, a space or a backslash;
        /// internationalised names must arrive as A-labels (RFC 5890 §2.3.2.1).
        public static let invalidCharacter = Code(.invalidCharacter)
        /// A label length octet whose top bits are 01 or 10 (RFC 1035 §4.1.4 reserves them).
        public static let invalidLabelType = Code(.invalidLabelType)
        /// A compression pointer that does not point before the labels it follows: a loop, or a
        /// pointer forward (RFC 1035 §4.1.4 speaks only of prior occurrences).
        public static let invalidPointer = Code(.invalidPointer)
        /// More pointers in one name than `DNSLimits.maximumPointerHops`.
        public static let tooManyPointers = Code(.tooManyPointers)
        /// RDATA whose length does not fit its type (A is 4 octets, AAAA 16, an MX's exchange
        /// must end where RDLENGTH says), or RDATA over 65535 octets when encoding.
        public static let invalidRecordData = Code(.invalidRecordData)

        public var description: String {
            switch base {
            case .truncated: "message truncated"
            case .messageTooLarge: "message too large"
            case .tooManyQuestions: "too many questions"
            case .tooManyRecords: "too many records"
            case .emptyLabel: "empty label"
            case .labelTooLong: "label too long"
            case .nameTooLong: "name too long"
            case .invalidCharacter: "invalid character in name"
            case .invalidLabelType: "invalid label type"
            case .invalidPointer: "compression pointer not backwards"
            case .tooManyPointers: "too many compression pointers"
            case .invalidRecordData: "invalid record data"
            }
        }
    }

    public let code: Code
    /// Where in the message the problem was found, when it came from parsing one.
    public let offset: Int?

    public init(_ code: Code, offset: Int? = nil) {
        self.code = code
        self.offset = offset
    }

    public var description: String {
        if let offset { "\(code) at offset \(offset)" } else { code.description }
    }
}
