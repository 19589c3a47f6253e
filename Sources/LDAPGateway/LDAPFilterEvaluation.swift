import LDAPCodec

/// The three values a filter takes on an entry (RFC 4511 §4.5.1.7).
enum LDAPTruth: Sendable {
    case `true`, `false`, undefined
}

/// A filter resolved against the schema once per search: attribute descriptions become masks of
/// attribute types (with subtypes), assertion values are prepared by the type's rules, so
/// testing an entry allocates nothing for equality, presence and substrings.
indirect enum LDAPCompiledFilter: Sendable {
    case and([LDAPCompiledFilter])
    case or([LDAPCompiledFilter])
    case not(LDAPCompiledFilter)
    case constant(LDAPTruth)
    case equality(mask: UInt64, value: [UInt8])
    case objectClass(String)
    case present(mask: UInt64)
    case substrings(mask: UInt64, initial: [UInt8]?, any: [[UInt8]], final: [UInt8]?)
    case approximate(mask: UInt64, value: [UInt8])
    /// extensibleMatch with a string equality rule; `caseIgnore` false is caseExact(IA5)Match.
    case extensible(mask: UInt64, value: [UInt8], caseIgnore: Bool, dnAttributes: Bool)

    init(_ filter: LDAPFilter) {
        switch filter {
        case .and(let filters): self = .and(filters.map(LDAPCompiledFilter.init))
        case .or(let filters): self = .or(filters.map(LDAPCompiledFilter.init))
        case .not(let inner): self = .not(LDAPCompiledFilter(inner))
        case .present(let attribute):
            guard let type = LDAPSchema.attributeType(named: attribute) else {
                self = .constant(.undefined)
                return
            }
            self = .present(mask: Self.mask(type))
        case .equalityMatch(let assertion):
            guard let type = LDAPSchema.attributeType(named: assertion.attribute) else {
                self = .constant(.undefined)
                return
            }
            self = Self.equality(type, assertion.value)
        case .approxMatch(let assertion):
            guard let type = LDAPSchema.attributeType(named: assertion.attribute) else {
                self = .constant(.undefined)
                return
            }
            // A type without an approximate rule is matched by its equality rule (X.511 §7.8.2).
            guard LDAPSchema.attributeTypes[type].matching == .caseIgnore else {
                self = Self.equality(type, assertion.value)
                return
            }
            self = .approximate(mask: Self.mask(type), value: LDAPValue.approximate(assertion.value))
        case .substrings(let substrings):
            guard let type = LDAPSchema.attributeType(named: substrings.attribute),
                LDAPSchema.attributeTypes[type].matching == .caseIgnore, !LDAPSchema.attributeTypes[type].operational
            else {
                self = .constant(.undefined)
                return
            }
            self = .substrings(
                mask: Self.mask(type), initial: substrings.initial.map(LDAPValue.caseIgnore), any: substrings.any.map(LDAPValue.caseIgnore),
                final: substrings.final.map(LDAPValue.caseIgnore))
        case .greaterOrEqual, .lessOrEqual:
            // RFC 4511 §4.5.1.7.3-4: Undefined without an ORDERING rule, and no type here has one
            // (RFC 4519's name types, mail, uid: EQUALITY and SUBSTR only); slapd answers the same.
            self = .constant(.undefined)
        case .extensibleMatch(let assertion):
            self = Self.extensible(assertion)
        case .unrecognized:
            self = .constant(.undefined)
        }
    }

    private static func mask(_ type: Int) -> UInt64 {
        LDAPSchema.typeAndSubtypes[type].reduce(0) { $0 | 1 << UInt64($1) }
    }

    private static func equality(_ type: Int, _ value: [UInt8]) -> LDAPCompiledFilter {
        switch LDAPSchema.attributeTypes[type].matching {
        case .objectIdentifier where type == LDAPSchema.objectClass:
            let name = String(decoding: LDAPValue.caseIgnore(value), as: UTF8.self)
            return .objectClass(LDAPSchema.objectClassNames[name] ?? name)
        case .distinguishedName:
            guard let name = DistinguishedName(parsing: String(decoding: value, as: UTF8.self)) else { return .constant(.undefined) }
            return .equality(mask: mask(type), value: Array(name.normalized.utf8))
        default:
            return .equality(mask: mask(type), value: LDAPDirectoryEntry.prepare(value, type: type))
        }
    }

    // RFC 4511 §4.5.1.7.7: with a rule and a type, the rule on that type; with a rule alone,
    // every attribute the rule applies to; with a type alone, its equality rule. dnAttributes
    // adds the AVAs of the entry's DN. A rule this server does not apply gives Undefined.
    private static func extensible(_ assertion: LDAPMatchingRuleAssertion) -> LDAPCompiledFilter {
        var type: Int?
        if let description = assertion.type {
            guard let known = LDAPSchema.attributeType(named: description) else { return .constant(.undefined) }
            type = known
        }
        guard let ruleName = assertion.matchingRule else {
            guard let type else { return .constant(.undefined) }
            if assertion.dnAttributes, LDAPSchema.attributeTypes[type].matching == .caseIgnore {
                return .extensible(
                    mask: mask(type), value: LDAPValue.caseIgnore(assertion.matchValue), caseIgnore: true, dnAttributes: true)
            }
            return equality(type, assertion.matchValue)
        }
        guard let rule = LDAPSchema.matchingRule(named: ruleName), let caseIgnore = rule.caseIgnore else {
            guard let type, let rule = LDAPSchema.matchingRule(named: ruleName) else { return .constant(.undefined) }
            // distinguishedNameMatch and objectIdentifierMatch on a type whose equality they are.
            let matching = LDAPSchema.attributeTypes[type].matching
            if (rule.name == "distinguishedNameMatch" && matching == .distinguishedName)
                || (rule.name == "objectIdentifierMatch" && matching == .objectIdentifier)
            {
                return equality(type, assertion.matchValue)
            }
            return .constant(.undefined)
        }
        let stringMask: UInt64
        if let type {
            guard LDAPSchema.attributeTypes[type].matching == .caseIgnore else { return .constant(.undefined) }
            stringMask = mask(type)
        } else {
            stringMask = LDAPSchema.attributeTypes.indices.reduce(0) {
                LDAPSchema.attributeTypes[$1].matching == .caseIgnore && !LDAPSchema.attributeTypes[$1].operational
                    ? $0 | 1 << UInt64($1) : $0
            }
        }
        let value = caseIgnore ? LDAPValue.caseIgnore(assertion.matchValue) : LDAPValue.spaces(assertion.matchValue)
        return .extensible(mask: stringMask, value: value, caseIgnore: caseIgnore, dnAttributes: assertion.dnAttributes)
    }

    /// The value of the filter on `entry` (RFC 4511 §4.5.1.7's three-valued logic).
    func evaluate(_ entry: LDAPDirectoryEntry) -> LDAPTruth {
        switch self {
        case .and(let filters):
            var result = LDAPTruth.true
            for filter in filters {
                switch filter.evaluate(entry) {
                case .false: return .false
                case .undefined: result = .undefined
                case .true: break
                }
            }
            return result
        case .or(let filters):
            var result = LDAPTruth.false
            for filter in filters {
                switch filter.evaluate(entry) {
                case .true: return .true
                case .undefined: result = .undefined
                case .false: break
                }
            }
            return result
        case .not(let inner):
            switch inner.evaluate(entry) {
            case .true: return .false
            case .false: return .true
            case .undefined: return .undefined
            }
        case .constant(let truth):
            return truth
        case .objectClass(let name):
            return entry.objectClasses.contains(name) ? .true : .false
        case .present(let mask):
            for attribute in entry.attributes where mask & attribute.bit != 0 { return .true }
            return .false
        case .equality(let mask, let value):
            return any(entry, mask) { $0 == value }
        case .substrings(let mask, let initial, let pieces, let final):
            return any(entry, mask) { LDAPValue.matches($0, initial: initial, any: pieces, final: final) }
        case .approximate(let mask, let value):
            return any(entry, mask) { LDAPValue.approximate($0) == value }
        case .extensible(let mask, let value, let caseIgnore, let dnAttributes):
            for attribute in entry.attributes where mask & attribute.bit != 0 {
                let candidates = caseIgnore ? attribute.prepared : attribute.values.map(LDAPValue.spaces)
                if candidates.contains(value) { return .true }
            }
            if dnAttributes {
                for ava in entry.name.rdns.joined()
                where LDAPSchema.attributeType(named: ava.type).map({ mask & 1 << UInt64($0) != 0 }) == true {
                    // The DN's values are prepared case-folded; a case-exact test compares them folded too.
                    if ava.value == (caseIgnore ? value : LDAPValue.caseIgnore(value)) { return .true }
                }
            }
            return .false
        }
    }

    private func any(_ entry: LDAPDirectoryEntry, _ mask: UInt64, _ test: ([UInt8]) -> Bool) -> LDAPTruth {
        for attribute in entry.attributes where mask & attribute.bit != 0 {
            for value in attribute.prepared where test(value) { return .true }
        }
        return .false
    }

    /// The mail values an equality on mail in this filter pins the result to: the filter itself,
    /// any conjunct of an AND, or every branch of an OR. nil when the filter needs a scan.
    var indexedMailValues: [[UInt8]]? {
        switch self {
        case .equality(let mask, let value) where mask == 1 << UInt64(LDAPSchema.mail): return [value]
        case .and(let filters):
            for filter in filters { if let values = filter.indexedMailValues { return values } }
            return nil
        case .or(let filters):
            guard !filters.isEmpty else { return nil }
            var values: [[UInt8]] = []
            for filter in filters {
                guard let branch = filter.indexedMailValues else { return nil }
                values += branch
            }
            return values
        default: return nil
        }
    }
}
