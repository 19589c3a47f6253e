import SwiftASN1

/// The resultCode of an LDAPResult: every code RFC 4511 §4.1.9 lists, with the meanings of
/// Appendix A. The enumeration is extensible (RFC 4520 §3.8); a code not listed here fails to
/// decode with `invalidValue`, which only a client could meet: this server sends these alone.
public enum LDAPResultCode: Int, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case success = 0
    case operationsError = 1
    case protocolError = 2
    case timeLimitExceeded = 3
    case sizeLimitExceeded = 4
    case compareFalse = 5
    case compareTrue = 6
    case authMethodNotSupported = 7
    case strongerAuthRequired = 8
    case referral = 10
    case adminLimitExceeded = 11
    case unavailableCriticalExtension = 12
    case confidentialityRequired = 13
    case saslBindInProgress = 14
    case noSuchAttribute = 16
    case undefinedAttributeType = 17
    case inappropriateMatching = 18
    case constraintViolation = 19
    case attributeOrValueExists = 20
    case invalidAttributeSyntax = 21
    case noSuchObject = 32
    case aliasProblem = 33
    case invalidDNSyntax = 34
    case aliasDereferencingProblem = 36
    case inappropriateAuthentication = 48
    case invalidCredentials = 49
    case insufficientAccessRights = 50
    case busy = 51
    case unavailable = 52
    case unwillingToPerform = 53
    case loopDetect = 54
    case namingViolation = 64
    case objectClassViolation = 65
    case notAllowedOnNonLeaf = 66
    case notAllowedOnRDN = 67
    case entryAlreadyExists = 68
    case objectClassModsProhibited = 69
    case affectsMultipleDSAs = 71
    case other = 80

    /// The name RFC 4511 gives it, with the number: `unwillingToPerform (53)`.
    public var description: String { "\(name) (\(rawValue))" }

    private var name: String {
        switch self {
        case .success: "success"
        case .operationsError: "operationsError"
        case .protocolError: "protocolError"
        case .timeLimitExceeded: "timeLimitExceeded"
        case .sizeLimitExceeded: "sizeLimitExceeded"
        case .compareFalse: "compareFalse"
        case .compareTrue: "compareTrue"
        case .authMethodNotSupported: "authMethodNotSupported"
        case .strongerAuthRequired: "strongerAuthRequired"
        case .referral: "referral"
        case .adminLimitExceeded: "adminLimitExceeded"
        case .unavailableCriticalExtension: "unavailableCriticalExtension"
        case .confidentialityRequired: "confidentialityRequired"
        case .saslBindInProgress: "saslBindInProgress"
        case .noSuchAttribute: "noSuchAttribute"
        case .undefinedAttributeType: "undefinedAttributeType"
        case .inappropriateMatching: "inappropriateMatching"
        case .constraintViolation: "constraintViolation"
        case .attributeOrValueExists: "attributeOrValueExists"
        case .invalidAttributeSyntax: "invalidAttributeSyntax"
        case .noSuchObject: "noSuchObject"
        case .aliasProblem: "aliasProblem"
        case .invalidDNSyntax: "invalidDNSyntax"
        case .aliasDereferencingProblem: "aliasDereferencingProblem"
        case .inappropriateAuthentication: "inappropriateAuthentication"
        case .invalidCredentials: "invalidCredentials"
        case .insufficientAccessRights: "insufficientAccessRights"
        case .busy: "busy"
        case .unavailable: "unavailable"
        case .unwillingToPerform: "unwillingToPerform"
        case .loopDetect: "loopDetect"
        case .namingViolation: "namingViolation"
        case .objectClassViolation: "objectClassViolation"
        case .notAllowedOnNonLeaf: "notAllowedOnNonLeaf"
        case .notAllowedOnRDN: "notAllowedOnRDN"
        case .entryAlreadyExists: "entryAlreadyExists"
        case .objectClassModsProhibited: "objectClassModsProhibited"
        case .affectsMultipleDSAs: "affectsMultipleDSAs"
        case .other: "other"
        }
    }
}

/// The outcome of an operation (RFC 4511 §4.1.9):
///
///     LDAPResult ::= SEQUENCE {
///          resultCode         ENUMERATED { ... },
///          matchedDN          LDAPDN,
///          diagnosticMessage  LDAPString,
///          referral           [3] Referral OPTIONAL }
///     Referral ::= SEQUENCE SIZE (1..MAX) OF uri URI
public struct LDAPResult: Sendable, Hashable {
    public var resultCode: LDAPResultCode
    /// Set for noSuchObject and its kin to the last entry found (§4.1.9), otherwise empty.
    public var matchedDN: String
    /// Free text for people; empty when the server has none to give (§4.1.9).
    public var diagnosticMessage: String
    /// The URIs of a `referral` result (§4.1.10); empty means the field is absent.
    public var referral: [String]

    public init(_ resultCode: LDAPResultCode, matchedDN: String = "", diagnosticMessage: String = "", referral: [String] = []) {
        self.resultCode = resultCode
        self.matchedDN = matchedDN
        self.diagnosticMessage = diagnosticMessage
        self.referral = referral
    }

    public static let success = LDAPResult(.success)
}

extension LDAPResult {
    /// Reads the components of an LDAPResult where `elements` stands: a response's first three
    /// or four fields (`COMPONENTS OF LDAPResult`).
    init(components elements: inout BERElements) throws(LDAPCodecError) {
        let code = try elements.next("resultCode").integer(.enumerated, "resultCode")
        guard let resultCode = LDAPResultCode(rawValue: code) else { throw LDAPCodecError(.invalidValue, "resultCode \(code)") }
        self.resultCode = resultCode
        matchedDN = try elements.next("matchedDN").dn(.octetString, "matchedDN")
        diagnosticMessage = try elements.next("diagnosticMessage").string(.octetString, "diagnosticMessage")
        referral = []
        if let node = elements.next(ifTagged: .context(3)) {
            var uris = try BERElements(node, .context(3), "Referral")
            for uri in uris.rest() { referral.append(try uri.string(.octetString, "URI")) }
            guard !referral.isEmpty else { throw LDAPCodecError(.invalidValue, "Referral SIZE (1..MAX)") }
        }
    }

    /// A response that is an LDAPResult and nothing more (SearchResultDone, ModifyResponse, ...).
    init(ber node: ASN1Node, _ tag: ASN1Identifier, _ what: String) throws(LDAPCodecError) {
        var elements = try BERElements(node, tag, what)
        try self.init(components: &elements)
    }

    func encodeComponents(into serializer: inout DER.Serializer) {
        serializer.integer(resultCode.rawValue, .enumerated)
        serializer.string(matchedDN)
        serializer.string(diagnosticMessage)
        if !referral.isEmpty {
            serializer.constructed(.context(3)) { list in
                for uri in referral { list.string(uri) }
            }
        }
    }
}
