/// Which protocolOp a message carries: the number of its `[APPLICATION n]` tag (RFC 4511 §4.1.1,
/// Appendix B). Known even when the operation's contents do not decode, so that an error can
/// be answered with the right response type.
public enum LDAPOperation: UInt8, Sendable, Hashable, CaseIterable {
    case bindRequest = 0
    case bindResponse = 1
    case unbindRequest = 2
    case searchRequest = 3
    case searchResultEntry = 4
    case searchResultDone = 5
    case modifyRequest = 6
    case modifyResponse = 7
    case addRequest = 8
    case addResponse = 9
    case deleteRequest = 10
    case deleteResponse = 11
    case modifyDNRequest = 12
    case modifyDNResponse = 13
    case compareRequest = 14
    case compareResponse = 15
    case abandonRequest = 16
    case searchResultReference = 19
    case extendedRequest = 23
    case extendedResponse = 24
    case intermediateResponse = 25

    /// Whether a client sends it. A server that receives anything else ends the session
    /// (RFC 4511 §4.1.1: "the tag of the protocolOp is not recognized as a request").
    public var isRequest: Bool {
        switch self {
        case .bindRequest, .unbindRequest, .searchRequest, .modifyRequest, .addRequest, .deleteRequest, .modifyDNRequest,
            .compareRequest, .abandonRequest, .extendedRequest:
            true
        default: false
        }
    }

    /// The operation that ends the answer to this request; nil for Unbind and Abandon, which
    /// have none (RFC 4511 §4.3, §4.11), and for anything that is not a request.
    public var response: LDAPOperation? {
        switch self {
        case .bindRequest: .bindResponse
        case .searchRequest: .searchResultDone
        case .modifyRequest: .modifyResponse
        case .addRequest: .addResponse
        case .deleteRequest: .deleteResponse
        case .modifyDNRequest: .modifyDNResponse
        case .compareRequest: .compareResponse
        case .extendedRequest: .extendedResponse
        default: nil
        }
    }
}
