import DNSCodec
public import NIOCore

/// Where mail for a domain goes, as the relay worker needs it: each exchange with its
/// addresses already resolved, best first.
public enum MXResolution: Sendable, Equatable {
    /// Exchanges in the order to try (RFC 5321 §5.1), none without an address.
    case hosts([MXHost])
    /// The domain accepts no mail (RFC 7505 §3): bounce with 556 5.1.10 (§4.1).
    case nullMX
    /// No usable destination, permanently: NXDOMAIN for the domain, MX records none of whose
    /// exchanges has an address ("If MX records are present, but none of them are usable ...
    /// this situation MUST be reported as an error", RFC 5321 §5.1), or an implicit MX with no
    /// address ("or the implicit MX is unusable"), or a domain that is not a valid name. All
    /// are RFC 3463's X.1.2, "bad destination system address".
    case noSuchDomain
    /// Queue and retry later (RFC 5321 §5.1, §4.5.4.1); the text is for the log.
    case temporaryFailure(String)
}

/// One mail exchanger: its name in lower case (for TLS server name indication and the log: a
/// compressed answer may spell it in the case of the question, RFC 1035 §2.3.3), its MX
/// preference (0 for an implicit MX), and its addresses, IPv6 first, each family in the order
/// the nameserver gave (RFC 5321 §5.1: "the SMTP sender MUST try them in the order presented").
public struct MXHost: Sendable, Equatable {
    public var name: String
    public var preference: Int
    public var addresses: [String]

    public init(name: String, preference: Int, addresses: [String]) {
        self.name = name
        self.preference = preference
        self.addresses = addresses
    }
}

/// A stub resolver for the relay (RFC 1035 §7, RFC 5321 §5.1): MX and address lookups sent to
/// the configured recursive nameservers over UDP, over TCP when an answer is truncated,
/// following CNAME chains, with a TTL cache of answers and of denials (RFC 2308). One per relay
/// process, on its event loop group; the clock is injected so tests can expire the cache.
public actor DNSResolver {
    private let configuration: DNSResolverConfiguration
    private let servers: [SocketAddress]
    private let transport: DNSResolverTransport
    private let limits: DNSLimits
    private let now: @Sendable () -> ContinuousClock.Instant
    private var cache: DNSResolverCache

    public init(
        configuration: DNSResolverConfiguration, group: any EventLoopGroup,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.configuration = configuration
        servers = configuration.nameservers.compactMap { try? SocketAddress(ipAddress: $0.host, port: $0.port) }
        var limits = DNSLimits.default
        limits.maximumAliases = configuration.maximumCNAMEChain
        self.limits = limits
        transport = DNSResolverTransport(group: group, timeout: Self.timeAmount(configuration.timeout), limits: limits)
        self.now = now
        cache = DNSResolverCache(capacity: configuration.cacheEntries, maximumTTL: configuration.maximumCacheTTL)
    }

    private static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// The MX plan for `domain` (RFC 5321 §5.1, RFC 7505), its exchanges' addresses resolved.
    /// An exchange without addresses is left out; if every one is left out, the answer is a
    /// temporary failure when any lookup failed temporarily, else `.noSuchDomain`.
    public func resolveMX(_ domain: String) async -> MXResolution {
        guard let name = try? DNSName(domain), !name.isRoot else { return .noSuchDomain }
        var generator = SystemRandomNumberGenerator()
        let exchanges: [MXExchange]
        switch MXPlan(answer: await lookup(name, .mx), using: &generator) {
        case .exchanges(let list): exchanges = Array(list.prefix(max(configuration.maximumExchanges, 1)))
        case .implicitMX(let host): exchanges = [MXExchange(host: host, preference: 0)]
        case .nullMX: return .nullMX
        case .noSuchDomain: return .noSuchDomain
        case .temporaryFailure(let failure): return .temporaryFailure("MX \(name): \(failure)")
        case .alias(let target): return .temporaryFailure("MX \(name): CNAME to \(target) not followed")
        }
        let resolved = await withTaskGroup(of: (Int, Result<[String], DNSResolverError>).self) { group in
            for (index, exchange) in exchanges.enumerated() {
                group.addTask { (index, await self.addresses(of: exchange.host)) }
            }
            var results = [Result<[String], DNSResolverError>?](repeating: nil, count: exchanges.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
        var hosts: [MXHost] = []
        var temporary: String?
        for (exchange, result) in zip(exchanges, resolved) {
            switch result {
            case .success(let addresses):
                hosts.append(MXHost(name: exchange.host.lowercased.description, preference: Int(exchange.preference), addresses: addresses))
            case .failure(let error) where error.isTemporary:
                temporary = temporary ?? "\(exchange.host): \(error)"
            case .failure, nil:
                continue
            }
        }
        if !hosts.isEmpty { return .hosts(hosts) }
        if let temporary { return .temporaryFailure(temporary) }
        return .noSuchDomain
    }

    /// The host's IPv6 and IPv4 addresses (AAAA and A, asked at once), IPv6 first. An IP
    /// address given as the host is its own answer.
    public func addresses(of host: String) async -> Result<[String], DNSResolverError> {
        if let address = IPAddress(host) { return .success([address.description]) }
        guard let name = try? DNSName(host), !name.isRoot else { return .failure(DNSResolverError(.invalidName, host)) }
        return await addresses(of: name)
    }

    private func addresses(of name: DNSName) async -> Result<[String], DNSResolverError> {
        async let v6 = lookup(name, .aaaa)
        async let v4 = lookup(name, .a)
        let answers = [await v6, await v4]
        var addresses: [String] = []
        for case .records(let data, _, _) in answers {
            for record in data {
                switch record {
                case .aaaa(let address): addresses.append(address.description)
                case .a(let address): addresses.append(address.description)
                default: continue
                }
            }
        }
        if !addresses.isEmpty { return .success(addresses) }
        for case .failure(let failure) in answers {
            return .failure(DNSResolverError(.temporaryFailure, "\(name): \(failure)"))
        }
        for case .noSuchName in answers { return .failure(DNSResolverError(.noSuchDomain, name.description)) }
        return .failure(DNSResolverError(.noAddresses, name.description))
    }

    /// The answer for `name` and `type`, from the cache or the nameservers, its CNAME chain
    /// followed across queries when a response stops part way.
    func lookup(_ name: DNSName, _ type: DNSRecordType) async -> DNSAnswer {
        var followed: [DNSName] = []
        var current = name
        while true {
            let question = DNSQuestion(name: current, type: type)
            let response: DNSMessage
            if let cached = cache.response(to: question, now: now()) {
                response = cached
            } else {
                switch await query(question) {
                case .failure(let failure): return .failure(failure)
                case .success(let message):
                    response = message
                    cache.store(
                        message, for: question,
                        answer: DNSAnswer(question: question, response: message, maximumAliases: limits.maximumAliases), now: now())
                }
            }
            let answer = DNSAnswer(question: question, response: response, aliasesFollowed: followed, maximumAliases: limits.maximumAliases)
            guard case .alias(let target, let via, _) = answer else { return answer }
            followed += via
            current = target
        }
    }

    /// One question to the nameservers: each in turn, `attempts` rounds, until one gives an
    /// answer that says yes or no (NOERROR or NXDOMAIN). SERVFAIL, REFUSED and the like move on
    /// to the next server, as glibc does; the last failure is the result if none answers.
    private func query(_ question: DNSQuestion) async -> Result<DNSMessage, DNSLookupFailure> {
        guard !servers.isEmpty else { return .failure(DNSLookupFailure(.network, "no usable nameserver configured")) }
        var failure = DNSLookupFailure(.timeout, "\(question.name) \(question.type)")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<max(configuration.attempts, 1) {
            for server in servers {
                // RFC 5452 §9.2: an unpredictable id, from the system's CSPRNG.
                let id = UInt16.random(in: .min ... .max, using: &generator)
                let query: [UInt8]
                do {
                    query = try DNSMessage.query(id: id, name: question.name, type: question.type).encoded()
                } catch {
                    return .failure(DNSLookupFailure(.malformedResponse, "query for \(question.name): \(error)"))
                }
                let response: DNSMessage
                do {
                    switch try await transport.udp(query, id: id, question: question, server: server) {
                    case .response(let message): response = message
                    case .truncated:
                        do {
                            response = try await transport.tcp(query, id: id, question: question, server: server)
                        } catch {
                            failure = DNSLookupFailure(.truncated, "\(question.name) \(question.type): \(error)")
                            continue
                        }
                    }
                } catch {
                    failure = error
                    continue
                }
                switch response.header.responseCode {
                case .noError, .nameError: return .success(response)
                default:
                    if case .failure(let refusal) = DNSAnswer(question: question, response: response) { failure = refusal }
                }
            }
        }
        return .failure(failure)
    }
}
