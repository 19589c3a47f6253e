import LDAPCodec
import LDAPGateway
import Testing

/// What anonymous clients may search for, and what bind names mean.
@Suite struct LDAPAccessPolicyTests {
    static let directory = Fixture.directory()

    static let allowed: [(String, [String])] = [
        ("(mail=alice@example.org)", [Fixture.alice]),
        ("(mail=ali*)", [Fixture.alice, Fixture.aliAlias]),
        ("(cn=ali*)", [Fixture.alice, Fixture.aliAlias]),
        ("(rfc822Mailbox=bob@example.org)", [Fixture.bob]),
        ("(commonName=Bob Builder)", [Fixture.bob]),
        ("(&(objectClass=inetOrgPerson)(mail=ali*))", [Fixture.alice]),
        ("(&(objectClass=*)(mail=carol@example.org))", [Fixture.carol]),
        ("(|(cn=ali*)(mail=ali*))", [Fixture.alice, Fixture.aliAlias]),
        ("(&(mail=ali*)(!(cn=ali)))", [Fixture.alice]),
    ]

    @Test(arguments: allowed)
    func anonymousMay(_ filter: String, _ expected: [String]) throws {
        let outcome = Self.directory.search(try Fixture.search(filter), paging: nil, access: .anonymous)
        #expect(outcome.result == .success, "\(filter)")
        #expect(outcome.names == expected)
    }

    static let refused = [
        "(mail=*)", "(cn=*)", "(cn=*ali*)", "(sn=x)", "(mail=al*)", "(mail=*ali)", "(mail=ali*ce*)", "(objectClass=*)",
        "(objectClass=inetOrgPerson)", "(!(mail=alice@example.org))", "(|(mail=alice@example.org)(objectClass=*))",
        "(&(objectClass=*)(sn=Liddell))", "(mail>=a)", "(cn~=alice)", "(cn:caseIgnoreMatch:=alice)", "(&)", "(|)", "(uid=alice)",
        "(mail=  a  *)",
    ]

    @Test(arguments: refused)
    func anonymousMayNot(_ filter: String) throws {
        let outcome = Self.directory.search(try Fixture.search(filter), paging: nil, access: .anonymous)
        #expect(outcome.result.resultCode == .unwillingToPerform, "\(filter)")
        #expect(outcome.result.diagnosticMessage.contains("anonymous clients may only look up mail, cn"))
        #expect(outcome.entries.isEmpty)
        #expect(
            Self.directory.search(try Fixture.search(filter), paging: nil, access: Fixture.bound).result.resultCode != .unwillingToPerform)
    }

    @Test func thePolicyIsConfigurable() throws {
        let directory = Fixture.directory(policy: LDAPAccessPolicy(anonymousAttributes: ["mail", "sn"], anonymousMinimumPrefix: 1))
        #expect(directory.search(try Fixture.search("(sn=Builder)"), paging: nil, access: .anonymous).names == [Fixture.bob])
        #expect(directory.search(try Fixture.search("(mail=c*)"), paging: nil, access: .anonymous).names == [Fixture.carol])
        #expect(
            directory.search(try Fixture.search("(cn=carol)"), paging: nil, access: .anonymous).result.resultCode == .unwillingToPerform)
    }

    @Test func rootDSEAndSubschemaStayReadable() throws {
        let root = Self.directory.search(
            try Fixture.search("(objectClass=*)", base: "", scope: .baseObject), paging: nil, access: .anonymous)
        #expect(root.names == [""])
        let schema = Self.directory.search(
            try Fixture.search("(objectClass=subschema)", base: "cn=Subschema", scope: .baseObject), paging: nil, access: .anonymous)
        #expect(schema.names == ["cn=Subschema"])
    }

    static let bindNames: [(String, String?)] = [
        (Fixture.alice, "alice@example.org"),
        ("UID=Alice,OU=People,DC=Example,DC=Org", "alice@example.org"),
        ("uid = alice , ou = people , dc = example , dc = org", "alice@example.org"),
        ("uid=\\61lice,ou=people,dc=example,dc=org", "alice@example.org"),
        ("uid=#0405616c696365,ou=people,dc=example,dc=org", "alice@example.org"),
        ("userid=alice;ou=people;dc=example;dc=org", "alice@example.org"),
        ("0.9.2342.19200300.100.1.1=alice,ou=people,dc=example,dc=org", "alice@example.org"),
        (Fixture.dave, "dave@other.net"),
        ("uid=dave\\40other.net,ou=people,dc=example,dc=org", "dave@other.net"),
        ("alice@example.org", "alice@example.org"),
        ("Alice@Example.ORG", "alice@example.org"),
        ("ali@example.org", "alice@example.org"),
        ("dave@other.net", "dave@other.net"),
        ("team@other.net", nil),
        ("staff@example.org", nil),
        (Fixture.staff, nil),
        (Fixture.people, nil),
        ("uid=eve,ou=people,dc=example,dc=org", nil),
        ("eve@example.org", nil),
        ("", nil),
    ]

    @Test(arguments: bindNames)
    func bindName(_ name: String, _ account: String?) {
        #expect(Self.directory.account(forBindName: name) == account, "\(name)")
    }

    @Test func distinguishedNameOfAccount() {
        #expect(Self.directory.distinguishedName(ofAccount: "alice@example.org") == Fixture.alice)
        #expect(Self.directory.distinguishedName(ofAccount: "Dave@Other.net") == Fixture.dave)
        #expect(Self.directory.distinguishedName(ofAccount: "team@other.net") == nil)
    }
}
