import LDAPCodec
import Testing

@Suite struct LDAPFilterTests {
    static func ava(_ attribute: String, _ value: String) -> LDAPAttributeValueAssertion { LDAPAttributeValueAssertion(attribute, value) }
    static func sub(_ attribute: String, _ initial: String?, _ any: [String], _ final: String?) -> LDAPFilter {
        .substrings(LDAPSubstringFilter(attribute, initial: initial, any: any, final: final))
    }
    static func rule(_ type: String?, _ rule: String?, _ value: String, dn: Bool = false) -> LDAPFilter {
        .extensibleMatch(LDAPMatchingRuleAssertion(matchingRule: rule, type: type, matchValue: Array(value.utf8), dnAttributes: dn))
    }

    /// String forms and the filters they are; each prints back as written (`canonical` when the
    /// input is one of several ways of writing it).
    static let strings: [(String, LDAPFilter, String?)] = [
        // What address books send.
        (
            "(|(cn=*ali*)(mail=*ali*)(sn=*ali*)(givenName=*ali*))",
            .or(["cn", "mail", "sn", "givenName"].map { sub($0, nil, ["ali"], nil) }), nil
        ),
        ("(|(cn=ali*)(mail=ali*))", .or([sub("cn", "ali", [], nil), sub("mail", "ali", [], nil)]), nil),
        (
            "(&(objectClass=inetOrgPerson)(|(cn=ali*)(sn=ali*)(mail=ali*)))",
            .and([
                .equal("objectClass", "inetOrgPerson"),
                .or([sub("cn", "ali", [], nil), sub("sn", "ali", [], nil), sub("mail", "ali", [], nil)]),
            ]),
            nil
        ),
        // RFC 4515 §4's examples.
        ("(cn=Babs Jensen)", .equal("cn", "Babs Jensen"), nil),
        ("(!(cn=Tim Howes))", .not(.equal("cn", "Tim Howes")), nil),
        (
            "(&(objectClass=Person)(|(sn=Jensen)(cn=Babs J*)))",
            .and([.equal("objectClass", "Person"), .or([.equal("sn", "Jensen"), sub("cn", "Babs J", [], nil)])]), nil
        ),
        ("(o=univ*of*mich*)", sub("o", "univ", ["of", "mich"], nil), nil),
        ("(seeAlso=)", .equal("seeAlso", ""), nil),
        ("(cn:caseExactMatch:=Fred Flintstone)", rule("cn", "caseExactMatch", "Fred Flintstone"), nil),
        ("(cn:=Betty Rubble)", rule("cn", nil, "Betty Rubble"), nil),
        ("(sn:dn:2.4.6.8.10:=Barney Rubble)", rule("sn", "2.4.6.8.10", "Barney Rubble", dn: true), nil),
        ("(o:dn:=Ace Industry)", rule("o", nil, "Ace Industry", dn: true), nil),
        ("(:1.2.3:=Wilma Flintstone)", rule(nil, "1.2.3", "Wilma Flintstone"), nil),
        ("(:DN:2.4.6.8.10:=Dino)", rule(nil, "2.4.6.8.10", "Dino", dn: true), "(:dn:2.4.6.8.10:=Dino)"),
        ("(o=Parens R Us \\28for all your parenthetical needs\\29)", .equal("o", "Parens R Us (for all your parenthetical needs)"), nil),
        ("(cn=*\\2A*)", sub("cn", nil, ["*"], nil), "(cn=*\\2a*)"),
        ("(filename=C:\\5cMyFile)", .equal("filename", "C:\\MyFile"), nil),
        ("(bin=\\00\\00\\00\\04)", .equalityMatch(LDAPAttributeValueAssertion(attribute: "bin", value: [0, 0, 0, 4])), nil),
        ("(sn=Lu\\c4\\8di\\c4\\87)", .equal("sn", "Lu\u{10D}i\u{107}"), "(sn=Lu\u{10D}i\u{107})"),
        (
            "(1.3.6.1.4.1.1466.0=\\04\\02\\48\\69)",
            .equalityMatch(LDAPAttributeValueAssertion(attribute: "1.3.6.1.4.1.1466.0", value: [4, 2, 0x48, 0x69])),
            "(1.3.6.1.4.1.1466.0=\\04\\02Hi)"
        ),
        // Every other item, and the corners of substrings.
        ("(mail=*)", .present("mail"), nil),
        ("(cn~=alise)", .approxMatch(ava("cn", "alise")), nil),
        ("(uidNumber>=1000)", .greaterOrEqual(ava("uidNumber", "1000")), nil),
        ("(uidNumber<=1000)", .lessOrEqual(ava("uidNumber", "1000")), nil),
        ("(cn=*son)", sub("cn", nil, [], "son"), nil),
        ("(cn=a*b*c*d)", sub("cn", "a", ["b", "c"], "d"), nil),
        ("(cn=**)", sub("cn", nil, [""], nil), nil),
        ("(cn;lang-en=x)", .equal("cn;lang-en", "x"), nil),
        ("(2.5.4.3=x)", .equal("2.5.4.3", "x"), nil),
        ("(cn=caf\u{E9})", .equal("cn", "caf\u{E9}"), nil),
        ("(cn=tab\\09)", .equal("cn", "tab\t"), nil),
        ("(&)", .and([]), nil),
        ("(|)", .or([]), nil),
        ("(!(!(!(cn=a))))", .not(.not(.not(.equal("cn", "a")))), nil),
        // What OpenLDAP's tools accept beyond the grammar.
        ("cn=ali*", sub("cn", "ali", [], nil), "(cn=ali*)"),
        ("  (& (cn=a) (sn=b) )  ", .and([.equal("cn", "a"), .equal("sn", "b")]), "(&(cn=a)(sn=b))"),
    ]

    @Test(arguments: strings)
    func parses(text: String, filter: LDAPFilter, canonical: String?) throws {
        #expect(try LDAPFilter(parsing: text) == filter)
        #expect(filter.description == (canonical ?? text))
        #expect(try LDAPFilter(parsing: filter.description) == filter)
    }

    /// Each filter goes into a SearchRequest, out as BER and back unchanged.
    @Test(arguments: strings)
    func roundTripsThroughBER(text: String, filter: LDAPFilter, canonical: String?) throws {
        let message = LDAPMessage(messageID: 2, .searchRequest(LDAPSearchRequest(baseObject: "o=x", filter: filter)))
        #expect(try LDAPMessage(decoding: message.encoded()) == message)
    }

    /// Values that are not UTF-8 print escaped, octet by octet (RFC 4515 §3: "MUST escape all
    /// octets greater than 0x7F that are not part of a valid UTF-8 encoding sequence").
    @Test func printsBinaryValuesEscaped() throws {
        let filter = LDAPFilter.equalityMatch(LDAPAttributeValueAssertion(attribute: "jpegPhoto", value: [0xFF, 0xD8, 0x28, 0x41, 0xC3]))
        #expect(filter.description == "(jpegPhoto=\\ff\\d8\\28A\\c3)")
        #expect(try LDAPFilter(parsing: filter.description) == filter)
        #expect(LDAPFilter.unrecognized([0x8F, 0x00]).description == "(?=undefined)")
    }

    static let malformed: [String] = [
        "", "(", "()", "(cn)", "(cn=a", "(cn=a))", "cn=a)", "(cn=a)(sn=b)", "(=a)", "(c n=a)", "(cn=(a)", "(cn=a)b)",
        "(cn=\\4)", "(cn=\\zz)", "(cn=a\\)", "(cn>=a*)", "(cn~=*)", "(cn<a)", "(cn:=a*)", "(:=a)", "(:dn:=a)", "(cn:1.2.3:dn:=a)",
        "(cn:a b:=x)", "(cn:1.2.3:4.5.6:=x)", "(!(cn=a)(sn=b))", "(&(cn=a)x)", "(!)", "(cn;=a)", "(-cn=a)", "(1.=a)", "(01.2=a)",
    ]

    @Test(arguments: malformed)
    func refuses(text: String) {
        #expect(throws: LDAPCodecError.self, "\(text)") { try LDAPFilter(parsing: text) }
        do {
            _ = try LDAPFilter(parsing: text)
        } catch {
            #expect(error.code == .filterSyntax, "\(text): \(error)")
        }
    }

    // MARK: Limits, in the string form

    static func nested(_ depth: Int) -> String {
        String(repeating: "(!", count: depth - 1) + "(cn=a)" + String(repeating: ")", count: depth - 1)
    }

    @Test func depthLimit() throws {
        let limits = LDAPLimits(filterDepth: 5)
        _ = try LDAPFilter(parsing: Self.nested(5), limits: limits)
        #expect(throws: LDAPCodecError(.filterTooDeep, "over 5 levels")) { try LDAPFilter(parsing: Self.nested(6), limits: limits) }
        #expect(throws: LDAPCodecError.self) { try LDAPFilter(parsing: Self.nested(100_000)) }
    }

    @Test func componentLimit() throws {
        let limits = LDAPLimits(filterComponents: 10)
        let nine = "(|" + String(repeating: "(cn=a)", count: 9) + ")"
        _ = try LDAPFilter(parsing: nine, limits: limits)
        let ten = "(|" + String(repeating: "(cn=a)", count: 10) + ")"
        #expect(throws: LDAPCodecError(.tooManyFilterComponents, "over 10")) { try LDAPFilter(parsing: ten, limits: limits) }
    }

    @Test func valueLengthLimit() throws {
        let limits = LDAPLimits(valueLength: 4)
        _ = try LDAPFilter(parsing: "(cn=\\00bcd)", limits: limits)
        _ = try LDAPFilter(parsing: "(cn=abcd*abcd*abcd)", limits: limits)
        for text in ["(cn=abcde)", "(cn=abcde*)", "(cn=*abcde*)", "(cn:=abcde)", "(cn>=abcde)"] {
            #expect(throws: LDAPCodecError(.valueTooLong, "5 octets"), "\(text)") { try LDAPFilter(parsing: text, limits: limits) }
        }
    }
}
