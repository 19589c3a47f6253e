import SwiftASN1

/// RFC 4511 §4.1.11:
///
///     Controls ::= SEQUENCE OF control Control
///     Control ::= SEQUENCE {
///          controlType             LDAPOID,
///          criticality             BOOLEAN DEFAULT FALSE,
///          controlValue            OCTET STRING OPTIONAL }
public struct LDAPControl: Sendable, Hashable {
    public var type: String
    public var criticality: Bool
    public var value: [UInt8]?

    public init(type: String, criticality: Bool = false, value: [UInt8]? = nil) {
        self.type = type
        self.criticality = criticality
        self.value = value
    }

    init(ber node: ASN1Node) throws(LDAPCodecError) {
        var elements = try BERElements(node, .sequence, "Control")
        type = try elements.next("controlType").oid(.octetString, "controlType")
        criticality = try elements.next(ifTagged: .boolean)?.boolean(.boolean, "criticality") ?? false
        value = try elements.next(ifTagged: .octetString)?.octets(.octetString, "controlValue")
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.sequence) { body in
            body.string(type)
            // "If a value of a type is its default value, it is absent" (RFC 4511 §5.1).
            if criticality { body.boolean(true) }
            if let value { body.octets(value) }
        }
    }
}

/// The simple paged results control (RFC 2696 §2):
///
///     pagedResultsControl ::= SEQUENCE {
///             controlType     1.2.840.113556.1.4.319,
///             criticality     BOOLEAN DEFAULT FALSE,
///             controlValue    searchControlValue }
///     realSearchControlValue ::= SEQUENCE {
///             size            INTEGER (0..maxInt),
///                                     -- requested page size from client
///                                     -- result set size estimate from server
///             cookie          OCTET STRING }
public struct LDAPPagedResultsControl: Sendable, Hashable {
    public static let oid = "1.2.840.113556.1.4.319"

    /// The page size asked for, or the server's estimate of the whole result (0: unknown).
    public var size: Int32
    /// Empty on the first request and on the last page's SearchResultDone (RFC 2696 §3).
    public var cookie: [UInt8]

    public init(size: Int32, cookie: [UInt8] = []) {
        self.size = size
        self.cookie = cookie
    }

    /// The control's value decoded. Absent or malformed, it is answered with protocolError,
    /// as OpenLDAP answers it ("paged results control value is absent").
    public init(_ control: LDAPControl) throws(LDAPCodecError) {
        guard let value = control.value else { throw LDAPCodecError(.invalidValue, "paged results control value is absent") }
        let node: ASN1Node
        do {
            node = try BER.parse(value)
        } catch {
            throw LDAPCodecError(.invalidValue, "paged results control value: \(error)")
        }
        do {
            var elements = try BERElements(node, .sequence, "realSearchControlValue")
            size = try elements.next("size").nonNegative("size")
            cookie = try elements.next("cookie").octets(.octetString, "cookie")
        } catch {
            throw LDAPCodecError(.invalidValue, "paged results control value: \(error.detail)")
        }
    }

    /// The control that carries this value, non-critical: a server's response control is
    /// never critical (RFC 4511 §4.1.11: "the criticality field SHOULD be FALSE").
    public func control(criticality: Bool = false) -> LDAPControl {
        var serializer = DER.Serializer()
        serializer.constructed(.sequence) { body in
            body.integer(Int(size))
            body.octets(cookie)
        }
        return LDAPControl(type: Self.oid, criticality: criticality, value: serializer.serializedBytes)
    }
}

/// The controls of one request as this server understands them (RFC 4511 §4.1.11). Paged
/// results applies to a SearchRequest alone; any other control, or paged results on another
/// operation, is one the server does not apply: ignored when it is not critical, and when it is,
/// the request is not performed and its response carries unavailableCriticalExtension.
public struct LDAPRequestControls: Sendable, Hashable {
    public var pagedResults: LDAPPagedResultsControl?
    /// The first critical control the server will not apply; when set, answer the request
    /// with `unavailableCriticalExtension` and do nothing else.
    public var unavailableCriticalControl: LDAPControl?

    public init(pagedResults: LDAPPagedResultsControl? = nil, unavailableCriticalControl: LDAPControl? = nil) {
        self.pagedResults = pagedResults
        self.unavailableCriticalControl = unavailableCriticalControl
    }

    /// Reads `message`'s controls. A paged results control with a bad value, or given twice,
    /// throws `invalidValue` with the message's ID: the response carries protocolError.
    public init(of message: LDAPMessage) throws(LDAPCodecError) {
        let operation = message.protocolOp.operation
        for control in message.controls {
            if control.type == LDAPPagedResultsControl.oid, operation == .searchRequest {
                do throws(LDAPCodecError) {
                    guard pagedResults == nil else {
                        throw LDAPCodecError(.invalidValue, "paged results control given twice")
                    }
                    pagedResults = try LDAPPagedResultsControl(control)
                } catch {
                    throw error.located(messageID: message.messageID, operation: operation)
                }
            } else if control.criticality, unavailableCriticalControl == nil, operation != .unbindRequest {
                // The criticality of a control on an UnbindRequest "MUST be ignored" (§4.1.11).
                unavailableCriticalControl = control
            }
        }
    }
}
