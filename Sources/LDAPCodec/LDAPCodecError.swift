/// Bytes that are not an LDAPMessage, or one that passes an `LDAPLimits` bound. A struct around
/// a private code enum so new codes do not break callers (STYLE §9); tests compare `code`.
///
/// It carries what could be read before the problem, the messageID and the protocolOp's tag,
/// so that `reply` can say what the server owes the client (RFC 4511 §4.1.1): a response of the
/// request's own type with `resultCode`, or the Notice of Disconnection before it closes.
public struct LDAPCodecError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case notAMessage, indefiniteLength, lengthTooLong, pduTooLarge, bufferLimitExceeded
            case malformed, nestingTooDeep, invalidMessageID, unknownOperation
            case invalidValue, invalidString, invalidDN, invalidOID
            case filterTooDeep, tooManyFilterComponents, tooManyAttributes, valueTooLong, tooManyControls
            case filterSyntax
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        // The stream cannot be cut into messages: no messageID, the session ends. An indefinite
        // length and too many length octets are refused inside a framed message too, by the
        // decoder's first pass, and then carry its messageID; the reply is the same.

        /// The first octet of a message is not 0x30, the SEQUENCE tag of LDAPMessage (§4.1.1).
        public static let notAMessage = Code(.notAMessage)
        /// A length octet of 0x80: "Only the definite form of length encoding is used" (§5.1).
        public static let indefiniteLength = Code(.indefiniteLength)
        /// More length octets than `LDAPLimits.maximumLengthOctets`, or the reserved 0xFF.
        public static let lengthTooLong = Code(.lengthTooLong)
        /// A message longer than `LDAPLimits.pduSize`, refused from its length alone.
        public static let pduTooLarge = Code(.pduTooLarge)
        /// More than `LDAPLimits.bufferedBytes` waiting in the framer.
        public static let bufferLimitExceeded = Code(.bufferLimitExceeded)

        // A whole message whose structure is wrong (§4.1.1: "the encoding structures or lengths
        // of data fields are found to be incorrect"): the Notice of Disconnection, then close.

        /// A missing or misplaced element, a wrong tag, a length that overruns its parent,
        /// a constructed OCTET STRING (§5.1), bad INTEGER or BOOLEAN contents.
        public static let malformed = Code(.malformed)
        /// Elements nested deeper than `LDAPLimits.maximumNesting`.
        public static let nestingTooDeep = Code(.nestingTooDeep)
        /// The messageID is not an INTEGER in 0...maxInt (§4.1.1.1).
        public static let invalidMessageID = Code(.invalidMessageID)
        /// A protocolOp tag that RFC 4511 does not define.
        public static let unknownOperation = Code(.unknownOperation)

        // A well-formed message the server answers with an error and goes on.

        /// An ENUMERATED or INTEGER out of its range (a scope of 7, a Bind version of 0, a
        /// negative sizeLimit), or fields that contradict each other (a substring filter with two
        /// `initial`s, an extensibleMatch with neither matchingRule nor type).
        public static let invalidValue = Code(.invalidValue)
        /// An LDAPString that is not UTF-8 (§4.1.2).
        public static let invalidString = Code(.invalidString)
        /// An LDAPDN that is not UTF-8; answered with invalidDNSyntax, as OpenLDAP does.
        public static let invalidDN = Code(.invalidDN)
        /// An LDAPOID that is not a <numericoid> (§4.1.2, RFC 4512 §1.4).
        public static let invalidOID = Code(.invalidOID)
        /// A filter nested deeper than `LDAPLimits.filterDepth`.
        public static let filterTooDeep = Code(.filterTooDeep)
        /// More filters in one than `LDAPLimits.filterComponents`.
        public static let tooManyFilterComponents = Code(.tooManyFilterComponents)
        /// More attribute selectors than `LDAPLimits.searchAttributes`.
        public static let tooManyAttributes = Code(.tooManyAttributes)
        /// A value longer than `LDAPLimits.valueLength`.
        public static let valueTooLong = Code(.valueTooLong)
        /// More controls than `LDAPLimits.controls`.
        public static let tooManyControls = Code(.tooManyControls)

        /// A filter string that does not follow RFC 4515 §3 (never from BER).
        public static let filterSyntax = Code(.filterSyntax)

        /// The stream itself is broken; nothing more can be read from it.
        public var isFraming: Bool {
            switch base {
            case .notAMessage, .indefiniteLength, .lengthTooLong, .pduTooLarge, .bufferLimitExceeded: true
            default: false
            }
        }

        /// The message cannot be trusted: RFC 4511 §4.1.1 asks for the Notice of Disconnection.
        public var endsSession: Bool {
            switch base {
            case .malformed, .nestingTooDeep, .invalidMessageID, .unknownOperation: true
            default: isFraming
            }
        }

        /// A bound of `LDAPLimits` inside a message that is otherwise fine.
        public var isLimit: Bool {
            switch base {
            case .filterTooDeep, .tooManyFilterComponents, .tooManyAttributes, .valueTooLong, .tooManyControls: true
            default: false
            }
        }

        public var description: String {
            switch base {
            case .notAMessage: "not an LDAPMessage"
            case .indefiniteLength: "indefinite length"
            case .lengthTooLong: "length too long"
            case .pduTooLarge: "message too large"
            case .bufferLimitExceeded: "too many octets buffered"
            case .malformed: "malformed message"
            case .nestingTooDeep: "elements nested too deep"
            case .invalidMessageID: "invalid messageID"
            case .unknownOperation: "unknown LDAP operation"
            case .invalidValue: "invalid value"
            case .invalidString: "invalid UTF-8 string"
            case .invalidDN: "invalid DN"
            case .invalidOID: "invalid OID"
            case .filterTooDeep: "filter nested too deep"
            case .tooManyFilterComponents: "too many filter components"
            case .tooManyAttributes: "too many attributes requested"
            case .valueTooLong: "value too long"
            case .tooManyControls: "too many controls"
            case .filterSyntax: "invalid filter"
            }
        }
    }

    public let code: Code
    /// The message's ID, when it could be read.
    public let messageID: LDAPMessageID?
    /// The message's protocolOp, when its tag could be read and is one RFC 4511 defines.
    public let operation: LDAPOperation?
    /// What the log should say beyond the code: the field, the offending value, the offset.
    public let detail: String

    public init(_ code: Code, _ detail: String = "", messageID: LDAPMessageID? = nil, operation: LDAPOperation? = nil) {
        self.code = code
        self.detail = detail
        self.messageID = messageID
        self.operation = operation
    }

    /// The same error, placed in the message it was found in.
    func located(messageID: LDAPMessageID?, operation: LDAPOperation?) -> LDAPCodecError {
        LDAPCodecError(code, detail, messageID: self.messageID ?? messageID, operation: self.operation ?? operation)
    }

    public var description: String { detail.isEmpty ? code.description : "\(code): \(detail)" }

    /// The code of the result that answers the request: adminLimitExceeded for a bound of
    /// `LDAPLimits` (RFC 4511 Appendix A), invalidDNSyntax for a DN, protocolError otherwise
    /// (§4.1.1: "an appropriate response to the request, with the resultCode set to
    /// protocolError"; the Notice of Disconnection carries protocolError too).
    public var resultCode: LDAPResultCode {
        if code.isLimit { return .adminLimitExceeded }
        if code == .invalidDN { return .invalidDNSyntax }
        return .protocolError
    }

    /// What the server sends, per RFC 4511 §4.1.1: the Notice of Disconnection (then it closes)
    /// when the stream or the message's structure is broken, the messageID could not be read, or
    /// the operation is not a request; otherwise the request's own response with `resultCode`;
    /// nothing for an Abandon, which has no response (§4.11).
    public var reply: LDAPErrorReply {
        guard !code.endsSession, let messageID, let operation, operation.isRequest else {
            return .disconnect(.noticeOfDisconnection(.protocolError, diagnosticMessage: code.description))
        }
        let result = LDAPResult(resultCode, diagnosticMessage: code.description)
        guard let response = LDAPProtocolOp.response(to: operation, result) else {
            return operation == .unbindRequest ? .disconnect(nil) : .ignore
        }
        return .respond(LDAPMessage(messageID: messageID, response))
    }
}

/// What a server owes a client for an `LDAPCodecError` (`LDAPCodecError.reply`).
public enum LDAPErrorReply: Hashable, Sendable {
    /// Send the response and go on reading.
    case respond(LDAPMessage)
    /// Send the Notice of Disconnection, when there is one (an Unbind that failed to decode
    /// needs none: the client is leaving), then close (RFC 4511 §5.3).
    case disconnect(LDAPMessage?)
    /// A request without a response (Abandon): drop it and go on.
    case ignore
}
