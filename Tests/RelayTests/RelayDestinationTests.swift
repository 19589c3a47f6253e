import Logging
import NIOPosix
import RPCTransport
import SMTPCodec
import Testing

@testable import Relay

/// Destination selection without a network: which TLS policy a next hop gets, which hosts are
/// this server itself (RFC 5321 §5.1), and the reason a recipient waits when TLS fails.
@Suite struct RelayDestinationTests {
    static func configuration() -> RelayConfiguration {
        var c = RelayConfiguration()
        c.tls = .opportunistic
        c.tlsPolicy = ["partner.test": .required, "broken.test": .none]
        c.routes = [
            "routed.test": RelayRoute(host: "mx.routed.test", port: 2525, tls: .required),
            "plain-route.test": RelayRoute(host: "mx.plain.test", port: 25),
            "partner-route.test": RelayRoute(host: "mx.partner.test", port: 25),
        ]
        c.tlsPolicy["partner-route.test"] = .required
        return c
    }

    // MARK: - TLS policy per next hop

    static let policies: [(String, RelayNextHop, SMTPClientTLSPolicy?, SMTPClientTLSPolicy, String)] = [
        // A route's own tls wins.
        (
            "routed.test", RelayNextHop.route(RelayRoute(host: "h", port: 25, tls: .required)), nil, SMTPClientTLSPolicy.required,
            "route routed.test"
        ),
        ("x.test", .route(RelayRoute(host: "h", port: 25, tls: SMTPClientTLSPolicy.none)), nil, .none, "route x.test"),
        // A route without one: the domain's tls_policy, else relay.tls.
        ("partner-route.test", .route(RelayRoute(host: "h", port: 25)), nil, .required, "partner-route.test (relay.tls_policy)"),
        ("plain-route.test", .route(RelayRoute(host: "h", port: 25)), nil, .opportunistic, "plain-route.test (relay.tls)"),
        // By MX: the same.
        ("partner.test", .mx, nil, .required, "partner.test (relay.tls_policy)"),
        ("broken.test", .mx, nil, .none, "broken.test (relay.tls_policy)"),
        ("anyone.test", .mx, nil, .opportunistic, "anyone.test (relay.tls)"),
        // The smarthost: smarthost_tls, else relay.tls, never weaker than the domain's policy.
        ("anyone.test", .smarthost(RelayRoute(host: "s", port: 587)), SMTPClientTLSPolicy.required, .required, "the smarthost"),
        ("anyone.test", .smarthost(RelayRoute(host: "s", port: 587)), nil, .opportunistic, "the smarthost (relay.tls)"),
        ("partner.test", .smarthost(RelayRoute(host: "s", port: 587)), .opportunistic, .required, "partner.test (relay.tls_policy)"),
        ("broken.test", .smarthost(RelayRoute(host: "s", port: 587)), .required, .required, "the smarthost"),
    ]

    @Test(arguments: policies)
    func tlsPolicyFollowsTheNextHop(
        domain: String, via: RelayNextHop, smarthostTLS: SMTPClientTLSPolicy?, policy: SMTPClientTLSPolicy, source: String
    ) {
        var c = Self.configuration()
        c.smarthostTLS = smarthostTLS
        let chosen = c.tlsPolicy(for: domain, via: via)
        #expect(chosen.policy == policy)
        #expect(chosen.source == source)
    }

    // MARK: - Destinations

    static func worker(_ configuration: RelayConfiguration) -> RelayWorker {
        let group = MultiThreadedEventLoopGroup.singleton
        return RelayWorker(
            configuration: configuration, backend: RPCClient(path: "/nonexistent/relay.sock", software: "test", group: group),
            resolver: DNSResolver(configuration: DNSResolverConfiguration(nameservers: []), group: group),
            connector: RelayConnector { _, _, _ in throw CancellationError() }, logger: Logger(label: "test"))
    }

    @Test func aRouteCarriesItsTLSPolicyAndHostName() async {
        var c = RelayConfiguration()
        c.routes = ["example.net": RelayRoute(host: "192.0.2.25", port: 2525, tls: .required)]
        let destination = await Self.worker(c).destination(for: "example.net")
        #expect(
            destination
                == .hosts([
                    RelayWorker.Host(
                        hop: RelayHop(host: "192.0.2.25", port: 2525, tls: .required, tlsSource: "route example.net"),
                        addresses: ["192.0.2.25"])
                ]))
    }

    @Test func anAddressLiteralThatIsThisServerLoops() async {
        var c = RelayConfiguration()
        c.port = 2525
        c.local = LocalEndpointsTests.local
        guard case .fail(_, let enhanced, let text) = await Self.worker(c).destination(for: "[127.0.0.1]") else {
            Issue.record("not a failure")
            return
        }
        #expect(enhanced == "5.4.6")
        #expect(text.hasPrefix("mail for [127.0.0.1] loops back to myself"))
        c.port = 2600
        #expect(await Self.worker(c).destination(for: "[127.0.0.1]") != .fail(code: nil, enhanced: "5.4.6", text: text))
    }

    @Test func aRouteToThisServerWaitsForTheConfigurationToBeFixed() async {
        var c = RelayConfiguration()
        c.local = LocalEndpointsTests.local
        c.routes = ["example.net": RelayRoute(host: "127.0.0.1", port: 2525)]
        guard case .later(_, let enhanced, let text) = await Self.worker(c).destination(for: "example.net") else {
            Issue.record("not deferred")
            return
        }
        #expect(enhanced == "4.4.6")
        #expect(text == "mail for example.net loops back to myself: route example.net 127.0.0.1:2525 is this server's own SMTP listener")
    }

    // MARK: - Why a recipient waits

    static let problems: [(SMTPClientFailure, SMTPClientTLSPolicy, String)] = [
        (
            SMTPClientFailure(
                .tlsUnavailable, reply: SMTPReply(454, .init(4, 7, 0), "TLS required but STARTTLS not offered"), fromServer: false),
            SMTPClientTLSPolicy.required, "TLS required for route example.net but mx.example.net [192.0.2.1]:25: STARTTLS not offered"
        ),
        (
            SMTPClientFailure(
                .tlsFailed, reply: SMTPReply(454, .init(4, 7, 0), "TLS handshake failed: the certificate is not for the host name"),
                fromServer: false), .required,
            "TLS required for route example.net but mx.example.net [192.0.2.1]:25: TLS handshake failed: the certificate is not for the host name"
        ),
        (
            SMTPClientFailure(.serviceUnavailable, reply: SMTPReply(554, nil, "go away"), fromServer: true), .required,
            "mx.example.net [192.0.2.1]:25: 554 go away"
        ),
        (
            SMTPClientFailure(
                .authFailed, reply: SMTPReply(454, .init(4, 7, 0), "authentication refused: 535 5.7.8 no"), fromServer: false),
            .opportunistic, "mx.example.net [192.0.2.1]:25: 454 authentication refused: 535 5.7.8 no"
        ),
    ]

    @Test(arguments: problems)
    func theProblemSaysWhoRequiredTLS(failure: SMTPClientFailure, tls: SMTPClientTLSPolicy, text: String) {
        let hop = RelayHop(host: "mx.example.net", port: 25, tls: tls, tlsSource: "route example.net")
        #expect(SMTPRelayConnection.problem(failure, hop: hop, address: "192.0.2.1") == text)
    }
}
