import LDAPCodec
import RPCProtocol
import Testing

@testable import LDAPGateway

/// Attribute selection, typesOnly, size limits and paged results.
@Suite struct LDAPSearchLimitTests {
    static let directory = Fixture.directory()
    static let userTypes = ["objectClass", "uid", "cn", "sn", "givenName", "displayName", "mail", "mailLocalAddress"]
    static let operationalTypes = ["structuralObjectClass", "entryDN", "subschemaSubentry", "hasSubordinates"]

    static let selections: [([String], [String])] = [
        ([], userTypes),
        (["*"], userTypes),
        (["+"], operationalTypes),
        (["*", "+"], userTypes + operationalTypes),
        (["1.1"], []),
        (["1.1", "mail"], ["mail"]),
        (["MAIL", "CN"], ["cn", "mail"]),
        (["commonName", "rfc822Mailbox", "surname", "gn"], ["cn", "sn", "givenName", "mail"]),
        (["2.5.4.3"], ["cn"]),
        (["name"], ["cn", "sn", "givenName"]),
        (["entryDN", "cn"], ["cn", "entryDN"]),
        (["*", "entryDN"], userTypes + ["entryDN"]),
        (["noSuchAttribute"], []),
        (["mail;binary"], []),
    ]

    @Test(arguments: selections)
    func attributeSelection(_ attributes: [String], _ expected: [String]) throws {
        let outcome = Self.directory.search(
            try Fixture.search("(objectClass=*)", base: Fixture.alice, scope: .baseObject, attributes: attributes), paging: nil,
            access: Fixture.bound)
        #expect(try #require(outcome.entries.first).types == expected)
    }

    @Test func typesOnlyGivesEmptyValueSets() throws {
        let outcome = Self.directory.search(
            try Fixture.search("(objectClass=*)", base: Fixture.alice, scope: .baseObject, attributes: ["cn", "mail"], typesOnly: true),
            paging: nil,
            access: Fixture.bound)
        #expect(
            try #require(outcome.entries.first).attributes == [
                LDAPAttribute(type: "cn", values: []), LDAPAttribute(type: "mail", values: []),
            ])
    }

    static let people = [Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave]

    static let limits: [(Int32, Int, LDAPResultCode, Int)] = [
        // client's sizeLimit, policy sizeLimit, result, entries
        (0, 1000, .success, 4),
        (4, 1000, .success, 4),
        (3, 1000, .sizeLimitExceeded, 3),
        (1, 1000, .sizeLimitExceeded, 1),
        (0, 4, .success, 4),
        (0, 3, .sizeLimitExceeded, 3),
        (10, 2, .sizeLimitExceeded, 2),
    ]

    @Test(arguments: limits)
    func sizeLimit(_ client: Int32, _ server: Int, _ code: LDAPResultCode, _ count: Int) throws {
        let directory = Fixture.directory(policy: LDAPAccessPolicy(sizeLimit: server))
        let outcome = directory.search(try Fixture.search("(objectClass=person)", sizeLimit: client), paging: nil, access: Fixture.bound)
        #expect(outcome.result.resultCode == code)
        #expect(outcome.names == Array(Self.people.prefix(count)))
    }

    @Test func anonymousSizeLimit() throws {
        let directory = Fixture.directory(policy: LDAPAccessPolicy(anonymousSizeLimit: 1))
        let outcome = directory.search(try Fixture.search("(mail=ali@example.org)"), paging: nil, access: .anonymous)
        #expect(outcome.result.resultCode == .sizeLimitExceeded)
        #expect(outcome.names == [Fixture.alice])
        #expect(directory.search(try Fixture.search("(mail=ali@example.org)"), paging: nil, access: Fixture.bound).names.count == 2)
    }

    /// Reads every page of size `size`; returns the DNs and the final result.
    static func pages(
        _ directory: LDAPDirectory, _ request: LDAPSearchRequest, size: Int32, access: LDAPAccess = Fixture.bound
    ) throws -> ([String], LDAPResult, Int) {
        var names: [String] = []
        var cookie: [UInt8] = []
        var count = 0
        while true {
            count += 1
            let outcome = directory.search(request, paging: LDAPPagedResultsControl(size: size, cookie: cookie), access: access)
            names += outcome.names
            #expect(outcome.entries.count <= Int(size))
            let control = try LDAPPagedResultsControl(try #require(outcome.controls.first))
            cookie = control.cookie
            if cookie.isEmpty || outcome.result != .success || count > 20 { return (names, outcome.result, count) }
        }
    }

    static let all = [
        Fixture.base, Fixture.people, Fixture.alice, Fixture.bob, Fixture.carol, Fixture.dave, Fixture.groups, Fixture.ops, Fixture.staff,
        Fixture.aliases, Fixture.aliAlias, Fixture.team,
    ]

    @Test(arguments: [1, 2, 5, 12, 13, 100] as [Int32])
    func pagingReturnsEachEntryOnce(_ size: Int32) throws {
        let (names, result, pages) = try Self.pages(Self.directory, try Fixture.search("(objectClass=*)"), size: size)
        #expect(result == .success)
        #expect(names == Self.all)
        #expect(pages == max(1, (Self.all.count + Int(size) - 1) / Int(size)))
    }

    @Test func pagingBoundClientsPastThePolicyLimit() throws {
        let directory = Fixture.directory(policy: LDAPAccessPolicy(sizeLimit: 3))
        let (names, result, _) = try Self.pages(directory, try Fixture.search("(objectClass=*)"), size: 5)
        #expect(result == .success)
        #expect(names == Self.all)
    }

    @Test func pagingAnonymousStopsAtTheLimitOverAllPages() throws {
        let directory = Fixture.directory(policy: LDAPAccessPolicy(anonymousSizeLimit: 3))
        let (names, result, _) = try Self.pages(
            directory, try Fixture.search("(|(mail=ali*)(mail=bob*)(mail=car*)(mail=dav*))"), size: 2,
            access: .anonymous)
        #expect(result.resultCode == .sizeLimitExceeded)
        #expect(names == [Fixture.alice, Fixture.bob, Fixture.carol])
    }

    @Test func pagingHonoursTheClientsSizeLimit() throws {
        let (names, result, _) = try Self.pages(Self.directory, try Fixture.search("(objectClass=person)", sizeLimit: 3), size: 2)
        #expect(result.resultCode == .sizeLimitExceeded)
        #expect(names == [Fixture.alice, Fixture.bob, Fixture.carol])
    }

    @Test func badCookies() throws {
        let request = try Fixture.search("(objectClass=*)")
        let first = Self.directory.search(request, paging: LDAPPagedResultsControl(size: 2), access: Fixture.bound)
        let cookie = try LDAPPagedResultsControl(try #require(first.controls.first)).cookie
        #expect(!cookie.isEmpty)
        let refused = LDAPResult(.unwillingToPerform, diagnosticMessage: "paged results cookie is invalid or old")
        // Garbage.
        #expect(
            Self.directory.search(request, paging: LDAPPagedResultsControl(size: 2, cookie: [1, 2, 3]), access: Fixture.bound).result
                == refused)
        // Another search's cookie.
        let other = try Fixture.search("(objectClass=person)")
        #expect(
            Self.directory.search(other, paging: LDAPPagedResultsControl(size: 2, cookie: cookie), access: Fixture.bound).result == refused)
        // Another access's cookie.
        #expect(
            Self.directory.search(
                request, paging: LDAPPagedResultsControl(size: 2, cookie: cookie), access: .bound(account: "bob@example.org")
            ).result == refused)
        // Another version of the directory.
        let newer = LDAPDirectory(
            entries: Fixture.entries, domains: ["example.org"], version: "v2",
            configuration: LDAPDirectoryConfiguration(vendorVersion: "1", startTLSAvailable: false))
        #expect(newer.search(request, paging: LDAPPagedResultsControl(size: 2, cookie: cookie), access: Fixture.bound).result == refused)
        // The right one continues; size 0 with it ends the search.
        let second = Self.directory.search(request, paging: LDAPPagedResultsControl(size: 2, cookie: cookie), access: Fixture.bound)
        #expect(second.names == [Fixture.alice, Fixture.bob])
        let abandoned = Self.directory.search(request, paging: LDAPPagedResultsControl(size: 0, cookie: cookie), access: Fixture.bound)
        #expect(abandoned.result == .success)
        #expect(abandoned.entries.isEmpty)
        #expect(try LDAPPagedResultsControl(try #require(abandoned.controls.first)).cookie.isEmpty)
    }
}

/// RFC 4511 §4.5.1.5: the time limit is the smaller of the client's and the server's; a search
/// still running when it is up ends with the entries found so far and timeLimitExceeded. The
/// clock moves one second each time the search looks at it (every `LDAPSearchClock.stride`
/// entries examined), so a 3,000-entry scan looks at it 11 times.
@Suite struct LDAPSearchTimeLimitTests {
    static let cases: [(client: Int32, server: Int, paged: Bool, result: LDAPResultCode, lookedAt: Int)] = [
        (0, 60, false, .success, 11),  // the clock never reaches 60
        (0, 5, false, .timeLimitExceeded, 5),  // the server's limit
        (3, 60, false, .timeLimitExceeded, 3),  // the client's, smaller
        (30, 4, false, .timeLimitExceeded, 4),  // the server's, smaller
        (2, 60, true, .timeLimitExceeded, 2),  // a page too
    ]

    @Test(arguments: cases)
    func limits(_ c: (client: Int32, server: Int, paged: Bool, result: LDAPResultCode, lookedAt: Int)) throws {
        var policy = LDAPAccessPolicy(sizeLimit: 10_000)
        policy.timeLimitSeconds = c.server
        let directory = LDAPDirectory(
            entries: (0..<3000).map { DirectoryEntry(kind: .account, address: "user\($0)@example.org", surname: "S\($0)") },
            domains: ["example.org"], version: "t",
            configuration: LDAPDirectoryConfiguration(vendorVersion: "1", startTLSAvailable: false, policy: policy))
        var request = try Fixture.search("(sn=S*)", attributes: ["1.1"])
        request.timeLimit = c.client
        var looks = 0
        let outcome = directory.search(
            request, paging: c.paged ? LDAPPagedResultsControl(size: 5000) : nil, access: Fixture.bound,
            elapsed: {
                looks += 1
                return Double(looks)
            })
        #expect(outcome.result.resultCode == c.result)
        #expect(looks == c.lookedAt)
        // Whatever was found before the limit is returned: about 256 entries per second allowed.
        if c.result == .timeLimitExceeded {
            #expect(outcome.entries.count < 3000 && outcome.entries.count >= (c.lookedAt - 1) * LDAPSearchClock.stride - 10)
        } else {
            #expect(outcome.entries.count == 3000)
        }
    }
}
