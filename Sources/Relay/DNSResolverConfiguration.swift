import DNSCodec
import Foundation

/// How `DNSResolver` reaches its nameservers and how much it remembers. The defaults come from
/// `/etc/resolv.conf` as glibc reads it (`ResolvConf`); tests name a server on loopback instead.
public struct DNSResolverConfiguration: Sendable {
    /// Recursive nameservers by IP address, tried in order on each attempt.
    public var nameservers: [(host: String, port: Int)]
    /// How long one try waits for its answer (over TCP: to connect and answer).
    public var timeout: Duration
    /// Rounds over all the nameservers before a lookup is a temporary failure.
    public var attempts: Int
    /// The most answers the cache holds; when full, the one expiring soonest goes.
    public var cacheEntries: Int
    /// No answer is cached longer than this, whatever its TTL (RFC 2308 §5 suggests a cap
    /// of a day or so for negative answers; positive ones are capped alike).
    public var maximumCacheTTL: Duration
    /// MX exchanges whose addresses are resolved, the best first (RFC 5321 §5.1 allows "a
    /// configurable limit on the number of alternate addresses").
    public var maximumExchanges: Int
    /// CNAME records followed from a name, across all the queries for it (RFC 1034 §3.6.2);
    /// a longer chain, like a loop, is a temporary failure.
    public var maximumCNAMEChain: Int

    public init(
        nameservers: [(host: String, port: Int)] = Self.system().nameservers, timeout: Duration = .seconds(5), attempts: Int = 2,
        cacheEntries: Int = 10_000, maximumCacheTTL: Duration = .seconds(86_400), maximumExchanges: Int = 10,
        maximumCNAMEChain: Int = 8
    ) {
        self.nameservers = nameservers
        self.timeout = timeout
        self.attempts = attempts
        self.cacheEntries = cacheEntries
        self.maximumCacheTTL = maximumCacheTTL
        self.maximumExchanges = maximumExchanges
        self.maximumCNAMEChain = maximumCNAMEChain
    }

    /// Nameservers, timeout and attempts from a resolv.conf (port 53), the rest as default.
    public init(resolvConf text: String) {
        let conf = ResolvConf.parse(text)
        self.init(
            nameservers: conf.nameservers.map { (host: $0.description, port: 53) }, timeout: .seconds(conf.timeoutSeconds),
            attempts: conf.attempts)
    }

    /// The system's settings: `path` read as resolv.conf, or glibc's defaults (127.0.0.1) when
    /// it cannot be read.
    public static func system(path: String = "/etc/resolv.conf") -> DNSResolverConfiguration {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return DNSResolverConfiguration(resolvConf: text)
    }
}
