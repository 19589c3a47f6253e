import Testing

@testable import Relay

/// Which sockets and names are this server (RFC 5321 §5.1), and what is left of an MX list
/// without it.
@Suite struct LocalEndpointsTests {
    static let local = LocalEndpoints(
        listeners: [.init(address: "127.0.0.1", port: 2525), .init(address: "0.0.0.0", port: 25), .init(address: "::", port: 587)],
        names: ["MX.Example.TEST."], interfaceAddresses: ["192.0.2.7", "2001:db8::7"])

    static let sockets: [(String, Int, Bool)] = [
        ("127.0.0.1", 2525, true),
        ("127.0.0.2", 2525, false),  // another loopback address: a peer, not this listener
        ("127.0.0.1", 2526, false),
        ("127.0.0.9", 25, true),  // 0.0.0.0:25 takes all of 127/8
        ("192.0.2.7", 25, true),
        ("192.0.2.8", 25, false),
        ("::1", 25, false),  // 0.0.0.0 is IPv4 only
        ("::1", 587, true),
        ("2001:db8::7", 587, true),
        ("192.0.2.7", 587, true),  // :: is dual-stack
        ("::ffff:127.0.0.1", 2525, true),
        ("[127.0.0.1]", 2525, true),
        ("mx.example.test", 2525, false),  // not an address
    ]

    @Test(arguments: sockets)
    func listenersAreAddressAndPort(address: String, port: Int, local: Bool) {
        #expect(Self.local.isLocal(address: address, port: port) == local)
    }

    @Test(arguments: [("mx.example.test", true), ("MX.EXAMPLE.TEST.", true), ("mx2.example.test", false), ("", false)])
    func namesIgnoreCaseAndTheFinalDot(name: String, local: Bool) {
        #expect(Self.local.isLocal(name: name) == local)
    }

    static func mx(_ name: String, _ preference: Int, _ addresses: String...) -> MXHost {
        MXHost(name: name, preference: preference, addresses: addresses)
    }

    static let exclusions: [([MXHost], SelfExclusion)] = [
        // Not among them: unchanged.
        (
            [mx("a.test", 10, "127.0.0.2"), mx("b.test", 20, "127.0.0.3")],
            SelfExclusion.hosts([mx("a.test", 10, "127.0.0.2"), mx("b.test", 20, "127.0.0.3")])
        ),
        // A backup MX: the better ones stay, this one and the worse ones go.
        (
            [mx("a.test", 10, "127.0.0.2"), mx("self.test", 20, "127.0.0.1"), mx("c.test", 30, "127.0.0.4")],
            .hosts([mx("a.test", 10, "127.0.0.2")])
        ),
        // The best MX: nothing is left.
        ([mx("self.test", 10, "127.0.0.1"), mx("b.test", 20, "127.0.0.3")], .loop(host: "self.test")),
        // As good as the best: those of equal preference go too.
        ([mx("b.test", 10, "127.0.0.3"), mx("self.test", 10, "127.0.0.1")], .loop(host: "self.test")),
        // By name, whatever its addresses.
        ([mx("mx.example.test", 5, "198.51.100.1"), mx("b.test", 10, "127.0.0.3")], .loop(host: "mx.example.test")),
        // One of several addresses is enough.
        ([mx("a.test", 10, "127.0.0.2"), mx("multi.test", 20, "198.51.100.2", "127.0.0.1")], .hosts([mx("a.test", 10, "127.0.0.2")])),
        // The implicit MX (the domain's own address, preference 0).
        ([mx("plain.test", 0, "127.0.0.1")], .loop(host: "plain.test")),
    ]

    @Test(arguments: exclusions)
    func thisServerAndWorseMXHostsAreDiscarded(hosts: [MXHost], expected: SelfExclusion) {
        #expect(Self.local.excludingSelf(hosts, port: 2525) == expected)
    }

    @Test func anotherPortIsAnotherServer() {
        #expect(Self.local.excludingSelf([Self.mx("a.test", 10, "127.0.0.1")], port: 2600) == .hosts([Self.mx("a.test", 10, "127.0.0.1")]))
    }
}
