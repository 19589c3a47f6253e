import LDAPCodec
import LDAPGateway
import RPCProtocol
import Testing

@Suite struct LDAPDirectoryTreeTests {
    static let directory = Fixture.directory()

    @Test func baseDNComesFromTheFirstDomainOrTheConfiguration() {
        #expect(Self.directory.baseDN == "dc=example,dc=org")
        #expect(Fixture.directory(baseDN: "o=Loft Test").baseDN == "o=Loft Test")
        let empty = LDAPDirectory(
            entries: [], domains: [], version: "0", configuration: LDAPDirectoryConfiguration(vendorVersion: "1", startTLSAvailable: false))
        #expect(empty.baseDN == "dc=invalid")
    }

    @Test func anAccountEntryHasItsInetOrgPersonAttributes() throws {
        let outcome = Self.directory.search(
            try Fixture.search("(objectClass=*)", base: Fixture.alice, scope: .baseObject), paging: nil, access: Fixture.bound)
        let entry = try #require(outcome.entries.first)
        #expect(entry.objectName == Fixture.alice)
        #expect(entry.values("objectClass") == ["top", "person", "organizationalPerson", "inetOrgPerson", "inetLocalMailRecipient"])
        #expect(entry.values("uid") == ["alice"])
        #expect(entry.values("cn") == ["Alice Liddell"])
        #expect(entry.values("sn") == ["Liddell"])
        #expect(entry.values("givenName") == ["Alice"])
        #expect(entry.values("displayName") == ["Alice Liddell"])
        #expect(entry.values("mail") == ["alice@example.org", "ali@example.org"])
        #expect(entry.values("mailLocalAddress") == ["alice@example.org", "ali@example.org"])
        #expect(entry.values("mailRoutingAddress") == nil)
        #expect(entry.values("entryDN") == nil)
    }

    static let derivedNames: [(String, String, String, String?)] = [
        // dn, cn, sn, mailRoutingAddress
        (Fixture.bob, "Bob Builder", "Builder", "bob@elsewhere.test"),
        (Fixture.carol, "carol", "carol", nil),
        (Fixture.dave, "Dave  Jones", "Jones", nil),
    ]

    @Test(arguments: derivedNames)
    func namesAreDerived(_ dn: String, _ cn: String, _ sn: String, _ routing: String?) throws {
        let entry = try #require(
            Self.directory.search(try Fixture.search("(objectClass=*)", base: dn, scope: .baseObject), paging: nil, access: Fixture.bound)
                .entries.first)
        #expect(entry.values("cn") == [cn])
        #expect(entry.values("sn") == [sn])
        #expect(entry.values("mailRoutingAddress") == routing.map { [$0] })
    }

    @Test func groupsAndAliases() throws {
        func entry(_ dn: String) throws -> LDAPSearchResultEntry {
            try #require(
                Self.directory.search(
                    try Fixture.search("(objectClass=*)", base: dn, scope: .baseObject), paging: nil, access: Fixture.bound
                ).entries.first)
        }
        let staff = try entry(Fixture.staff)
        #expect(staff.values("objectClass") == ["top", "groupOfNames", "inetLocalMailRecipient"])
        #expect(staff.values("cn") == ["staff", "All Staff"])
        #expect(staff.values("mail") == ["staff@example.org"])
        #expect(staff.values("member") == [Fixture.alice])
        #expect(staff.values("rfc822MailMember") == ["alice@example.org", "outside@x.test"])
        #expect(staff.values("description") == ["All Staff"])
        let team = try entry(Fixture.team)
        #expect(team.values("objectClass") == ["top", "nisMailAlias", "inetLocalMailRecipient"])
        #expect(team.values("cn") == ["team@other.net"])
        #expect(team.values("rfc822MailMember") == ["bob@example.org", "dave@other.net"])
        #expect(team.values("mailRoutingAddress") == nil)
        #expect(try entry(Fixture.aliAlias).values("mailRoutingAddress") == ["alice@example.org"])
        let base = try entry(Fixture.base)
        #expect(base.values("objectClass") == ["top", "dcObject", "organization"])
        #expect(base.values("dc") == ["example"])
        #expect(base.values("o") == ["example.org"])
    }

    static let scopes: [(String, LDAPSearchScope, [String])] = [
        (Fixture.base, .baseObject, [Fixture.base]),
        (Fixture.base, .singleLevel, [Fixture.people, Fixture.groups, Fixture.aliases]),
        (Fixture.people, .singleLevel, [Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave]),
        (Fixture.people, .wholeSubtree, [Fixture.people, Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave]),
        (Fixture.groups, .wholeSubtree, [Fixture.groups, Fixture.ops, Fixture.staff]),
        (Fixture.alice, .singleLevel, []),
        (Fixture.alice, .wholeSubtree, [Fixture.alice]),
        ("UID=ALICE , ou=People,DC=example, dc=ORG", .baseObject, [Fixture.alice]),
    ]

    @Test(arguments: scopes)
    func scope(_ base: String, _ scope: LDAPSearchScope, _ expected: [String]) throws {
        let outcome = Self.directory.search(
            try Fixture.search("(objectClass=*)", base: base, scope: scope), paging: nil, access: Fixture.bound)
        #expect(outcome.result == .success)
        #expect(outcome.names == expected)
    }

    @Test func mailIndexRespectsScope() throws {
        let outcome = Self.directory.search(
            try Fixture.search("(mail=ali@example.org)", base: Fixture.aliases), paging: nil, access: Fixture.bound)
        #expect(outcome.names == [Fixture.aliAlias])
        let one = Self.directory.search(
            try Fixture.search("(mail=alice@example.org)", base: Fixture.base, scope: .singleLevel), paging: nil, access: Fixture.bound)
        #expect(one.names.isEmpty)
    }

    static let missing: [(String, LDAPResult)] = [
        ("uid=nobody,ou=people,dc=example,dc=org", LDAPResult(.noSuchObject, matchedDN: Fixture.people)),
        ("cn=x,uid=nobody,ou=people,dc=example,dc=org", LDAPResult(.noSuchObject, matchedDN: Fixture.people)),
        ("ou=nothing,dc=example,dc=org", LDAPResult(.noSuchObject, matchedDN: Fixture.base)),
        ("cn=y,uid=alice,ou=people,dc=example,dc=org", LDAPResult(.noSuchObject, matchedDN: Fixture.alice)),
        ("dc=other,dc=net", LDAPResult(.noSuchObject)),
        ("dc=org", LDAPResult(.noSuchObject)),
        ("not a dn", LDAPResult(.invalidDNSyntax, diagnosticMessage: "invalid DN")),
    ]

    @Test(arguments: missing)
    func missingBase(_ base: String, _ expected: LDAPResult) throws {
        let outcome = Self.directory.search(try Fixture.search("(objectClass=*)", base: base), paging: nil, access: Fixture.bound)
        #expect(outcome.result == expected)
        #expect(outcome.entries.isEmpty)
    }

    @Test func tenThousandAccounts() throws {
        let entries = (0..<10_000).map { index in
            DirectoryEntry(kind: .account, address: "user\(index)@example.org", givenName: "Given\(index)", surname: "Surname\(index)")
        }
        let directory = LDAPDirectory(
            entries: entries, domains: ["example.org"], version: "big",
            configuration: LDAPDirectoryConfiguration(vendorVersion: "1", startTLSAvailable: false))
        let outcome = directory.search(try Fixture.search("(mail=user4242@example.org)"), paging: nil, access: .anonymous)
        #expect(outcome.names == ["uid=user4242,ou=people,dc=example,dc=org"])
        let thunderbird = directory.search(
            try Fixture.search("(|(cn=*n4242*)(mail=*r4242*)(sn=*e4242*)(givenName=*n4242*))", attributes: ["cn", "mail"]), paging: nil,
            access: Fixture.bound)
        #expect(thunderbird.names == ["uid=user4242,ou=people,dc=example,dc=org"])
        #expect(
            directory.search(try Fixture.search("(objectClass=person)"), paging: nil, access: Fixture.bound).result.resultCode
                == .sizeLimitExceeded)
    }
}
