public import LDAPCodec

/// What a search may do, by who asks (issue 12). Anonymous clients get an address book's
/// look-up, not a listing: they may test only `anonymousAttributes`, by equality or by an
/// initial substring of `anonymousMinimumPrefix` characters or more, and at most
/// `anonymousSizeLimit` entries come back. Bound clients see the whole directory with any filter,
/// `sizeLimit` entries per search (or per page) at most.
public struct LDAPAccessPolicy: Sendable, Hashable {
    /// The only attributes anonymous filters may test (besides objectClass as a conjunct).
    public var anonymousAttributes: [String] = ["mail", "cn"] {
        didSet { anonymousTypes = Self.types(anonymousAttributes) }
    }
    /// `anonymousAttributes` as the schema's attribute types, worked out once, not per search.
    private var anonymousTypes: Set<Int>
    /// The shortest initial substring anonymous clients may use: `(mail=ali*)` with 3.
    public var anonymousMinimumPrefix: Int = 3
    /// Entries an anonymous search returns at most, over all its pages.
    public var anonymousSizeLimit: Int = 10
    /// Entries a bound client's search (or page) returns at most; the smaller of this and the
    /// client's sizeLimit applies (RFC 4511 §4.5.1.4).
    public var sizeLimit: Int = 1000
    /// Seconds any search may take at most; the smaller of this and the client's timeLimit
    /// applies (RFC 4511 §4.5.1.5).
    public var timeLimitSeconds: Int = 60

    public init(
        anonymousAttributes: [String] = ["mail", "cn"], anonymousMinimumPrefix: Int = 3, anonymousSizeLimit: Int = 10, sizeLimit: Int = 1000
    ) {
        self.anonymousAttributes = anonymousAttributes
        self.anonymousTypes = Self.types(anonymousAttributes)
        self.anonymousMinimumPrefix = anonymousMinimumPrefix
        self.anonymousSizeLimit = anonymousSizeLimit
        self.sizeLimit = sizeLimit
    }

    /// The diagnosticMessage of the unwillingToPerform an anonymous filter outside the policy gets.
    public var anonymousRefusal: String {
        "anonymous clients may only look up \(anonymousAttributes.joined(separator: ", ")) by equality or by an initial substring of "
            + "at least \(anonymousMinimumPrefix) characters (objectClass may be added with &); bind to search otherwise"
    }

    /// Whether an anonymous client may search with `filter`: every assertion in it is one the
    /// policy allows, and it narrows the result by an allowed attribute. `(objectClass=*)`,
    /// `(!(mail=x))` or `(|(mail=alice@x)(objectClass=*))` would list the directory and are refused.
    public func allowsAnonymous(_ filter: LDAPFilter) -> Bool {
        permitted(filter, anonymousTypes) && narrows(filter, anonymousTypes)
    }

    private static func types(_ names: [String]) -> Set<Int> { Set(names.compactMap { LDAPSchema.attributeType(named: $0) }) }

    private func permitted(_ filter: LDAPFilter, _ allowed: Set<Int>) -> Bool {
        switch filter {
        case .and(let filters), .or(let filters): return filters.allSatisfy { permitted($0, allowed) }
        case .not(let inner): return permitted(inner, allowed)
        case .present(let attribute): return LDAPSchema.attributeType(named: attribute) == LDAPSchema.objectClass
        case .equalityMatch(let assertion):
            let type = LDAPSchema.attributeType(named: assertion.attribute)
            return type == LDAPSchema.objectClass || type.map(allowed.contains) == true
        case .substrings:
            return narrows(filter, allowed)
        case .greaterOrEqual, .lessOrEqual, .approxMatch, .extensibleMatch, .unrecognized:
            return false
        }
    }

    /// Whether every entry `filter` matches must hold an allowed assertion's value.
    private func narrows(_ filter: LDAPFilter, _ allowed: Set<Int>) -> Bool {
        switch filter {
        case .and(let filters): return filters.contains { narrows($0, allowed) }
        case .or(let filters): return !filters.isEmpty && filters.allSatisfy { narrows($0, allowed) }
        case .equalityMatch(let assertion): return LDAPSchema.attributeType(named: assertion.attribute).map(allowed.contains) == true
        case .substrings(let substrings):
            guard let type = LDAPSchema.attributeType(named: substrings.attribute), allowed.contains(type),
                let initial = substrings.initial, substrings.any.isEmpty, substrings.final == nil
            else { return false }
            let prepared = LDAPValue.caseIgnore(initial)
            return String(decoding: prepared, as: UTF8.self).count >= anonymousMinimumPrefix
        default: return false
        }
    }
}

/// Who searches: the gateway has decided beforehand whether anonymous clients may search at all
/// (networks, bind required) and answered insufficientAccessRights itself when not.
public enum LDAPAccess: Sendable, Hashable {
    case anonymous
    case bound(account: String)
}
