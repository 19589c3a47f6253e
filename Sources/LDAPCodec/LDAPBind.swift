import SwiftASN1

/// RFC 4511 §4.2:
///
///     BindRequest ::= [APPLICATION 0] SEQUENCE {
///          version                 INTEGER (1 ..  127),
///          name                    LDAPDN,
///          authentication          AuthenticationChoice }
public struct LDAPBindRequest: Sendable, Hashable {
    /// 3 for LDAPv3. Any other in 1...127 decodes: the server answers it with protocolError
    /// (§4.2: "If the server does not support the specified version, it MUST respond with a
    /// BindResponse where the resultCode is set to protocolError").
    public var version: Int
    /// Empty for an anonymous bind or SASL (§4.2).
    public var name: String
    public var authentication: LDAPAuthentication

    public init(version: Int = 3, name: String, authentication: LDAPAuthentication) {
        self.version = version
        self.name = name
        self.authentication = authentication
    }

    /// An anonymous simple bind (RFC 4513 §5.1.1): no name, no password.
    public static let anonymous = LDAPBindRequest(name: "", authentication: .simple([]))

    init(ber node: ASN1Node) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(0), "BindRequest")
        version = try elements.next("version").integer(.integer, "version")
        guard (1...127).contains(version) else { throw LDAPCodecError(.invalidValue, "version \(version)") }
        name = try elements.next("name").dn(.octetString, "name")
        authentication = try LDAPAuthentication(ber: elements.next("authentication"))
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(0)) { body in
            body.integer(version)
            body.string(name)
            authentication.encode(into: &body)
        }
    }
}

/// RFC 4511 §4.2:
///
///     AuthenticationChoice ::= CHOICE {
///          simple                  [0] OCTET STRING,
///                                  -- 1 and 2 reserved
///          sasl                    [3] SaslCredentials,
///          ...  }
///     SaslCredentials ::= SEQUENCE {
///          mechanism               LDAPString,
///          credentials             OCTET STRING OPTIONAL }
public enum LDAPAuthentication: Sendable, Hashable {
    /// The password's octets; empty for an anonymous or unauthenticated bind (RFC 4513 §5.1).
    case simple([UInt8])
    /// A SASL mechanism and its credentials, absent when the client sends none (RFC 4513 §5.2).
    case sasl(mechanism: String, credentials: [UInt8]?)
    /// Another choice (the reserved [1] and [2], or a future one), kept as its whole encoding:
    /// the server answers authMethodNotSupported (§4.2), it is not an error in the message.
    case unrecognized([UInt8])

    init(ber node: ASN1Node) throws(LDAPCodecError) {
        switch node.identifier {
        case .context(0):
            self = .simple(try node.octets(.context(0), "simple"))
        case .context(3):
            var elements = try BERElements(node, .context(3), "SaslCredentials")
            let mechanism = try elements.next("mechanism").string(.octetString, "mechanism")
            let credentials = try elements.next(ifTagged: .octetString)?.octets(.octetString, "credentials")
            self = .sasl(mechanism: mechanism, credentials: credentials)
        default:
            self = .unrecognized(Array(node.encodedBytes))
        }
    }

    func encode(into serializer: inout DER.Serializer) {
        switch self {
        case .simple(let password): serializer.octets(password, .context(0))
        case .sasl(let mechanism, let credentials):
            serializer.constructed(.context(3)) { body in
                body.string(mechanism)
                if let credentials { body.octets(credentials) }
            }
        case .unrecognized(let encoding): serializer.serializeRawBytes(encoding)
        }
    }
}

/// RFC 4511 §4.2.2:
///
///     BindResponse ::= [APPLICATION 1] SEQUENCE {
///          COMPONENTS OF LDAPResult,
///          serverSaslCreds    [7] OCTET STRING OPTIONAL }
public struct LDAPBindResponse: Sendable, Hashable {
    public var result: LDAPResult
    /// A SASL mechanism's challenge or final data (RFC 4513 §5.2.1.6); absent for simple binds.
    public var serverSASLCredentials: [UInt8]?

    public init(_ result: LDAPResult, serverSASLCredentials: [UInt8]? = nil) {
        self.result = result
        self.serverSASLCredentials = serverSASLCredentials
    }

    init(ber node: ASN1Node) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(1), "BindResponse")
        result = try LDAPResult(components: &elements)
        serverSASLCredentials = try elements.next(ifTagged: .context(7))?.octets(.context(7), "serverSaslCreds")
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(1)) { body in
            result.encodeComponents(into: &body)
            if let serverSASLCredentials { body.octets(serverSASLCredentials, .context(7)) }
        }
    }
}
