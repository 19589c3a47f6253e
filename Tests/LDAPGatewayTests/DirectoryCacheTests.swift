import GatewayKit
import LoftTestSupport
import NIOCore
import NIOPosix
import RPCProtocol
import Testing

@testable import LDAPGateway

/// The gateway's directory copy against a real back-end: searched without a call while the
/// watch says nothing changed, read again when `directory.changed` arrives, and not trusted
/// after the back-end connection dropped (Protocol/README §16).
@Suite struct DirectoryCacheTests {
    static func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
        for _ in 0..<500 {
            if condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("timed out waiting until \(what)")
    }

    @Test func followsChangesByNotificationAndDistrustsALostConnection() async throws {
        let harness = try await BackendHarness(name: "loft-directory-cache")
        try await harness.addTestAccounts()
        let clients = BackendClients(
            socketPath: harness.dir + "/gateway.sock", software: "ldap-test", connections: 1,
            group: MultiThreadedEventLoopGroup.singleton)
        let (client, events) = clients.assignWithEvents()
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let cache = DirectoryCache(
            client: client, events: events, configuration: LDAPDirectoryConfiguration(vendorVersion: "1", startTLSAvailable: false),
            loop: loop, logger: .init(label: "test"))

        // Nothing is known before the first check; after it the copy is current and stays so.
        #expect(cache.fresh() == nil)
        let first = try await cache.current(on: loop).get()
        #expect(first.account(forBindName: "bob@example.test") == "bob@example.test")
        #expect(cache.fresh()?.version == first.version)
        #expect(cache.fresh()?.version == first.version)

        // A change: the notification makes the cache read the directory again by itself,
        // without a search asking.
        var hide = AccountUpdateParams(address: "bob@example.test")
        hide.hiddenFromDirectory = true
        _ = try await harness.admin.call(Methods.accountUpdate, hide)
        try await Self.waitUntil("the change is read") { cache.fresh().map { $0.version != first.version } ?? false }
        let second = try #require(cache.fresh())
        #expect(second.account(forBindName: "bob@example.test") == nil)
        #expect(second.account(forBindName: "alice@example.test") == "alice@example.test")

        // The watch goes with the connection: after a restart nothing is trusted until a check
        // on the new connection, which sees the new back-end's version.
        try await harness.restart()
        try await Self.waitUntil("the lost connection is noticed") { cache.fresh() == nil }
        let third = try await cache.current(on: loop).get()
        #expect(third.version != second.version)
        #expect(third.account(forBindName: "bob@example.test") == nil)
        #expect(cache.fresh()?.version == third.version)

        // And the new connection's watch is live: the next change arrives by itself too.
        var show = AccountUpdateParams(address: "bob@example.test")
        show.hiddenFromDirectory = false
        _ = try await harness.admin.call(Methods.accountUpdate, show)
        try await Self.waitUntil("the second change is read") {
            cache.fresh()?.account(forBindName: "bob@example.test") == "bob@example.test"
        }

        await clients.close()
        await harness.close()
    }
}
