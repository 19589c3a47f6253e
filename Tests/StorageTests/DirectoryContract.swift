import Foundation
import MailCore
import Storage
import Testing

/// Domains, accounts, aliases, groups, settings and address look-up.
extension StorageContract {
    static let directoryChecks: [ContractCheck] = [
        ContractCheck("domains: add, list, in use, remove", domains),
        ContractCheck("a domain's addresses are its own, `_` in its name or not", domainsMatchExactly),
        ContractCheck("accounts: add, get, list, update, challenge-response", accounts),
        ContractCheck("an address is one account, alias or group", addressInUse),
        ContractCheck("removing an account removes its messages and releases its bodies", removingAnAccount),
        ContractCheck("aliases: add, merge, list, remove", aliases),
        ContractCheck("groups: add, change members, list, remove", groups),
        ContractCheck("settings", settings),
        ContractCheck("lookup: account, alias, group, none", lookup),
    ]

    static func domains(_ s: StorageUnderTest) throws {
        let store = s.store
        #expect(try store.domains().isEmpty)
        let added = try store.addDomain("b.test")
        #expect(added.name == "b.test" && added.accounts == 0)
        expectError(.domainExists) { try store.addDomain("b.test") }
        _ = try store.addDomain("a.test")
        #expect(try store.domains().map(\.name) == ["a.test", "b.test"])
        #expect(try store.isLocalDomain("a.test"))
        #expect(try !store.isLocalDomain("c.test"))
        #expect(try !store.isLocalDomain("test"))

        _ = try store.addAccount(StorageUnderTest.newAccount("x@a.test", domain: "a.test"))
        _ = try store.addAccount(StorageUnderTest.newAccount("y@a.test", domain: "a.test"))
        #expect(try store.domains().map(\.accounts) == [2, 0])
        expectError(.domainNotEmpty) { try store.removeDomain("a.test") }
        expectError(.noSuchDomain) { try store.removeDomain("c.test") }

        // Each of an account, an alias and a group keeps its domain; with none left it goes.
        let users: [(String, (any MailStorage) throws -> Void, (any MailStorage) throws -> Void)] = [
            (
                "account", { _ = try $0.addAccount(StorageUnderTest.newAccount("u@b.test", domain: "b.test")) },
                { try $0.removeAccount(address: "u@b.test") }
            ),
            (
                "alias", { _ = try $0.addAlias(address: "u@b.test", domain: "b.test", targets: ["x@a.test"]) },
                { try $0.removeAlias(address: "u@b.test", target: nil) }
            ),
            (
                "group", { _ = try $0.addGroup(address: "u@b.test", domain: "b.test", name: nil, members: ["x@a.test"]) },
                { try $0.removeGroup(address: "u@b.test") }
            ),
        ]
        for (what, add, remove) in users {
            try add(store)
            expectError(.domainNotEmpty, "a domain with an \(what)") { try store.removeDomain("b.test") }
            try remove(store)
        }
        try store.removeDomain("b.test")
        #expect(try !store.isLocalDomain("b.test"))
        expectError(.noSuchDomain) { try store.removeDomain("b.test") }
        // Another domain's addresses that merely end alike do not keep it.
        _ = try store.addDomain("b.test")
        _ = try store.addDomain("sub.b.test")
        _ = try store.addAlias(address: "v@sub.b.test", domain: "sub.b.test", targets: ["x@a.test"])
        try store.removeDomain("b.test")
        #expect(try store.domains().map(\.name) == ["a.test", "sub.b.test"])
        expectError(.noSuchDomain) { try store.addAccount(StorageUnderTest.newAccount("z@b.test", domain: "b.test")) }
    }

    /// DomainName allows `_` in a label (a wildcard to SQL's LIKE): `a_b.test` and `axb.test`
    /// are two domains, and neither's aliases or groups are the other's.
    static func domainsMatchExactly(_ s: StorageUnderTest) throws {
        let store = s.store
        for name in ["a_b.test", "axb.test"] { _ = try store.addDomain(name) }
        _ = try store.addAlias(address: "x@axb.test", domain: "axb.test", targets: ["t@remote.test"])
        _ = try store.addGroup(address: "g@axb.test", domain: "axb.test", name: nil, members: ["t@remote.test"])
        _ = try store.addAlias(address: "y@a_b.test", domain: "a_b.test", targets: ["t@remote.test"])
        #expect(try store.aliases(domain: "a_b.test").map(\.address) == ["y@a_b.test"])
        #expect(try store.aliases(domain: "axb.test").map(\.address) == ["x@axb.test"])
        #expect(try store.groups(domain: "a_b.test").isEmpty)
        #expect(try store.groups(domain: "axb.test").map(\.address) == ["g@axb.test"])
        try store.removeAlias(address: "y@a_b.test", target: nil)
        try store.removeDomain("a_b.test")
        #expect(try store.domains().map(\.name) == ["axb.test"])
        expectError(.domainNotEmpty) { try store.removeDomain("axb.test") }
    }

    static func accounts(_ s: StorageUnderTest) throws {
        let store = s.store
        let new = NewAccount(
            address: "alice@example.test", domain: "example.test", displayName: "Alice", passwordHash: "h1", scramSHA256: "scram1",
            quotaBytes: 5000, maxMessageBytes: 400, forwardTo: "a@else.test", forwardKeepCopy: false, apopSecret: [1, 2, 3],
            mayManageMailboxes: false, enabled: true)
        expectError(.noSuchDomain) { try store.addAccount(new) }
        _ = try store.addDomain("example.test")
        #expect(try !store.anyChallengeResponseAccount())
        let alice = try store.addAccount(new)
        #expect(alice.address == new.address)
        #expect(alice.displayName == "Alice")
        #expect(alice.passwordHash == "h1")
        #expect(alice.scramSHA256 == "scram1")
        #expect(alice.quotaBytes == 5000)
        #expect(alice.maxMessageBytes == 400)
        #expect(alice.forwardTo == "a@else.test")
        #expect(alice.forwardKeepCopy == false)
        #expect(alice.apopSecret == [1, 2, 3])
        #expect(alice.mayManageMailboxes == false)
        #expect(alice.enabled)
        #expect(alice.usedBytes == 0 && alice.messageCount == 0)
        #expect(try store.account(address: "alice@example.test") == alice)
        #expect(try store.account(id: alice.id) == alice)
        #expect(try store.account(address: "nobody@example.test") == nil)
        #expect(try store.account(id: alice.id + 1000) == nil)
        #expect(try s.names(alice.id) == ["INBOX"])
        #expect(try store.anyChallengeResponseAccount())
        expectError(.accountExists) { try store.addAccount(new) }

        let bob = try s.addAccount("bob")
        _ = try store.addDomain("other.test")
        _ = try store.addAccount(StorageUnderTest.newAccount("carol@other.test", domain: "other.test"))
        #expect(bob.id != alice.id)
        #expect(try store.accounts(domain: "example.test").map(\.address) == ["alice@example.test", "bob@example.test"])
        #expect(try store.accounts(domain: nil).map(\.address) == ["alice@example.test", "bob@example.test", "carol@other.test"])
        #expect(try store.accounts(domain: "none.test").isEmpty)

        // Each change alters its field only; a new password or disabling ends the sessions.
        typealias Step = (what: String, change: AccountChange, expect: (inout AccountRecord) -> Void, endsSessions: Bool)
        func change(_ edit: (inout AccountChange) -> Void) -> AccountChange {
            var c = AccountChange()
            edit(&c)
            return c
        }
        let steps: [Step] = [
            ("nothing", AccountChange(), { _ in }, false),
            ("clear the display name", change { $0.displayName = .some(nil) }, { $0.displayName = nil }, false),
            ("set the display name", change { $0.displayName = "A." }, { $0.displayName = "A." }, false),
            ("password", change { $0.passwordHash = "h2" }, { $0.passwordHash = "h2" }, true),
            ("clear SCRAM", change { $0.scramSHA256 = .some(nil) }, { $0.scramSHA256 = nil }, false),
            ("quota", change { $0.quotaBytes = 9000 }, { $0.quotaBytes = 9000 }, false),
            ("message limit", change { $0.maxMessageBytes = 0 }, { $0.maxMessageBytes = 0 }, false),
            ("clear forwarding", change { $0.forwardTo = .some(nil) }, { $0.forwardTo = nil }, false),
            ("keep copies", change { $0.forwardKeepCopy = true }, { $0.forwardKeepCopy = true }, false),
            ("APOP secret", change { $0.apopSecret = [9] }, { $0.apopSecret = [9] }, false),
            ("may manage", change { $0.mayManageMailboxes = true }, { $0.mayManageMailboxes = true }, false),
            ("disable", change { $0.enabled = false }, { $0.enabled = false }, true),
            ("enable", change { $0.enabled = true }, { $0.enabled = true }, false),
        ]
        for step in steps {
            var expected = try #require(try store.account(address: alice.address))
            step.expect(&expected)
            if step.endsSessions { expected.sessionGeneration += 1 }
            let updated = try store.updateAccount(address: alice.address, step.change)
            #expect(updated == expected, "\(step.what)")
            #expect(try store.account(id: alice.id) == expected, "\(step.what)")
        }
        #expect(try store.account(address: bob.address) == bob, "other accounts are untouched")
        expectError(.noSuchAccount) { try store.updateAccount(address: "nobody@example.test", AccountChange()) }
        expectError(.noSuchAccount) { try store.removeAccount(address: "nobody@example.test") }

        // Challenge-response is possible while an enabled account has a secret.
        #expect(try store.anyChallengeResponseAccount())
        _ = try store.updateAccount(address: alice.address, change { $0.enabled = false })
        #expect(try !store.anyChallengeResponseAccount())
        _ = try store.updateAccount(address: alice.address, change { $0.enabled = true })
        _ = try store.updateAccount(address: alice.address, change { $0.apopSecret = .some(nil) })
        #expect(try !store.anyChallengeResponseAccount())
    }

    /// What exists at an address, what is added there, and the error that refuses it.
    static func addressInUse(_ s: StorageUnderTest) throws {
        enum Kind: CaseIterable { case account, alias, group }
        let store = s.store
        _ = try store.addDomain(StorageUnderTest.domain)
        func add(_ kind: Kind, _ address: String) throws {
            switch kind {
            case .account: _ = try store.addAccount(StorageUnderTest.newAccount(address))
            case .alias: _ = try store.addAlias(address: address, domain: StorageUnderTest.domain, targets: ["t@remote.test"])
            case .group: _ = try store.addGroup(address: address, domain: StorageUnderTest.domain, name: nil, members: ["m@remote.test"])
            }
        }
        let table: [(existing: Kind, added: Kind, refused: StorageError.Kind?)] = [
            (.account, .account, .accountExists),
            (.account, .alias, .addressInUse),
            (.account, .group, .accountExists),
            (.alias, .account, .addressInUse),
            (.alias, .alias, nil),  // more targets for the same alias
            (.alias, .group, .addressInUse),
            (.group, .account, .addressInUse),
            (.group, .alias, .addressInUse),
            (.group, .group, .addressInUse),
        ]
        for (i, row) in table.enumerated() {
            let address = "a\(i)@\(StorageUnderTest.domain)"
            try add(row.existing, address)
            let before = try store.lookup(address)
            if let refused = row.refused {
                expectError(refused, "\(row.added) where an \(row.existing) is") { try add(row.added, address) }
                #expect(try store.lookup(address) == before, "a refused \(row.added) changed \(address)")
            } else {
                try add(row.added, address)
            }
        }
    }

    static func removingAnAccount(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        let bob = try s.addAccount("bob")
        _ = try store.createMailbox(accountID: alice.id, name: mailboxName("Archive/2024"), specialUse: nil)
        var bobs: [(uid: UInt32, bytes: [UInt8])] = []
        for (i, size) in s.bodySizes.enumerated() {
            let shared = Fixture.body(size, seed: 10 + i)
            let result = try s.deliver(
                shared, to: [Placement(accountID: alice.id, mailbox: "INBOX"), Placement(accountID: bob.id, mailbox: "INBOX")])
            bobs.append((try #require(result.placements[1].uid), shared))
            try s.put(Fixture.body(size, seed: 20 + i), into: alice.id)
            try s.put(Fixture.body(size, seed: 30 + i), into: alice.id, "Archive/2024")
        }
        #expect(try s.totals == (messages: 8, bodies: 6))

        try store.removeAccount(address: alice.address)
        #expect(try s.totals == (messages: 2, bodies: 2), "alice's own bodies are gone, the shared ones stay")
        for (uid, bytes) in bobs {
            #expect(try s.whole(bob.id, "INBOX", uid) == bytes)
        }
        #expect(try store.account(address: alice.address) == nil)
        #expect(try store.account(id: alice.id) == nil)
        #expect(try store.lookup(alice.address) == .none)
        #expect(try store.mailboxes(accountID: alice.id).isEmpty)
        #expect(try store.domains().map(\.accounts) == [1])
        expectError(.noSuchAccount) { try store.removeAccount(address: alice.address) }
        #expect(try store.verify(deep: true) == [])

        // The address can be an account again, and starts empty.
        let again = try s.addAccount("alice")
        #expect(try s.names(again.id) == ["INBOX"])
        #expect(try s.list(try s.mailbox(again.id, "INBOX").id).isEmpty)
        #expect(again.usedBytes == 0 && again.messageCount == 0)
        try store.removeAccount(address: bob.address)
        #expect(try s.totals == (messages: 0, bodies: 0))
    }

    static func aliases(_ s: StorageUnderTest) throws {
        let store = s.store
        expectError(.noSuchDomain) { try store.addAlias(address: "info@example.test", domain: "example.test", targets: ["a@x.test"]) }
        _ = try store.addDomain("example.test")
        _ = try store.addDomain("other.test")
        #expect(
            try store.addAlias(address: "info@example.test", domain: "example.test", targets: ["b@x.test", "a@x.test"]) == [
                "a@x.test", "b@x.test",
            ])
        #expect(
            try store.addAlias(address: "info@example.test", domain: "example.test", targets: ["c@x.test", "a@x.test"]) == [
                "a@x.test", "b@x.test", "c@x.test",
            ], "targets merge, each once")
        _ = try store.addAlias(address: "abuse@example.test", domain: "example.test", targets: ["info@example.test"])
        _ = try store.addAlias(address: "info@other.test", domain: "other.test", targets: ["z@x.test"])
        func listed(_ domain: String?) throws -> [String] {
            try store.aliases(domain: domain).map { "\($0.address)=\($0.targets.joined(separator: ","))" }
        }
        #expect(try listed("example.test") == ["abuse@example.test=info@example.test", "info@example.test=a@x.test,b@x.test,c@x.test"])
        #expect(
            try listed(nil) == [
                "abuse@example.test=info@example.test", "info@example.test=a@x.test,b@x.test,c@x.test", "info@other.test=z@x.test",
            ])
        #expect(try store.lookup("info@example.test") == .alias(targets: ["a@x.test", "b@x.test", "c@x.test"]))

        try store.removeAlias(address: "info@example.test", target: "b@x.test")
        #expect(try store.lookup("info@example.test") == .alias(targets: ["a@x.test", "c@x.test"]))
        expectError(.noSuchAlias) { try store.removeAlias(address: "info@example.test", target: "b@x.test") }
        expectError(.noSuchAlias) { try store.removeAlias(address: "nobody@example.test", target: nil) }
        try store.removeAlias(address: "info@example.test", target: nil)
        #expect(try store.lookup("info@example.test") == .none)
        #expect(try store.lookup("info@other.test") == .alias(targets: ["z@x.test"]), "the same local part elsewhere stays")
        expectError(.noSuchAlias) { try store.removeAlias(address: "info@example.test", target: nil) }
    }

    static func groups(_ s: StorageUnderTest) throws {
        let store = s.store
        expectError(.noSuchDomain) { try store.addGroup(address: "team@example.test", domain: "example.test", name: "Team", members: []) }
        _ = try store.addDomain("example.test")
        _ = try store.addDomain("other.test")
        let team = try store.addGroup(
            address: "team@example.test", domain: "example.test", name: "Team", members: ["b@x.test", "a@x.test", "b@x.test"])
        #expect(team.address == "team@example.test" && team.name == "Team" && team.members == ["a@x.test", "b@x.test"])
        _ = try store.addGroup(address: "all@other.test", domain: "other.test", name: nil, members: [])
        #expect(try store.group(address: "team@example.test") == team)
        #expect(try store.group(address: "nobody@example.test") == nil)
        #expect(try store.groups(domain: "example.test").map(\.address) == ["team@example.test"])
        #expect(try store.groups(domain: nil).map(\.address) == ["all@other.test", "team@example.test"])
        #expect(try store.group(address: "all@other.test")?.name == nil)

        let changed = try store.changeGroupMembers(
            address: "team@example.test", add: ["c@x.test", "a@x.test"], remove: ["b@x.test", "zz@x.test"])
        #expect(changed.members == ["a@x.test", "c@x.test"])
        #expect(try store.lookup("team@example.test") == .group(members: ["a@x.test", "c@x.test"]))
        expectError(.noSuchGroup) { try store.changeGroupMembers(address: "nobody@example.test", add: ["a@x.test"], remove: []) }
        try store.removeGroup(address: "team@example.test")
        #expect(try store.group(address: "team@example.test") == nil)
        #expect(try store.lookup("team@example.test") == .none)
        expectError(.noSuchGroup) { try store.removeGroup(address: "team@example.test") }
        // The address is free again, for any kind.
        _ = try store.addAccount(StorageUnderTest.newAccount("team@example.test"))
    }

    static func settings(_ s: StorageUnderTest) throws {
        let store = s.store
        #expect(try store.setting("greeting") == nil)
        try store.setSetting("greeting", "hello")
        try store.setSetting("other", "x")
        #expect(try store.setting("greeting") == "hello")
        try store.setSetting("greeting", "")
        #expect(try store.setting("greeting") == "", "an empty value is a value")
        #expect(try store.setting("other") == "x")
        try s.reopen()
        #expect(try s.store.setting("greeting") == "")
        #expect(try s.store.setting("other") == "x")
    }

    static func lookup(_ s: StorageUnderTest) throws {
        let store = s.store
        let alice = try s.addAccount("alice")
        _ = try store.addAlias(address: "info@example.test", domain: "example.test", targets: ["alice@example.test"])
        _ = try store.addGroup(
            address: "team@example.test", domain: "example.test", name: nil, members: ["alice@example.test", "b@x.test"])
        let table: [(String, LocalAddress)] = [
            ("alice@example.test", .account(alice)),
            ("info@example.test", .alias(targets: ["alice@example.test"])),
            ("team@example.test", .group(members: ["alice@example.test", "b@x.test"])),
            ("nobody@example.test", .none),
            ("alice@other.test", .none),
            ("alice", .none),
        ]
        for (address, expected) in table {
            #expect(try store.lookup(address) == expected, "\(address)")
        }
    }
}
