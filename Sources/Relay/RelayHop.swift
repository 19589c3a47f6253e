public import SMTPCodec

/// One host the worker connects to for a destination domain, and how: what destination
/// selection decided (a route, the smarthost or an MX host) with the TLS policy that applies.
public struct RelayHop: Sendable, Hashable {
    /// The host's name as configured or published: SNI, certificate verification (never the
    /// address), Remote-MTA.
    public var host: String
    public var port: Int
    public var tls: SMTPClientTLSPolicy
    /// Where `tls` came from, for the reason a recipient waits when TLS fails: "route
    /// example.net", "the smarthost", "example.net (relay.tls_policy)", "example.net (relay.tls)".
    public var tlsSource: String

    public init(host: String, port: Int, tls: SMTPClientTLSPolicy = .opportunistic, tlsSource: String = "relay.tls") {
        self.host = host
        self.port = port
        self.tls = tls
        self.tlsSource = tlsSource
    }
}

/// How mail for a domain leaves: which of the configuration's kinds of next hop it takes.
enum RelayNextHop: Equatable {
    case route(RelayRoute)
    case smarthost(RelayRoute)
    /// The domain's MX hosts (or the domain itself, or an address literal).
    case mx
}

extension SMTPClientTLSPolicy {
    /// `none` < `opportunistic` < `required`.
    var strictness: Int {
        switch self {
        case .none: 0
        case .opportunistic: 1
        case .required: 2
        }
    }
}

extension RelayConfiguration {
    /// The TLS policy for mail to `domain` over `nextHop`, and what set it. The policy follows
    /// the next hop, as Postfix's `smtp_tls_policy_maps` does: a route's own `tls`, else the
    /// domain's entry in `tlsPolicy`, else `tls`. Through the smarthost, `smarthostTLS` (else
    /// `tls`) — but never weaker than the domain's entry in `tlsPolicy`: a domain whose mail
    /// must be encrypted is not sent in plain text to the smarthost either.
    func tlsPolicy(for domain: String, via nextHop: RelayNextHop) -> (policy: SMTPClientTLSPolicy, source: String) {
        let listed = tlsPolicy[domain].map { (policy: $0, source: "\(domain) (relay.tls_policy)") }
        let everywhere = (policy: tls, source: "\(domain) (relay.tls)")
        switch nextHop {
        case .route(let route):
            if let own = route.tls { return (own, "route \(domain)") }
            return listed ?? everywhere
        case .smarthost:
            let base = smarthostTLS.map { (policy: $0, source: "the smarthost") } ?? (policy: tls, source: "the smarthost (relay.tls)")
            if let listed, listed.policy.strictness > base.policy.strictness { return listed }
            return base
        case .mx:
            return listed ?? everywhere
        }
    }
}
