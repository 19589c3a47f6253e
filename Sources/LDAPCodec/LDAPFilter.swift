import SwiftASN1

/// A search filter (RFC 4511 §4.5.1.7):
///
///     Filter ::= CHOICE {
///          and             [0] SET SIZE (1..MAX) OF filter Filter,
///          or              [1] SET SIZE (1..MAX) OF filter Filter,
///          not             [2] Filter,
///          equalityMatch   [3] AttributeValueAssertion,
///          substrings      [4] SubstringFilter,
///          greaterOrEqual  [5] AttributeValueAssertion,
///          lessOrEqual     [6] AttributeValueAssertion,
///          present         [7] AttributeDescription,
///          approxMatch     [8] AttributeValueAssertion,
///          extensibleMatch [9] MatchingRuleAssertion,
///          ...  }
///
/// `and` and `or` may be empty: RFC 4526's absolute true `(&)` and false `(|)`, which OpenLDAP
/// sends and accepts. The string form of RFC 4515 is `LDAPFilter(parsing:)` and `description`.
public indirect enum LDAPFilter: Sendable, Hashable {
    case and([LDAPFilter])
    case or([LDAPFilter])
    case not(LDAPFilter)
    case equalityMatch(LDAPAttributeValueAssertion)
    case substrings(LDAPSubstringFilter)
    case greaterOrEqual(LDAPAttributeValueAssertion)
    case lessOrEqual(LDAPAttributeValueAssertion)
    case present(String)
    case approxMatch(LDAPAttributeValueAssertion)
    case extensibleMatch(LDAPMatchingRuleAssertion)
    /// A choice RFC 4511 does not define, kept as its whole encoding. The CHOICE is extensible
    /// and such an item evaluates to Undefined ("The type of filtering requested is not
    /// implemented"; "Servers MUST NOT return errors", §4.5.1.7), as OpenLDAP has it.
    case unrecognized([UInt8])

    /// `(attribute=value)` with the value as text.
    public static func equal(_ attribute: String, _ value: String) -> LDAPFilter {
        .equalityMatch(LDAPAttributeValueAssertion(attribute, value))
    }

    func encode(into serializer: inout DER.Serializer) {
        switch self {
        case .and(let filters), .or(let filters):
            serializer.constructed(.context(isAnd ? 0 : 1)) { set in
                for filter in filters { filter.encode(into: &set) }
            }
        case .not(let filter):
            // A tag on a CHOICE is explicit even in an IMPLICIT TAGS module (§4.5.1.7's note).
            serializer.constructed(.context(2)) { filter.encode(into: &$0) }
        case .equalityMatch(let assertion): assertion.encode(into: &serializer, .context(3))
        case .substrings(let substrings): substrings.encode(into: &serializer)
        case .greaterOrEqual(let assertion): assertion.encode(into: &serializer, .context(5))
        case .lessOrEqual(let assertion): assertion.encode(into: &serializer, .context(6))
        case .present(let attribute): serializer.string(attribute, .context(7))
        case .approxMatch(let assertion): assertion.encode(into: &serializer, .context(8))
        case .extensibleMatch(let assertion): assertion.encode(into: &serializer)
        case .unrecognized(let encoding): serializer.serializeRawBytes(encoding)
        }
    }

    private var isAnd: Bool {
        if case .and = self { return true }
        return false
    }
}

extension LDAPDecoder {
    /// One filter at nesting `depth` (the outermost is 1), counted against the bounds.
    mutating func filter(_ node: ASN1Node, depth: Int) throws(LDAPCodecError) -> LDAPFilter {
        guard depth <= limits.filterDepth else { throw LDAPCodecError(.filterTooDeep, "over \(limits.filterDepth) levels") }
        filterComponents += 1
        guard filterComponents <= limits.filterComponents else {
            throw LDAPCodecError(.tooManyFilterComponents, "over \(limits.filterComponents)")
        }
        let identifier = node.identifier
        guard identifier.tagClass == .contextSpecific, identifier.tagNumber <= 9 else { return .unrecognized(Array(node.encodedBytes)) }
        switch identifier.tagNumber {
        case 0, 1:
            var set = try BERElements(node, identifier, identifier.tagNumber == 0 ? "and" : "or")
            var filters: [LDAPFilter] = []
            for child in set.rest() { filters.append(try filter(child, depth: depth + 1)) }
            return identifier.tagNumber == 0 ? .and(filters) : .or(filters)
        case 2:
            var elements = try BERElements(node, identifier, "not")
            let inner = try filter(elements.next("filter"), depth: depth + 1)
            guard elements.isAtEnd else { throw LDAPCodecError(.malformed, "not holds one filter") }
            return .not(inner)
        case 3: return .equalityMatch(try LDAPAttributeValueAssertion(ber: node, identifier, limits: limits))
        case 4: return .substrings(try LDAPSubstringFilter(ber: node, limits: limits))
        case 5: return .greaterOrEqual(try LDAPAttributeValueAssertion(ber: node, identifier, limits: limits))
        case 6: return .lessOrEqual(try LDAPAttributeValueAssertion(ber: node, identifier, limits: limits))
        case 7: return .present(try node.string(identifier, "present"))
        case 8: return .approxMatch(try LDAPAttributeValueAssertion(ber: node, identifier, limits: limits))
        default: return .extensibleMatch(try LDAPMatchingRuleAssertion(ber: node, limits: limits))
        }
    }
}

/// RFC 4511 §4.1.6:
///
///     AttributeValueAssertion ::= SEQUENCE {
///          attributeDesc   AttributeDescription,
///          assertionValue  AssertionValue }
public struct LDAPAttributeValueAssertion: Sendable, Hashable {
    public var attribute: String
    public var value: [UInt8]

    public init(attribute: String, value: [UInt8]) {
        self.attribute = attribute
        self.value = value
    }

    /// The value as text, UTF-8 encoded.
    public init(_ attribute: String, _ value: String) {
        self.init(attribute: attribute, value: Array(value.utf8))
    }

    init(ber node: ASN1Node, _ identifier: ASN1Identifier, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, identifier, "AttributeValueAssertion")
        attribute = try elements.next("attributeDesc").string(.octetString, "attributeDesc")
        value = try elements.next("assertionValue").value(.octetString, "assertionValue", limits: limits)
    }

    func encode(into serializer: inout DER.Serializer, _ identifier: ASN1Identifier) {
        serializer.constructed(identifier) { body in
            body.string(attribute)
            body.octets(value)
        }
    }
}

/// RFC 4511 §4.5.1.7.2:
///
///     SubstringFilter ::= SEQUENCE {
///          type           AttributeDescription,
///          substrings     SEQUENCE SIZE (1..MAX) OF substring CHOICE {
///               initial [0] AssertionValue,  -- can occur at most once
///               any     [1] AssertionValue,
///               final   [2] AssertionValue } -- can occur at most once
///          }
///
/// "If 'initial' is present, it SHALL be the first element of 'substrings'. If 'final' is
/// present, it SHALL be the last element": the fields say so by their shape.
public struct LDAPSubstringFilter: Sendable, Hashable {
    public var attribute: String
    public var initial: [UInt8]?
    public var any: [[UInt8]]
    public var final: [UInt8]?

    public init(attribute: String, initial: [UInt8]? = nil, any: [[UInt8]] = [], final: [UInt8]? = nil) {
        self.attribute = attribute
        self.initial = initial
        self.any = any
        self.final = final
    }

    /// The pieces as text, UTF-8 encoded: `(cn=ali*)` is `initial: "ali"`.
    public init(_ attribute: String, initial: String? = nil, any: [String] = [], final: String? = nil) {
        self.init(
            attribute: attribute, initial: initial.map { Array($0.utf8) }, any: any.map { Array($0.utf8) },
            final: final.map { Array($0.utf8) })
    }

    init(ber node: ASN1Node, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, .context(4), "SubstringFilter")
        attribute = try elements.next("type").string(.octetString, "type")
        var pieces = try BERElements(elements.next("substrings"), .sequence, "substrings")
        let nodes = pieces.rest()
        guard !nodes.isEmpty else { throw LDAPCodecError(.invalidValue, "substrings SIZE (1..MAX)") }
        any = []
        for (index, piece) in nodes.enumerated() {
            switch piece.identifier {
            case .context(0):
                guard index == 0 else { throw LDAPCodecError(.invalidValue, "initial is not first") }
                initial = try piece.value(.context(0), "initial", limits: limits)
            case .context(1):
                any.append(try piece.value(.context(1), "any", limits: limits))
            case .context(2):
                guard index == nodes.count - 1 else { throw LDAPCodecError(.invalidValue, "final is not last") }
                final = try piece.value(.context(2), "final", limits: limits)
            default:
                throw LDAPCodecError(.malformed, "substring \(piece.identifier)")
            }
        }
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.context(4)) { body in
            body.string(attribute)
            body.constructed(.sequence) { pieces in
                if let initial { pieces.octets(initial, .context(0)) }
                for piece in any { pieces.octets(piece, .context(1)) }
                if let final { pieces.octets(final, .context(2)) }
            }
        }
    }
}

/// RFC 4511 §4.5.1.7.7:
///
///     MatchingRuleAssertion ::= SEQUENCE {
///          matchingRule    [1] MatchingRuleId OPTIONAL,
///          type            [2] AttributeDescription OPTIONAL,
///          matchValue      [3] AssertionValue,
///          dnAttributes    [4] BOOLEAN DEFAULT FALSE }
///
/// "If the matchingRule field is absent, the type field MUST be present".
public struct LDAPMatchingRuleAssertion: Sendable, Hashable {
    public var matchingRule: String?
    public var type: String?
    public var matchValue: [UInt8]
    public var dnAttributes: Bool

    public init(matchingRule: String? = nil, type: String? = nil, matchValue: [UInt8], dnAttributes: Bool = false) {
        self.matchingRule = matchingRule
        self.type = type
        self.matchValue = matchValue
        self.dnAttributes = dnAttributes
    }

    init(ber node: ASN1Node, limits: LDAPLimits) throws(LDAPCodecError) {
        var elements = try BERElements(node, .context(9), "MatchingRuleAssertion")
        matchingRule = try elements.next(ifTagged: .context(1))?.string(.context(1), "matchingRule")
        type = try elements.next(ifTagged: .context(2))?.string(.context(2), "type")
        guard matchingRule != nil || type != nil else {
            throw LDAPCodecError(.invalidValue, "extensibleMatch without matchingRule or type")
        }
        matchValue = try elements.next("matchValue").value(.context(3), "matchValue", limits: limits)
        dnAttributes = try elements.next(ifTagged: .context(4))?.boolean(.context(4), "dnAttributes") ?? false
    }

    func encode(into serializer: inout DER.Serializer) {
        serializer.constructed(.context(9)) { body in
            if let matchingRule { body.string(matchingRule, .context(1)) }
            if let type { body.string(type, .context(2)) }
            body.octets(matchValue, .context(3))
            if dnAttributes { body.boolean(true, .context(4)) }
        }
    }
}
