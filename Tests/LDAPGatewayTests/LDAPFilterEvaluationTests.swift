import LDAPCodec
import LDAPGateway
import Testing

/// Each filter type against the fixture directory, by the DNs it selects (tree order).
@Suite struct LDAPFilterEvaluationTests {
    static let directory = Fixture.directory()

    static let rows: [(String, [String])] = [
        ("(mail=alice@example.org)", [Fixture.alice]),
        ("(MAIL=ALICE@Example.ORG)", [Fixture.alice]),
        ("(rfc822Mailbox=alice@example.org)", [Fixture.alice]),
        ("(mail=ali@example.org)", [Fixture.alice, Fixture.aliAlias]),
        ("(&(objectClass=inetOrgPerson)(mail=ali@example.org))", [Fixture.alice]),
        ("(|(mail=bob@example.org)(mail=dave@other.net))", [Fixture.bob, Fixture.dave]),
        ("(cn=alice liddell)", [Fixture.alice]),
        ("(cn=  Alice   LIDDELL )", [Fixture.alice]),
        ("(commonName=dave jones)", [Fixture.dave]),
        ("(cn=carol)", [Fixture.carol]),
        ("(sn=carol)", [Fixture.carol]),
        ("(surname=builder)", [Fixture.bob]),
        ("(gn=alice)", [Fixture.alice]),
        ("(uid=dave@other.net)", [Fixture.dave]),
        ("(userid=alice)", [Fixture.alice]),
        ("(name=builder)", [Fixture.bob]),
        ("(cn=*ali*)", [Fixture.alice, Fixture.aliAlias]),
        ("(|(cn=*ali*)(mail=*ali*)(sn=*ali*)(givenName=*ali*))", [Fixture.alice, Fixture.aliAlias]),
        ("(mail=*@other.net)", [Fixture.dave, Fixture.ops, Fixture.team]),
        ("(cn=a*e*l)", [Fixture.alice]),
        ("(cn=a*z*l)", []),
        ("(cn=al*ce l*ll*)", [Fixture.alice]),
        ("(objectClass=person)", [Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave]),
        ("(objectClass=2.5.6.6)", [Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave]),
        ("(objectClass=groupOfNames)", [Fixture.ops, Fixture.staff]),
        ("(objectClass=nisMailAlias)", [Fixture.aliAlias, Fixture.team]),
        ("(objectClass=organizationalUnit)", [Fixture.people, Fixture.groups, Fixture.aliases]),
        ("(objectClass=dcObject)", [Fixture.base]),
        ("(mailRoutingAddress=*)", [Fixture.bob, Fixture.aliAlias]),
        ("(givenName=*)", [Fixture.alice, Fixture.bob]),
        ("(!(objectClass=*))", []),
        ("(&(objectClass=inetOrgPerson)(!(mail=alice@example.org)))", [Fixture.bob, Fixture.carol, Fixture.dave]),
        ("(member=UID=Alice, OU=People, DC=Example, DC=Org)", [Fixture.staff]),
        ("(rfc822MailMember=outside@x.test)", [Fixture.staff]),
        ("(description=all staff)", [Fixture.staff]),
        ("(cn=All Staff)", [Fixture.staff]),
        // No type has an ORDERING rule: Undefined (RFC 4511 §4.5.1.7.3), so NOT is Undefined too.
        ("(&(objectClass=inetOrgPerson)(cn>=c))", []),
        ("(&(objectClass=inetOrgPerson)(cn<=b))", []),
        ("(mail>=a)", []),
        ("(&(objectClass=inetOrgPerson)(!(mail<=z)))", []),
        ("(|(mail>=a)(uid=alice))", [Fixture.alice]),
        ("(objectClass>=a)", []),
        ("(cn~=alice-liddell)", [Fixture.alice]),
        ("(cn~=DaveJones)", [Fixture.dave]),
        ("(cn:caseIgnoreMatch:=ALICE LIDDELL)", [Fixture.alice]),
        ("(cn:2.5.13.2:=alice liddell)", [Fixture.alice]),
        ("(cn:caseExactMatch:=Alice Liddell)", [Fixture.alice]),
        ("(cn:caseExactMatch:=alice liddell)", []),
        ("(:caseIgnoreMatch:=bob builder)", [Fixture.bob]),
        ("(ou:dn:=people)", [Fixture.people, Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave]),
        ("(:dn:caseIgnoreMatch:=groups)", [Fixture.groups, Fixture.ops, Fixture.staff]),
        ("(cn:1.2.3.4:=alice)", []),
        ("(cn:integerMatch:=1)", []),
        ("(unknownAttribute=x)", []),
        ("(!(unknownAttribute=x))", []),
        ("(|(unknownAttribute=x)(mail=carol@example.org))", [Fixture.carol]),
        ("(&(unknownAttribute=*)(mail=carol@example.org))", []),
        (
            "(&)",
            [
                Fixture.base, Fixture.people, Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave, Fixture.groups, Fixture.ops,
                Fixture.staff,
                Fixture.aliases, Fixture.aliAlias, Fixture.team,
            ]
        ),
        ("(|)", []),
        ("(entryDN=uid=bob,ou=people,dc=example,dc=org)", [Fixture.bob]),
        ("(structuralObjectClass=groupOfNames)", [Fixture.ops, Fixture.staff]),
        ("(hasSubordinates=TRUE)", [Fixture.base, Fixture.people, Fixture.groups, Fixture.aliases]),
    ]

    @Test(arguments: rows)
    func selects(_ filter: String, _ expected: [String]) throws {
        let outcome = Self.directory.search(try Fixture.search(filter), paging: nil, access: Fixture.bound)
        #expect(outcome.result == .success)
        #expect(outcome.names == expected, "\(filter)")
    }

    @Test func notOfUndefinedStaysUndefined() throws {
        // (!(x=1)) with x unknown is Undefined, so neither it nor its negation selects anything.
        let directory = Self.directory
        for text in ["(x=1)", "(!(x=1))", "(!(!(x=1)))"] {
            #expect(directory.search(try Fixture.search(text), paging: nil, access: Fixture.bound).entries.isEmpty)
        }
    }
}
