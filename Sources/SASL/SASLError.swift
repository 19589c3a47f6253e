/// Why an exchange failed (STYLE §9: a struct around a private code enum, compared by code). The
/// codec maps each to its protocol's reply; none carries a secret.
public struct SASLError: Error, Hashable, Sendable, CustomStringConvertible {
    fileprivate enum Base: Hashable, Sendable {
        case cancelled
        case invalidBase64
        case lineTooLong
        case malformedMessage
        case fieldTooLong
        case authorizationIdentityRefused
        case initialResponseNotAllowed
        case expectedEmptyResponse
        case unexpectedInput
    }

    public struct Code: Hashable, Sendable {
        fileprivate let base: Base
        fileprivate init(_ base: Base) { self.base = base }

        /// The client sent `*` (RFC 4954 §4, RFC 5034 §4, RFC 3501 §6.2.2).
        public static let cancelled = Code(.cancelled)
        /// A response (or initial response) that is not canonical base64 (RFC 4648 §4).
        public static let invalidBase64 = Code(.invalidBase64)
        /// A response line over `SASLLimits.responseLine`.
        public static let lineTooLong = Code(.lineTooLong)
        /// The decoded message breaks the mechanism's grammar (RFC 4616 §2, RFC 2195 §2, ...).
        public static let malformedMessage = Code(.malformedMessage)
        /// A PLAIN field or a user name over `SASLLimits.field`.
        public static let fieldTooLong = Code(.fieldTooLong)
        /// PLAIN with an authzid other than the authcid: proxy authentication is not offered.
        public static let authorizationIdentityRefused = Code(.authorizationIdentityRefused)
        /// An initial response to a server-first mechanism (CRAM-MD5, RFC 2195 §2).
        public static let initialResponseNotAllowed = Code(.initialResponseNotAllowed)
        /// Server-final data was sent as a challenge; the client must answer with an empty response.
        public static let expectedEmptyResponse = Code(.expectedEmptyResponse)
        /// Input the exchange cannot be waiting for (a codec bug); the codec ends the exchange.
        public static let unexpectedInput = Code(.unexpectedInput)
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String {
        switch code.base {
        case .cancelled: "authentication cancelled"
        case .invalidBase64: "invalid base64 in SASL response"
        case .lineTooLong: "SASL response line too long"
        case .malformedMessage: "malformed SASL message"
        case .fieldTooLong: "SASL field too long"
        case .authorizationIdentityRefused: "authorization identity refused"
        case .initialResponseNotAllowed: "mechanism takes no initial response"
        case .expectedEmptyResponse: "expected an empty response"
        case .unexpectedInput: "unexpected input in SASL exchange"
        }
    }
}
