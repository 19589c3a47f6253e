import SwiftASN1

/// The extended operations and the unsolicited notification this server knows, by OID.
public enum LDAPExtendedOperation {
    /// StartTLS (RFC 4511 §4.14.1).
    public static let startTLS = "1.3.6.1.4.1.1466.20037"
    /// "Who am I?" (RFC 4532 §2).
    public static let whoAmI = "1.3.6.1.4.1.4203.1.11.3"
    /// The Notice of Disconnection's responseName (RFC 4511 §4.4.1).
    public static let noticeOfDisconnection = "1.3.6.1.4.1.1466.20036"
}

/// RFC 4511 §4.12:
///
///     ExtendedRequest ::= [APPLICATION 23] SEQUENCE {
///          requestName      [0] LDAPOID,
///          requestValue     [1] OCTET STRING OPTIONAL }
public struct LDAPExtendedRequest: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]? = nil) {
        self.name = name
        self.value = value
    }

    /// "the requestValue field is always absent" (RFC 4511 §4.14.1).
    public static let startTLS = LDAPExtendedRequest(name: LDAPExtendedOperation.startTLS)
    /// "an absent requestValue field" (RFC 4532 §2.1).
    public static let whoAmI = LDAPExtendedRequest(name: LDAPExtendedOperation.whoAmI)

    init(ber node: ASN1Node) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(23), "ExtendedRequest")
        name = try elements.next("requestName").oid(.context(0), "requestName")
        value = try elements.next(ifTagged: .context(1))?.octets(.context(1), "requestValue")
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(23)) { body in
            body.string(name, .context(0))
            if let value { body.octets(value, .context(1)) }
        }
    }
}

/// RFC 4511 §4.12:
///
///     ExtendedResponse ::= [APPLICATION 24] SEQUENCE {
///          COMPONENTS OF LDAPResult,
///          responseName     [10] LDAPOID OPTIONAL,
///          responseValue    [11] OCTET STRING OPTIONAL }
public struct LDAPExtendedResponse: Sendable, Hashable {
    public var result: LDAPResult
    public var name: String?
    public var value: [UInt8]?

    public init(_ result: LDAPResult, name: String? = nil, value: [UInt8]? = nil) {
        self.result = result
        self.name = name
        self.value = value
    }

    /// The answer to StartTLS: its OID as responseName, no value (RFC 4511 §4.14.2). Success
    /// means the next octets on the connection are the TLS handshake.
    public static func startTLS(_ result: LDAPResult) -> LDAPExtendedResponse {
        LDAPExtendedResponse(result, name: LDAPExtendedOperation.startTLS)
    }

    /// The answer to "Who am I?" (RFC 4532 §2.2, §3): no responseName; the authzId as the
    /// value, empty for an anonymous client (`dn:` + the bound DN, RFC 4513 §5.2.1.8).
    public static func whoAmI(authorizationID: String) -> LDAPExtendedResponse {
        LDAPExtendedResponse(.success, value: Array(authorizationID.utf8))
    }

    init(ber node: ASN1Node) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(24), "ExtendedResponse")
        result = try LDAPResult(components: &elements)
        name = try elements.next(ifTagged: .context(10))?.oid(.context(10), "responseName")
        value = try elements.next(ifTagged: .context(11))?.octets(.context(11), "responseValue")
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(24)) { body in
            result.encodeComponents(into: &body)
            if let name { body.string(name, .context(10)) }
            if let value { body.octets(value, .context(11)) }
        }
    }
}
