import SwiftASN1

// The requests that change the directory (RFC 4511 §4.6 to §4.9). Loft's directory is
// read-only: they are decoded so that the server can answer each with its own response type,
// unwillingToPerform (53), as OpenLDAP's slapd does with `readonly on` ("operation
// restricted"); DelRequest is `LDAPProtocolOp.deleteRequest`, a bare LDAPDN.

/// RFC 4511 §4.6:
///
///     ModifyRequest ::= [APPLICATION 6] SEQUENCE {
///          object          LDAPDN,
///          changes         SEQUENCE OF change SEQUENCE {
///               operation       ENUMERATED { add (0), delete (1), replace (2), ... },
///               modification    PartialAttribute } }
public struct LDAPModifyRequest: Sendable, Hashable {
    public var object: String
    public var changes: [LDAPModification]

    public init(object: String, changes: [LDAPModification]) {
        self.object = object
        self.changes = changes
    }

    init(ber node: ASN1Node, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(6), "ModifyRequest")
        object = try elements.next("object").dn(.octetString, "object")
        var list = try BERElements(elements.next("changes"), .sequence, "changes")
        changes = []
        for change in list.rest() {
            var fields = try BERElements(change, .sequence, "change")
            let value = try fields.next("operation").integer(.enumerated, "operation")
            guard let operation = LDAPModification.Operation(rawValue: value) else {
                throw LDAPCodecError(.invalidValue, "modify operation \(value)")
            }
            changes.append(LDAPModification(operation, try LDAPAttribute(ber: fields.next("modification"), limits: limits)))
        }
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(6)) { body in
            body.string(object)
            body.constructed(.sequence) { list in
                for change in changes {
                    list.constructed(.sequence) { fields in
                        fields.integer(change.operation.rawValue, .enumerated)
                        change.modification.encode(into: &fields)
                    }
                }
            }
        }
    }
}

/// One change of a ModifyRequest.
public struct LDAPModification: Sendable, Hashable {
    public enum Operation: Int, Sendable, Hashable, CaseIterable {
        case add = 0
        case delete = 1
        case replace = 2
    }

    public var operation: Operation
    public var modification: LDAPAttribute

    public init(_ operation: Operation, _ modification: LDAPAttribute) {
        self.operation = operation
        self.modification = modification
    }
}

/// RFC 4511 §4.7:
///
///     AddRequest ::= [APPLICATION 8] SEQUENCE {
///          entry           LDAPDN,
///          attributes      AttributeList }
///     AttributeList ::= SEQUENCE OF attribute Attribute
public struct LDAPAddRequest: Sendable, Hashable {
    public var entry: String
    public var attributes: [LDAPAttribute]

    public init(entry: String, attributes: [LDAPAttribute]) {
        self.entry = entry
        self.attributes = attributes
    }

    init(ber node: ASN1Node, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(8), "AddRequest")
        entry = try elements.next("entry").dn(.octetString, "entry")
        attributes = try LDAPAttribute.list(elements.next("attributes"), "AttributeList", limits: limits)
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(8)) { body in
            body.string(entry)
            LDAPAttribute.encode(attributes, into: &body)
        }
    }
}

/// RFC 4511 §4.9:
///
///     ModifyDNRequest ::= [APPLICATION 12] SEQUENCE {
///          entry           LDAPDN,
///          newrdn          RelativeLDAPDN,
///          deleteoldrdn    BOOLEAN,
///          newSuperior     [0] LDAPDN OPTIONAL }
public struct LDAPModifyDNRequest: Sendable, Hashable {
    public var entry: String
    public var newRDN: String
    public var deleteOldRDN: Bool
    public var newSuperior: String?

    public init(entry: String, newRDN: String, deleteOldRDN: Bool, newSuperior: String? = nil) {
        self.entry = entry
        self.newRDN = newRDN
        self.deleteOldRDN = deleteOldRDN
        self.newSuperior = newSuperior
    }

    init(ber node: ASN1Node) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(12), "ModifyDNRequest")
        entry = try elements.next("entry").dn(.octetString, "entry")
        newRDN = try elements.next("newrdn").dn(.octetString, "newrdn")
        deleteOldRDN = try elements.next("deleteoldrdn").boolean(.boolean, "deleteoldrdn")
        newSuperior = try elements.next(ifTagged: .context(0))?.dn(.context(0), "newSuperior")
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(12)) { body in
            body.string(entry)
            body.string(newRDN)
            body.boolean(deleteOldRDN)
            if let newSuperior { body.string(newSuperior, .context(0)) }
        }
    }
}

/// RFC 4511 §4.10:
///
///     CompareRequest ::= [APPLICATION 14] SEQUENCE {
///          entry           LDAPDN,
///          ava             AttributeValueAssertion }
public struct LDAPCompareRequest: Sendable, Hashable {
    public var entry: String
    public var assertion: LDAPAttributeValueAssertion

    public init(entry: String, assertion: LDAPAttributeValueAssertion) {
        self.entry = entry
        self.assertion = assertion
    }

    init(ber node: ASN1Node, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(14), "CompareRequest")
        entry = try elements.next("entry").dn(.octetString, "entry")
        assertion = try LDAPAttributeValueAssertion(ber: elements.next("ava"), .sequence, limits: limits)
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(14)) { body in
            body.string(entry)
            assertion.encode(into: &body, .sequence)
        }
    }
}
