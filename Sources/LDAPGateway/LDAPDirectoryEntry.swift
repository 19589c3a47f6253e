import LDAPCodec

/// One entry of the directory's tree, built once: every value kept as sent and as its type's
/// equality rule prepares it, and the wire form of its attributes ready to return.
final class LDAPDirectoryEntry: Sendable {
    /// One attribute with its values raw and prepared.
    struct Attribute: Sendable {
        let type: Int
        let values: [[UInt8]]
        let prepared: [[UInt8]]
        let wire: LDAPAttribute
        var operational: Bool { LDAPSchema.attributeTypes[type].operational }
        var bit: UInt64 { 1 << UInt64(type) }
    }

    let dn: String
    let name: DistinguishedName
    /// The account address a bind as this entry means; nil for entries that are not accounts.
    let account: String?
    let attributes: [Attribute]
    /// The object classes with their superclasses, lower case.
    let objectClasses: Set<String>
    /// All user attributes, as returned for `*`.
    let userAttributes: [LDAPAttribute]
    /// All operational attributes, as returned for `+`.
    let operationalAttributes: [LDAPAttribute]

    init(dn: String, account: String? = nil, attributes: [(String, [String])], operational: [(String, [String])]) {
        self.dn = dn
        self.name = DistinguishedName(parsing: dn) ?? DistinguishedName(rdns: [])
        self.account = account
        var built: [Attribute] = []
        var classes: [String] = []
        for (typeName, values) in attributes + operational where !values.isEmpty {
            guard let type = LDAPSchema.attributeType(named: typeName) else { preconditionFailure("\(typeName) is not in LDAPSchema") }
            let raw = values.map { Array($0.utf8) }
            if type == LDAPSchema.objectClass { classes = values }
            built.append(
                Attribute(
                    type: type, values: raw, prepared: raw.map { LDAPDirectoryEntry.prepare($0, type: type) },
                    wire: LDAPAttribute(type: LDAPSchema.attributeTypes[type].names[0], values: raw)))
        }
        self.attributes = built
        self.objectClasses = LDAPSchema.objectClassClosure(classes)
        self.userAttributes = built.filter { !$0.operational }.map(\.wire)
        self.operationalAttributes = built.filter(\.operational).map(\.wire)
    }

    /// A value as the equality rule of `type` compares it.
    static func prepare(_ value: [UInt8], type: Int) -> [UInt8] {
        switch LDAPSchema.attributeTypes[type].matching {
        case .caseIgnore, .objectIdentifier: LDAPValue.caseIgnore(value)
        case .distinguishedName:
            DistinguishedName(parsing: String(decoding: value, as: UTF8.self)).map { Array($0.normalized.utf8) } ?? value
        case .exact: value
        }
    }

    /// The attributes the selection asks for, values left out for typesOnly (RFC 4511 §4.5.1.8).
    func selected(_ selection: LDAPAttributeSelection, typesOnly: Bool) -> [LDAPAttribute] {
        var list: [LDAPAttribute]
        if selection.mask == 0, !selection.operational {
            list = selection.user ? userAttributes : []
        } else if selection.user, selection.operational {
            list = userAttributes + operationalAttributes
        } else {
            list = []
            for attribute in attributes {
                let wanted = attribute.operational ? selection.operational : selection.user
                if wanted || selection.mask & attribute.bit != 0 { list.append(attribute.wire) }
            }
        }
        if typesOnly { list = list.map { LDAPAttribute(type: $0.type, values: []) } }
        return list
    }
}

/// SearchRequest.attributes resolved (RFC 4511 §4.5.1.8): `*` or none for every user attribute,
/// `+` for every operational one (RFC 3673), `1.1` alone for none, and names (any case, any of a
/// type's names or its OID; a supertype selects its subtypes). Unknown names select nothing.
/// Returned types carry the schema's first name, as slapd returns them.
struct LDAPAttributeSelection: Sendable {
    var user = false
    var operational = false
    var mask: UInt64 = 0

    init(_ selectors: [String]) {
        if selectors.isEmpty { user = true }
        for selector in selectors {
            switch selector {
            case "*": user = true
            case "+": operational = true
            case "1.1": break
            default:
                guard let type = LDAPSchema.attributeType(named: selector) else { continue }
                for subtype in LDAPSchema.typeAndSubtypes[type] { mask |= 1 << UInt64(subtype) }
            }
        }
    }
}
