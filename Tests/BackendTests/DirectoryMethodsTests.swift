import Foundation
import LoftTestSupport
import RPCProtocol
import RPCTransport
import Testing

/// directory.list, directory.lookup and directory.version (Protocol/README §16).
@Suite struct DirectoryMethodsTests {
    /// alice (named) and bob visible; carol hidden; dave disabled; an alias to alice only, an
    /// alias to carol only, an alias to bob and outside; a group with a hidden member.
    static func harness() async throws -> BackendHarness {
        let h = try await BackendHarness(name: "loft-directory")
        try await h.addTestAccounts()
        var alice = AccountUpdateParams(address: "alice@example.test", displayName: "Alice Liddell")
        alice.givenName = "Alice"
        alice.surname = " Liddell "
        _ = try await h.admin.call(Methods.accountUpdate, alice)
        var carol = AccountAddParams(address: "carol@example.test", password: "carol-pw")
        carol.hiddenFromDirectory = true
        _ = try await h.admin.call(Methods.accountAdd, carol)
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "dave@example.test", password: "dave-pw", enabled: false))
        for (address, targets) in [
            ("postmaster@example.test", ["alice@example.test"]), ("hidden-alias@example.test", ["carol@example.test"]),
            ("both@example.test", ["bob@example.test", "friend@remote.test"]),
        ] {
            _ = try await h.admin.call(Methods.aliasAdd, AliasParams(address: address, targets: targets))
        }
        _ = try await h.admin.call(
            Methods.groupAdd,
            GroupAddParams(address: "team@example.test", name: "The Team", members: ["bob@example.test", "carol@example.test"]))
        return h
    }

    @Test func listingShowsPublicFieldsOnlyAndHidesWhatIsHidden() async throws {
        let h = try await Self.harness()
        let page = try await h.gateway.call(Methods.directoryList, DirectoryListParams())
        #expect(page.next == nil && page.domains == ["example.test"])
        #expect(
            page.entries.map(\.address) == [
                "alice@example.test", "bob@example.test", "both@example.test", "postmaster@example.test", "team@example.test",
            ])
        let alice = try #require(page.entries.first)
        #expect(alice.kind == .account && alice.displayName == "Alice Liddell" && alice.givenName == "Alice" && alice.surname == "Liddell")
        #expect(alice.aliases == ["postmaster@example.test"])
        #expect(page.entries.first { $0.address == "both@example.test" }?.members == ["bob@example.test", "friend@remote.test"])
        let team = page.entries.first { $0.address == "team@example.test" }
        #expect(team?.kind == .group && team?.displayName == "The Team" && team?.members == ["bob@example.test"])
        // Nothing secret: the JSON of the listing names no hash, secret, quota or generation.
        let json = String(decoding: try JSONEncoder().encode(page.entries), as: UTF8.self)
        for secret in ["bob-apop", "scrypt", "password", "quota", "usedBytes", "session"] { #expect(!json.contains(secret)) }
        await h.close()
    }

    @Test func pagesCoverEveryEntryOnceInOrder() async throws {
        let h = try await Self.harness()
        var seen: [String] = []
        var after: String?
        repeat {
            let page = try await h.gateway.call(Methods.directoryList, DirectoryListParams(after: after, limit: 2))
            #expect(page.entries.count <= 2)
            seen += page.entries.map(\.address)
            after = page.next
        } while after != nil
        #expect(seen == ["alice@example.test", "bob@example.test", "both@example.test", "postmaster@example.test", "team@example.test"])
        for bad in [0, DirectoryListParams.maximumLimit + 1] {
            await #expect(throws: RPCError.self) { try await h.gateway.call(Methods.directoryList, DirectoryListParams(limit: bad)) }
        }
        await h.close()
    }

    @Test func lookupAndVersion() async throws {
        let h = try await Self.harness()
        let before = try await h.gateway.call(Methods.directoryVersion, Empty()).version
        #expect(try await h.gateway.call(Methods.directoryVersion, Empty()).version == before)
        for (address, kind) in [
            ("Alice@Example.test", DirectoryEntryKind?.some(.account)), ("postmaster@example.test", .alias), ("team@example.test", .group),
            ("carol@example.test", nil), ("dave@example.test", nil), ("nobody@example.test", nil),
        ] {
            #expect(try await h.gateway.call(Methods.directoryLookup, AddressParams(address: address)).entry?.kind == kind, "\(address)")
        }
        var hide = AccountUpdateParams(address: "bob@example.test")
        hide.hiddenFromDirectory = true
        _ = try await h.admin.call(Methods.accountUpdate, hide)
        let after = try await h.gateway.call(Methods.directoryVersion, Empty()).version
        #expect(after != before)
        #expect(try await h.gateway.call(Methods.directoryLookup, AddressParams(address: "bob@example.test")).entry == nil)
        // The group's only visible member is now hidden too: the group is left out.
        #expect(try await h.gateway.call(Methods.directoryLookup, AddressParams(address: "team@example.test")).entry == nil)
        await h.close()
    }
}
