import LDAPCodec
import LDAPGateway
import RPCProtocol

/// A small directory across two domains: three accounts in example.org, one in other.net, two
/// aliases and two groups.
enum Fixture {
    static let base = "dc=example,dc=org"
    static let entries: [DirectoryEntry] = [
        DirectoryEntry(
            kind: .account, address: "alice@example.org", displayName: "Alice Liddell", givenName: "Alice", surname: "Liddell",
            aliases: ["ali@example.org"]),
        DirectoryEntry(kind: .account, address: "bob@example.org", givenName: "Bob", surname: "Builder", forwardTo: "bob@elsewhere.test"),
        DirectoryEntry(kind: .account, address: "carol@example.org"),
        DirectoryEntry(kind: .account, address: "dave@other.net", displayName: "Dave  Jones"),
        DirectoryEntry(kind: .alias, address: "ali@example.org", members: ["alice@example.org"]),
        DirectoryEntry(kind: .alias, address: "team@other.net", members: ["bob@example.org", "dave@other.net"]),
        DirectoryEntry(
            kind: .group, address: "staff@example.org", displayName: "All Staff", members: ["alice@example.org", "outside@x.test"]),
        DirectoryEntry(kind: .group, address: "ops@other.net", members: ["dave@other.net"]),
    ]

    static let alice = "uid=alice,ou=people,dc=example,dc=org"
    static let bob = "uid=bob,ou=people,dc=example,dc=org"
    static let carol = "uid=carol,ou=people,dc=example,dc=org"
    static let dave = "uid=dave@other.net,ou=people,dc=example,dc=org"
    static let staff = "cn=staff,ou=groups,dc=example,dc=org"
    static let ops = "cn=ops@other.net,ou=groups,dc=example,dc=org"
    static let aliAlias = "cn=ali,ou=aliases,dc=example,dc=org"
    static let team = "cn=team@other.net,ou=aliases,dc=example,dc=org"
    static let people = "ou=people,dc=example,dc=org"
    static let groups = "ou=groups,dc=example,dc=org"
    static let aliases = "ou=aliases,dc=example,dc=org"

    static func directory(policy: LDAPAccessPolicy = LDAPAccessPolicy(), startTLS: Bool = true, baseDN: String? = nil) -> LDAPDirectory {
        LDAPDirectory(
            entries: entries, domains: ["example.org", "other.net"], version: "v1",
            configuration: LDAPDirectoryConfiguration(baseDN: baseDN, vendorVersion: "1.0", startTLSAvailable: startTLS, policy: policy))
    }

    static let bound = LDAPAccess.bound(account: "alice@example.org")

    static func search(
        _ filter: String, base: String = base, scope: LDAPSearchScope = .wholeSubtree, attributes: [String] = [], sizeLimit: Int32 = 0,
        typesOnly: Bool = false
    ) throws -> LDAPSearchRequest {
        LDAPSearchRequest(
            baseObject: base, scope: scope, sizeLimit: sizeLimit, typesOnly: typesOnly, filter: try LDAPFilter(parsing: filter),
            attributes: attributes)
    }
}

extension LDAPSearchOutcome {
    var names: [String] { entries.map(\.objectName) }
}

extension LDAPSearchResultEntry {
    func values(_ type: String) -> [String]? {
        attributes.first { $0.type == type }.map { $0.values.map { String(decoding: $0, as: UTF8.self) } }
    }
    var types: [String] { attributes.map(\.type) }
}
