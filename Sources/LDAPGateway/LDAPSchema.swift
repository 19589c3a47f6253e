/// The schema of the directory `loft ldap` shows: exactly the attribute types, object classes,
/// syntaxes and matching rules its entries use, with their RFC 4512 §4.1 descriptions as RFC 4519,
/// 4524, 2798, 3045, 5020 and OpenLDAP's core/misc schema (for inetLocalMailRecipient and
/// nisMailAlias) define them. Object classes list in MUST and MAY only the attribute types in use
/// (subentry drops subtreeSpecification, subschema the rule kinds there are none of), so the
/// subschema names no type it does not define.
public enum LDAPSchema {
    /// How values of an attribute type compare (its EQUALITY rule, RFC 4517 §4.2).
    enum Matching: Sendable {
        /// caseIgnoreMatch / caseIgnoreIA5Match: case folded, insignificant spaces removed.
        case caseIgnore
        /// distinguishedNameMatch: the normalised RFC 4514 form.
        case distinguishedName
        /// objectIdentifierMatch on object class names (descriptors folded, OIDs mapped).
        case objectIdentifier
        /// booleanMatch, integerMatch and the description syntaxes: octets (case folded).
        case exact
    }

    /// One attribute type: `names[0]` is the canonical name slapd returns.
    struct AttributeType: Sendable {
        let oid: String
        let names: [String]
        let superior: String?
        let matching: Matching
        let operational: Bool
        let syntax: String
        let description: String
    }

    static let directoryString = "1.3.6.1.4.1.1466.115.121.1.15"
    static let ia5String = "1.3.6.1.4.1.1466.115.121.1.26"

    // RFC 4512 §4.1.2: AttributeTypeDescription. The descriptions are the RFCs' own text.
    static let attributeTypes: [AttributeType] = [
        string(
            "2.5.4.0", ["objectClass"], .objectIdentifier,
            "( 2.5.4.0 NAME 'objectClass' EQUALITY objectIdentifierMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 )"),
        string(
            "2.5.4.41", ["name"], .caseIgnore,
            "( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"),
        string("2.5.4.3", ["cn", "commonName"], .caseIgnore, "( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )", superior: "name"),
        string("2.5.4.4", ["sn", "surname"], .caseIgnore, "( 2.5.4.4 NAME ( 'sn' 'surname' ) SUP name )", superior: "name"),
        string("2.5.4.42", ["givenName", "gn"], .caseIgnore, "( 2.5.4.42 NAME ( 'givenName' 'gn' ) SUP name )", superior: "name"),
        string(
            "2.5.4.10", ["o", "organizationName"], .caseIgnore, "( 2.5.4.10 NAME ( 'o' 'organizationName' ) SUP name )", superior: "name"),
        string(
            "2.5.4.11", ["ou", "organizationalUnitName"], .caseIgnore, "( 2.5.4.11 NAME ( 'ou' 'organizationalUnitName' ) SUP name )",
            superior: "name"),
        string(
            "2.5.4.13", ["description"], .caseIgnore,
            "( 2.5.4.13 NAME 'description' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"
        ),
        string(
            "0.9.2342.19200300.100.1.25", ["dc", "domainComponent"], .caseIgnore,
            "( 0.9.2342.19200300.100.1.25 NAME ( 'dc' 'domainComponent' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 SINGLE-VALUE )",
            syntax: ia5String),
        string(
            "0.9.2342.19200300.100.1.1", ["uid", "userid"], .caseIgnore,
            "( 0.9.2342.19200300.100.1.1 NAME ( 'uid' 'userid' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"
        ),
        string(
            "0.9.2342.19200300.100.1.3", ["mail", "rfc822Mailbox"], .caseIgnore,
            "( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) EQUALITY caseIgnoreIA5Match SUBSTR caseIgnoreIA5SubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )",
            syntax: ia5String),
        string(
            "2.16.840.1.113730.3.1.241", ["displayName"], .caseIgnore,
            "( 2.16.840.1.113730.3.1.241 NAME 'displayName' DESC 'preferred name of a person to be used when displaying entries' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )"
        ),
        string(
            "2.5.4.49", ["distinguishedName"], .distinguishedName,
            "( 2.5.4.49 NAME 'distinguishedName' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )",
            syntax: "1.3.6.1.4.1.1466.115.121.1.12"),
        string(
            "2.5.4.31", ["member"], .distinguishedName, "( 2.5.4.31 NAME 'member' SUP distinguishedName )", superior: "distinguishedName",
            syntax: "1.3.6.1.4.1.1466.115.121.1.12"),
        string(
            "1.3.6.1.4.1.42.2.27.2.1.15", ["rfc822MailMember"], .caseIgnore,
            "( 1.3.6.1.4.1.42.2.27.2.1.15 NAME 'rfc822MailMember' DESC 'rfc822 mail address of group member(s)' EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26 )",
            syntax: ia5String),
        string(
            "2.16.840.1.113730.3.1.13", ["mailLocalAddress"], .caseIgnore,
            "( 2.16.840.1.113730.3.1.13 NAME 'mailLocalAddress' DESC 'RFC822 email address of this recipient' EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )",
            syntax: ia5String),
        string(
            "2.16.840.1.113730.3.1.47", ["mailRoutingAddress"], .caseIgnore,
            "( 2.16.840.1.113730.3.1.47 NAME 'mailRoutingAddress' DESC 'RFC822 routing address of this recipient' EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} SINGLE-VALUE )",
            syntax: ia5String),
        // Operational attributes (RFC 4512 §3.4, §5.1; RFC 3045; RFC 5020; X.501 hasSubordinates).
        operational(
            "2.5.21.9", "structuralObjectClass", .objectIdentifier,
            "( 2.5.21.9 NAME 'structuralObjectClass' EQUALITY objectIdentifierMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"
        ),
        operational(
            "1.3.6.1.1.20", "entryDN", .distinguishedName,
            "( 1.3.6.1.1.20 NAME 'entryDN' DESC 'DN of the entry' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"
        ),
        operational(
            "2.5.18.10", "subschemaSubentry", .distinguishedName,
            "( 2.5.18.10 NAME 'subschemaSubentry' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"
        ),
        operational(
            "2.5.18.9", "hasSubordinates", .caseIgnore,
            "( 2.5.18.9 NAME 'hasSubordinates' EQUALITY booleanMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.7 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )"
        ),
        operational(
            "1.3.6.1.4.1.1466.101.120.5", "namingContexts", .distinguishedName,
            "( 1.3.6.1.4.1.1466.101.120.5 NAME 'namingContexts' SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 USAGE dSAOperation )"),
        operational(
            "1.3.6.1.4.1.1466.101.120.15", "supportedLDAPVersion", .exact,
            "( 1.3.6.1.4.1.1466.101.120.15 NAME 'supportedLDAPVersion' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 USAGE dSAOperation )"),
        operational(
            "1.3.6.1.4.1.1466.101.120.7", "supportedExtension", .exact,
            "( 1.3.6.1.4.1.1466.101.120.7 NAME 'supportedExtension' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 USAGE dSAOperation )"),
        operational(
            "1.3.6.1.4.1.1466.101.120.13", "supportedControl", .exact,
            "( 1.3.6.1.4.1.1466.101.120.13 NAME 'supportedControl' SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 USAGE dSAOperation )"),
        operational(
            "1.3.6.1.4.1.4203.1.3.5", "supportedFeatures", .exact,
            "( 1.3.6.1.4.1.4203.1.3.5 NAME 'supportedFeatures' DESC 'features supported by the server' EQUALITY objectIdentifierMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.38 USAGE dSAOperation )"
        ),
        operational(
            "1.3.6.1.1.4", "vendorName", .exact,
            "( 1.3.6.1.1.4 NAME 'vendorName' EQUALITY caseExactIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE NO-USER-MODIFICATION USAGE dSAOperation )"
        ),
        operational(
            "1.3.6.1.1.5", "vendorVersion", .exact,
            "( 1.3.6.1.1.5 NAME 'vendorVersion' EQUALITY caseExactIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE NO-USER-MODIFICATION USAGE dSAOperation )"
        ),
        operational(
            "2.5.21.5", "attributeTypes", .exact,
            "( 2.5.21.5 NAME 'attributeTypes' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.3 USAGE directoryOperation )"
        ),
        operational(
            "2.5.21.6", "objectClasses", .exact,
            "( 2.5.21.6 NAME 'objectClasses' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.37 USAGE directoryOperation )"
        ),
        operational(
            "1.3.6.1.4.1.1466.101.120.16", "ldapSyntaxes", .exact,
            "( 1.3.6.1.4.1.1466.101.120.16 NAME 'ldapSyntaxes' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.54 USAGE directoryOperation )"
        ),
        operational(
            "2.5.21.4", "matchingRules", .exact,
            "( 2.5.21.4 NAME 'matchingRules' EQUALITY objectIdentifierFirstComponentMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.30 USAGE directoryOperation )"
        ),
    ]

    private static func string(
        _ oid: String, _ names: [String], _ matching: Matching, _ description: String, superior: String? = nil,
        syntax: String = directoryString
    ) -> AttributeType {
        AttributeType(
            oid: oid, names: names, superior: superior, matching: matching, operational: false, syntax: syntax,
            description: description)
    }

    private static func operational(_ oid: String, _ name: String, _ matching: Matching, _ description: String) -> AttributeType {
        AttributeType(
            oid: oid, names: [name], superior: nil, matching: matching, operational: true, syntax: "",
            description: description)
    }

    /// One object class, with its superior for `(objectClass=person)` matching inetOrgPerson.
    struct ObjectClass: Sendable {
        let oid: String
        let name: String
        let superior: String?
        let description: String
    }

    // RFC 4512 §4.1.1: ObjectClassDescription.
    static let objectClasses: [ObjectClass] = [
        ObjectClass(oid: "2.5.6.0", name: "top", superior: nil, description: "( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )"),
        ObjectClass(
            oid: "1.3.6.1.4.1.1466.344", name: "dcObject", superior: "top",
            description: "( 1.3.6.1.4.1.1466.344 NAME 'dcObject' SUP top AUXILIARY MUST dc )"),
        ObjectClass(
            oid: "2.5.6.4", name: "organization", superior: "top",
            description: "( 2.5.6.4 NAME 'organization' SUP top STRUCTURAL MUST o MAY ( description ) )"),
        ObjectClass(
            oid: "2.5.6.5", name: "organizationalUnit", superior: "top",
            description: "( 2.5.6.5 NAME 'organizationalUnit' SUP top STRUCTURAL MUST ou MAY ( description ) )"),
        ObjectClass(
            oid: "2.5.6.6", name: "person", superior: "top",
            description: "( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( description ) )"),
        ObjectClass(
            oid: "2.5.6.7", name: "organizationalPerson", superior: "person",
            description: "( 2.5.6.7 NAME 'organizationalPerson' SUP person STRUCTURAL MAY ( ou ) )"),
        ObjectClass(
            oid: "2.16.840.1.113730.3.2.2", name: "inetOrgPerson", superior: "organizationalPerson",
            description:
                "( 2.16.840.1.113730.3.2.2 NAME 'inetOrgPerson' SUP organizationalPerson STRUCTURAL MAY ( displayName $ givenName $ mail $ o $ uid ) )"
        ),
        ObjectClass(
            oid: "2.5.6.9", name: "groupOfNames", superior: "top",
            description: "( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) MAY ( description $ o $ ou ) )"),
        ObjectClass(
            oid: "1.3.6.1.4.1.42.2.27.1.2.1", name: "nisMailAlias", superior: "top",
            description:
                "( 1.3.6.1.4.1.42.2.27.1.2.1 NAME 'nisMailAlias' DESC 'NIS mail alias' SUP top STRUCTURAL MUST cn MAY rfc822MailMember )"),
        ObjectClass(
            oid: "2.16.840.1.113730.3.2.147", name: "inetLocalMailRecipient", superior: "top",
            description:
                "( 2.16.840.1.113730.3.2.147 NAME 'inetLocalMailRecipient' DESC 'Internet local mail recipient' SUP top AUXILIARY MAY ( mailLocalAddress $ mailRoutingAddress ) )"
        ),
        ObjectClass(
            oid: "2.5.17.0", name: "subentry", superior: "top",
            description: "( 2.5.17.0 NAME 'subentry' SUP top STRUCTURAL MUST cn )"),
        ObjectClass(
            oid: "2.5.20.1", name: "subschema", superior: nil,
            description:
                "( 2.5.20.1 NAME 'subschema' AUXILIARY MAY ( objectClasses $ attributeTypes $ matchingRules ) )"
        ),
    ]

    // RFC 4512 §4.1.5: SyntaxDescription, for the syntaxes the types above use (RFC 4517 §3.3).
    static let ldapSyntaxes: [String] = [
        "( 1.3.6.1.4.1.1466.115.121.1.3 DESC 'Attribute Type Description' )",
        "( 1.3.6.1.4.1.1466.115.121.1.7 DESC 'Boolean' )",
        "( 1.3.6.1.4.1.1466.115.121.1.12 DESC 'DN' )",
        "( 1.3.6.1.4.1.1466.115.121.1.15 DESC 'Directory String' )",
        "( 1.3.6.1.4.1.1466.115.121.1.26 DESC 'IA5 String' )",
        "( 1.3.6.1.4.1.1466.115.121.1.27 DESC 'INTEGER' )",
        "( 1.3.6.1.4.1.1466.115.121.1.30 DESC 'Matching Rule Description' )",
        "( 1.3.6.1.4.1.1466.115.121.1.37 DESC 'Object Class Description' )",
        "( 1.3.6.1.4.1.1466.115.121.1.38 DESC 'OID' )",
        "( 1.3.6.1.4.1.1466.115.121.1.54 DESC 'LDAP Syntax Description' )",
        "( 1.3.6.1.4.1.1466.115.121.1.58 DESC 'Substring Assertion' )",
    ]

    /// An equality rule extensibleMatch may name (RFC 4517 §4.2), by name or OID.
    struct MatchingRule: Sendable {
        let oid: String
        let name: String
        let syntax: String
        /// Whether it folds case; nil for a rule that is not an equality rule on strings.
        let caseIgnore: Bool?
        var description: String { "( \(oid) NAME '\(name)' SYNTAX \(syntax) )" }
    }

    // RFC 4512 §4.1.3: MatchingRuleDescription.
    static let matchingRules: [MatchingRule] = [
        MatchingRule(oid: "2.5.13.0", name: "objectIdentifierMatch", syntax: "1.3.6.1.4.1.1466.115.121.1.38", caseIgnore: nil),
        MatchingRule(oid: "2.5.13.1", name: "distinguishedNameMatch", syntax: "1.3.6.1.4.1.1466.115.121.1.12", caseIgnore: nil),
        MatchingRule(oid: "2.5.13.2", name: "caseIgnoreMatch", syntax: directoryString, caseIgnore: true),
        MatchingRule(oid: "2.5.13.3", name: "caseIgnoreOrderingMatch", syntax: directoryString, caseIgnore: nil),
        MatchingRule(oid: "2.5.13.4", name: "caseIgnoreSubstringsMatch", syntax: "1.3.6.1.4.1.1466.115.121.1.58", caseIgnore: nil),
        MatchingRule(oid: "2.5.13.5", name: "caseExactMatch", syntax: directoryString, caseIgnore: false),
        MatchingRule(oid: "2.5.13.13", name: "booleanMatch", syntax: "1.3.6.1.4.1.1466.115.121.1.7", caseIgnore: nil),
        MatchingRule(oid: "2.5.13.14", name: "integerMatch", syntax: "1.3.6.1.4.1.1466.115.121.1.27", caseIgnore: nil),
        MatchingRule(
            oid: "2.5.13.30", name: "objectIdentifierFirstComponentMatch", syntax: "1.3.6.1.4.1.1466.115.121.1.38", caseIgnore: nil),
        MatchingRule(oid: "1.3.6.1.4.1.1466.109.114.1", name: "caseExactIA5Match", syntax: ia5String, caseIgnore: false),
        MatchingRule(oid: "1.3.6.1.4.1.1466.109.114.2", name: "caseIgnoreIA5Match", syntax: ia5String, caseIgnore: true),
        MatchingRule(
            oid: "1.3.6.1.4.1.1466.109.114.3", name: "caseIgnoreIA5SubstringsMatch", syntax: "1.3.6.1.4.1.1466.115.121.1.58",
            caseIgnore: nil),
    ]

    /// Attribute type index by every name (lower case) and OID.
    static let typeIndex: [String: Int] = {
        var index: [String: Int] = [:]
        for (position, type) in attributeTypes.enumerated() {
            index[type.oid] = position
            for name in type.names { index[name.lowercased()] = position }
        }
        return index
    }()

    /// The position of the attribute type an attribute description names (`CN`, `commonName`,
    /// `2.5.4.3`); nil for an unknown type or a description with options (`cn;lang-de`).
    static func attributeType(named description: String) -> Int? {
        typeIndex[description.lowercased()]
    }

    /// For each type, itself and its subtypes (RFC 4512 §2.5.1: a filter on `name` tests `cn`).
    static let typeAndSubtypes: [[Int]] = {
        attributeTypes.indices.map { position in
            attributeTypes.indices.filter { candidate in
                var current: Int? = candidate
                while let type = current {
                    if type == position { return true }
                    current = attributeTypes[type].superior.flatMap { typeIndex[$0.lowercased()] }
                }
                return false
            }
        }
    }()

    /// Object class names (lower case) and OIDs to the canonical lower-case name.
    static let objectClassNames: [String: String] = {
        var names: [String: String] = [:]
        for objectClass in objectClasses {
            names[objectClass.name.lowercased()] = objectClass.name.lowercased()
            names[objectClass.oid] = objectClass.name.lowercased()
        }
        return names
    }()

    /// An object class with all its superclasses, lower case: what `(objectClass=x)` matches.
    static func objectClassClosure(_ names: [String]) -> Set<String> {
        var closure: Set<String> = []
        for name in names {
            var current: String? = name
            while let className = current, closure.insert(className.lowercased()).inserted {
                current = objectClasses.first { $0.name == className }?.superior
            }
        }
        return closure
    }

    static func matchingRule(named nameOrOID: String) -> MatchingRule? {
        let key = nameOrOID.lowercased()
        return matchingRules.first { $0.oid == key || $0.name.lowercased() == key }
    }

    static let name = attributeType(named: "name")!
    static let objectClass = attributeType(named: "objectClass")!
    static let cn = attributeType(named: "cn")!
    static let mail = attributeType(named: "mail")!
}
