import LDAPGateway
import Testing

/// RFC 4514 parsing and normalisation: equal rows name the same entry.
@Suite struct DistinguishedNameTests {
    static let equal: [(String, String)] = [
        ("dc=example,dc=org", "DC=Example,DC=ORG"),
        ("dc=example,dc=org", "dc = example , dc = org"),
        ("dc=example,dc=org", "domainComponent=example,dc=org"),
        ("dc=example,dc=org", "0.9.2342.19200300.100.1.25=example,dc=org"),
        ("cn=a\\,b,dc=org", "cn=a\\2Cb,dc=org"),
        ("cn=a\\,b,dc=org", "CN=A\\2cB,DC=ORG"),
        ("cn=Alice  Liddell,dc=org", "cn=alice liddell,dc=org"),
        ("cn=alice,dc=org", "cn=#0405616c696365,dc=org"),
        ("cn=alice,dc=org", "cn=#0c05616c696365,dc=org"),
        ("cn=a+sn=b,dc=org", "sn=B + cn=A,dc=org"),
        ("cn=a,dc=org", "cn=a;dc=org"),
        ("cn=\\ a,dc=org", "cn=a,dc=org"),
    ]

    @Test(arguments: equal)
    func sameName(_ left: String, _ right: String) throws {
        #expect(try #require(DistinguishedName(parsing: left)) == (try #require(DistinguishedName(parsing: right))))
    }

    static let different: [(String, String)] = [
        ("cn=a,dc=org", "sn=a,dc=org"),
        ("cn=a\\,b,dc=org", "cn=a,cn=b,dc=org"),
        ("cn=a+sn=b,dc=org", "cn=a,sn=b,dc=org"),
        ("cn=alice,dc=org", "cn=alice,dc=net"),
    ]

    @Test(arguments: different)
    func differentName(_ left: String, _ right: String) throws {
        #expect(try #require(DistinguishedName(parsing: left)) != (try #require(DistinguishedName(parsing: right))))
    }

    @Test(arguments: ["cn", "=a", "cn=a,", "cn=a,,dc=b", "1cn=a", "cn=#04", "cn=#zz", "c n=a", "cn=a\\"])
    func notADN(_ text: String) {
        #expect(DistinguishedName(parsing: text) == nil, "\(text)")
    }

    @Test func empty() throws {
        #expect(try #require(DistinguishedName(parsing: "")).rdns.isEmpty)
        #expect(try #require(DistinguishedName(parsing: "  ")).rdns.isEmpty)
    }

    @Test(arguments: [("a,b", "a\\,b"), (" a ", "\\ a\\ "), ("#x", "\\#x"), ("a+b=c", "a\\+b=c"), ("x\"<>;\\", "x\\\"\\<\\>\\;\\\\")])
    func escape(_ value: String, _ escaped: String) throws {
        #expect(DistinguishedName.escape(value) == escaped)
        let parsed = try #require(DistinguishedName(parsing: "cn=" + escaped))
        #expect(parsed.rdns[0][0].value == Array(value.lowercased().trimmingCharacters(in: " ").utf8))
    }

    @Test func within() throws {
        let base = try #require(DistinguishedName(parsing: "dc=example,dc=org"))
        #expect(try #require(DistinguishedName(parsing: "uid=a,ou=people,DC=Example,dc=org")).isWithin(base))
        #expect(base.isWithin(base))
        #expect(!(try #require(DistinguishedName(parsing: "dc=org")).isWithin(base)))
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
