import SwiftASN1

/// RFC 4511 §4.5.1:
///
///     SearchRequest ::= [APPLICATION 3] SEQUENCE {
///          baseObject      LDAPDN,
///          scope           ENUMERATED { baseObject (0), singleLevel (1), wholeSubtree (2), ... },
///          derefAliases    ENUMERATED { neverDerefAliases (0), derefInSearching (1),
///                                       derefFindingBaseObj (2), derefAlways (3) },
///          sizeLimit       INTEGER (0 ..  maxInt),
///          timeLimit       INTEGER (0 ..  maxInt),
///          typesOnly       BOOLEAN,
///          filter          Filter,
///          attributes      AttributeSelection }
///     AttributeSelection ::= SEQUENCE OF selector LDAPString
public struct LDAPSearchRequest: Sendable, Hashable {
    public var baseObject: String
    public var scope: LDAPSearchScope
    public var derefAliases: LDAPDerefAliases
    /// Entries to return at most; 0 is no limit from the client (§4.5.1.4).
    public var sizeLimit: Int32
    /// Seconds to spend at most; 0 is no limit from the client (§4.5.1.5).
    public var timeLimit: Int32
    /// Attribute descriptions only, no values (§4.5.1.6).
    public var typesOnly: Bool
    public var filter: LDAPFilter
    /// Empty for all user attributes; `*`, `1.1` and descriptions as §4.5.1.8 has them.
    public var attributes: [String]

    public init(
        baseObject: String, scope: LDAPSearchScope = .wholeSubtree, derefAliases: LDAPDerefAliases = .neverDerefAliases,
        sizeLimit: Int32 = 0, timeLimit: Int32 = 0, typesOnly: Bool = false, filter: LDAPFilter, attributes: [String] = []
    ) {
        self.baseObject = baseObject
        self.scope = scope
        self.derefAliases = derefAliases
        self.sizeLimit = sizeLimit
        self.timeLimit = timeLimit
        self.typesOnly = typesOnly
        self.filter = filter
        self.attributes = attributes
    }

    init(ber node: ASN1Node, decoder: inout LDAPDecoder) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(3), "SearchRequest")
        baseObject = try elements.next("baseObject").dn(.octetString, "baseObject")
        let scopeValue = try elements.next("scope").integer(.enumerated, "scope")
        // OpenLDAP answers an unknown scope with protocolError ("invalid scope"), so does this.
        guard let scope = LDAPSearchScope(rawValue: scopeValue) else { throw LDAPCodecError(.invalidValue, "scope \(scopeValue)") }
        self.scope = scope
        let derefValue = try elements.next("derefAliases").integer(.enumerated, "derefAliases")
        guard let deref = LDAPDerefAliases(rawValue: derefValue) else { throw LDAPCodecError(.invalidValue, "derefAliases \(derefValue)") }
        derefAliases = deref
        sizeLimit = try elements.next("sizeLimit").nonNegative("sizeLimit")
        timeLimit = try elements.next("timeLimit").nonNegative("timeLimit")
        typesOnly = try elements.next("typesOnly").boolean(.boolean, "typesOnly")
        filter = try decoder.filter(elements.next("filter"), depth: 1)
        var selectors = try BERElements(elements.next("attributes"), .sequence, "AttributeSelection")
        let nodes = selectors.rest()
        guard nodes.count <= decoder.limits.searchAttributes else {
            throw LDAPCodecError(.tooManyAttributes, "\(nodes.count) attributes")
        }
        attributes = []
        for selector in nodes { attributes.append(try selector.string(.octetString, "attribute selector")) }
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(3)) { body in
            body.string(baseObject)
            body.integer(scope.rawValue, .enumerated)
            body.integer(derefAliases.rawValue, .enumerated)
            body.integer(Int(sizeLimit))
            body.integer(Int(timeLimit))
            body.boolean(typesOnly)
            filter.encode(into: &body)
            body.constructed(.sequence) { list in
                for attribute in attributes { list.string(attribute) }
            }
        }
    }
}

/// SearchRequest.scope (RFC 4511 §4.5.1.2).
public enum LDAPSearchScope: Int, Sendable, Hashable, CaseIterable {
    /// The base object only.
    case baseObject = 0
    /// The base object's immediate subordinates, not the base itself.
    case singleLevel = 1
    /// The base object and all its subordinates.
    case wholeSubtree = 2
}

/// SearchRequest.derefAliases (RFC 4511 §4.5.1.3).
public enum LDAPDerefAliases: Int, Sendable, Hashable, CaseIterable {
    case neverDerefAliases = 0
    case derefInSearching = 1
    case derefFindingBaseObj = 2
    case derefAlways = 3
}

/// RFC 4511 §4.5.2:
///
///     SearchResultEntry ::= [APPLICATION 4] SEQUENCE {
///          objectName      LDAPDN,
///          attributes      PartialAttributeList }
///     PartialAttributeList ::= SEQUENCE OF partialAttribute PartialAttribute
public struct LDAPSearchResultEntry: Sendable, Hashable {
    public var objectName: String
    public var attributes: [LDAPAttribute]

    public init(objectName: String, attributes: [LDAPAttribute]) {
        self.objectName = objectName
        self.attributes = attributes
    }

    init(ber node: ASN1Node, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, .application(4), "SearchResultEntry")
        objectName = try elements.next("objectName").dn(.octetString, "objectName")
        attributes = try LDAPAttribute.list(elements.next("attributes"), "PartialAttributeList", limits: limits)
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.application(4)) { body in
            body.string(objectName)
            LDAPAttribute.encode(attributes, into: &body)
        }
    }
}

/// RFC 4511 §4.1.7:
///
///     PartialAttribute ::= SEQUENCE {
///          type       AttributeDescription,
///          vals       SET OF value AttributeValue }
///     Attribute ::= PartialAttribute(WITH COMPONENTS { ..., vals (SIZE(1..MAX))})
///
/// The values keep the order they came in (a SET OF has none, so any order is right).
public struct LDAPAttribute: Sendable, Hashable {
    public var type: String
    public var values: [[UInt8]]

    public init(type: String, values: [[UInt8]]) {
        self.type = type
        self.values = values
    }

    /// Values given as text, UTF-8 encoded.
    public init(type: String, _ values: [String]) {
        self.init(type: type, values: values.map { Array($0.utf8) })
    }

    init(ber node: ASN1Node, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, .sequence, "PartialAttribute")
        type = try elements.next("type").string(.octetString, "type")
        var set = try BERElements(elements.next("vals"), .set, "vals")
        values = []
        for value in set.rest() { values.append(try value.value(.octetString, "AttributeValue", limits: limits)) }
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.sequence) { body in
            body.string(type)
            body.constructed(.set) { set in
                for value in values { set.octets(value) }
            }
        }
    }

    static func list(_ node: ASN1Node, _ what: String, limits: LDAPLimits) throws(LDAPCodecError) -> [LDAPAttribute] {
        var elements = try BERElements(node, .sequence, what)
        var attributes: [LDAPAttribute] = []
        for attribute in elements.rest() { attributes.append(try LDAPAttribute(ber: attribute, limits: limits)) }
        return attributes
    }

    static func encode(_ attributes: [LDAPAttribute], into serializer: inout DER.Serializer) {
        serializer.constructed(.sequence) { list in
            for attribute in attributes { attribute.encode(into: &list) }
        }
    }
}
