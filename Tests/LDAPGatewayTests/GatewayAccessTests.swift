import GatewayKit
import LDAPCodec
import NIOCore
import Testing

@testable import LDAPGateway

/// The access rules the gateway applies before the directory sees a search (issue 12 §5).
@Suite struct GatewayAccessTests {
    /// A fixed window per address: `perMinute` searches, the next refused, a fresh minute
    /// allowed again; other addresses are counted apart; 0 means no limit.
    @Test func anonymousRateIsPerAddressAndPerMinute() {
        let rate = AnonymousSearchRate(perMinute: 3)
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        #expect((0..<3).allSatisfy { _ in rate.allow("127.0.0.1", now: start) })
        #expect(!rate.allow("127.0.0.1", now: start + .seconds(59)))
        #expect(rate.allow("127.0.0.2", now: start + .seconds(59)))
        #expect(rate.allow("127.0.0.1", now: start + .seconds(60)))
        let unlimited = AnonymousSearchRate(perMinute: 0)
        #expect((0..<1000).allSatisfy { _ in unlimited.allow("127.0.0.1", now: start) })
    }

    /// Rows: client address, the networks, require_bind, whether anonymous may search.
    @Test(arguments: [
        ("127.0.0.1", ["127.0.0.0/8", "::1/128"], false, true),
        ("::1", ["127.0.0.0/8", "::1/128"], false, true),
        ("192.0.2.7", ["127.0.0.0/8", "::1/128"], false, false),
        ("127.0.0.2", ["127.0.0.1/32"], false, false),
        ("192.0.2.7", ["192.0.2.0/24"], false, true),
        ("127.0.0.1", ["127.0.0.0/8"], true, false),
    ])
    func anonymousNetworks(address: String, networks: [String], requireBind: Bool, allowed: Bool) {
        var configuration = LDAPGatewayConfiguration(listeners: [])
        configuration.anonymousNetworks = networks.compactMap(NetworkRange.init)
        configuration.requireBind = requireBind
        #expect(configuration.anonymousMaySearch(from: ClientAddress(ip: address)) == allowed)
    }

    /// The root DSE and the schema subentry stay readable for anyone (clients read them
    /// before binding); anything else is a search of the directory.
    @Test(arguments: [
        ("", LDAPSearchScope.baseObject, true), ("cn=Subschema", .baseObject, true), ("CN = subschema", .baseObject, true),
        ("", .wholeSubtree, false), ("dc=example,dc=org", .baseObject, false), ("cn=subschema,dc=x", .baseObject, false),
    ])
    func serverInformation(base: String, scope: LDAPSearchScope, expected: Bool) {
        let request = LDAPSearchRequest(baseObject: base, scope: scope, filter: .present("objectClass"))
        #expect(LDAPConnection.isServerInformation(request) == expected)
    }

    /// Rows: bind name, whether the directory could be read, the account tried and the authzId
    /// Who am I? answers (RFC 4513 §5.2.1.8).
    static let bindTargets: [(String, Bool, String?, String?)] = [
        ("alice@example.org", true, "alice@example.org", "dn:" + Fixture.alice),
        ("ali@example.org", true, "alice@example.org", "dn:" + Fixture.alice),
        (Fixture.alice, true, "alice@example.org", "dn:" + Fixture.alice),
        // Not in the directory (hidden, or not yet listed): the address is still tried.
        ("hidden@example.org", true, "hidden@example.org", "u:hidden@example.org"),
        ("alice@example.org", false, "alice@example.org", "u:alice@example.org"),
        ("uid=eve,ou=people,dc=example,dc=org", true, nil, nil),
        (Fixture.alice, false, nil, nil),
        ("", true, nil, nil),
    ]

    @Test(arguments: bindTargets)
    func bindTarget(name: String, directoryReadable: Bool, account: String?, authorizationID: String?) {
        let target = LDAPConnection.bindTarget(name, in: directoryReadable ? Fixture.directory() : nil)
        #expect(target?.account == account)
        #expect(target?.authorizationID == authorizationID)
    }
}
