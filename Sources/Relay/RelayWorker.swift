import Foundation
public import Logging
import MailCore
import NIOConcurrencyHelpers
import NIOCore
import RPCProtocol
public import RPCTransport
public import SMTPCodec

/// Where mail for a domain goes when not by its MX records: `host:port` (a host name or an IP
/// literal; IPv6 in brackets), with its own TLS policy if it has one.
public struct RelayRoute: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// This route's TLS policy; nil: the domain's in `RelayConfiguration.tlsPolicy`, else
    /// `RelayConfiguration.tls`. Under `.required` the certificate is verified against `host`.
    public var tls: SMTPClientTLSPolicy?
    public init(host: String, port: Int, tls: SMTPClientTLSPolicy? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
    }

    /// `host`, `host:port`, `[v6]:port`; nil when malformed.
    public static func parse(_ text: String, defaultPort: Int) -> RelayRoute? {
        var host = Substring(text.trimmingCharacters(in: .whitespaces))
        var port = defaultPort
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return nil }
            let rest = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { return nil }
                port = p
            }
        } else if let colon = host.lastIndex(of: ":"), host.firstIndex(of: ":") == colon {
            guard let p = Int(host[host.index(after: colon)...]) else { return nil }
            port = p
            host = host[..<colon]
        }
        guard !host.isEmpty, (1...65535).contains(port) else { return nil }
        return RelayRoute(host: String(host), port: port)
    }
}

/// `loft relay`'s settings (the `relay` section of the configuration).
public struct RelayConfiguration: Sendable {
    /// Deliveries in progress at once, each to one destination domain over one connection.
    public var workers = 4
    /// The name in EHLO; the host's name by default.
    public var heloName = "localhost"
    /// The port of MX hosts (25; tests point it at their own servers).
    public var port = 25
    /// Per destination domain (lower case), a fixed next hop instead of its MX records.
    public var routes: [String: RelayRoute] = [:]
    /// Everything not in `routes` goes here when set (a provider's relay).
    public var smarthost: RelayRoute?
    /// AUTH PLAIN at the smarthost (after STARTTLS, which it then requires).
    public var smarthostCredentials: SMTPClientCredentials?
    /// Every destination's TLS policy unless a route, `tlsPolicy` or `smarthostTLS` says
    /// otherwise.
    public var tls: SMTPClientTLSPolicy = .opportunistic
    /// Per destination domain (lower case), its TLS policy instead of `tls`, whether its mail
    /// goes by MX or by a route without a `tls` of its own (Postfix's `smtp_tls_policy_maps`).
    public var tlsPolicy: [String: SMTPClientTLSPolicy] = [:]
    /// The smarthost's TLS policy; nil: `tls`.
    public var smarthostTLS: SMTPClientTLSPolicy?
    /// This server's own SMTP listeners and names: a next hop among them would send the mail
    /// back here (RFC 5321 §5.1).
    public var local = LocalEndpoints()
    /// PEM file of the certificates trusted when TLS is required (the system's when nil).
    public var caFile: String?
    public var leaseMs: Int64 = 300_000
    /// Recipients asked for in one lease.
    public var recipientsPerLease = 100
    /// How long the back-end may hold a `queue.lease` while nothing is due: new mail wakes it,
    /// so a message is on its way as soon as it is queued, without polling.
    public var leaseWaitMs: Int64 = 10_000
    /// After a lease came back empty, the pause before asking again.
    public var idlePollMs: Int64 = 50
    public var connectTimeoutSeconds: Int64 = 30
    /// Bytes asked for in one `queue.read`.
    public var readChunkBytes = 256 * 1024
    /// Leases of one destination domain running at once, from every worker of every relay
    /// (the back-end counts them): connections to one domain's hosts at most.
    public var destinationConcurrency = 20
    /// Message bodies that come with a lease, in bytes in all: small messages need no
    /// `queue.read`.
    public var inlineBytes = 512 * 1024

    public init() {}
}

/// The outbound worker (DESIGN §1, Protocol/README §15): `workers` loops, each leasing the due
/// recipients of one destination domain from the back-end, finding the hosts to try, sending
/// every leased message over one SMTP connection per host, and reporting each recipient's
/// outcome. Stateless: a worker that dies leaves its leases to run out, and the back-end hands
/// the recipients to another.
public final class RelayWorker: Sendable {
    let configuration: RelayConfiguration
    let backend: RPCClient
    let resolver: DNSResolver
    let connector: RelayConnector
    let logger: Logger
    let stopping = NIOLockedValueBox(false)
    /// The `queue.lease` calls waiting for work, cancelled by `stop` (a worker in the middle of
    /// a delivery finishes it and reports).
    let waiting = NIOLockedValueBox<[Int: Task<QueueLeaseResult, any Error>]>([:])

    public init(configuration: RelayConfiguration, backend: RPCClient, resolver: DNSResolver, connector: RelayConnector, logger: Logger) {
        self.configuration = configuration
        self.backend = backend
        self.resolver = resolver
        self.connector = connector
        self.logger = logger
    }

    /// Runs the loops until `stop`.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for n in 0..<max(1, configuration.workers) {
                group.addTask { await self.loop(n) }
            }
        }
    }

    /// Stops leasing: the back-end answers this relay's waiting `queue.lease` calls empty
    /// (`queue.unpark`), so nothing is leased to a call no one awaits; calls still waiting after
    /// that (the back-end did not answer) are cancelled. Deliveries in progress finish.
    public func stop() {
        stopping.withLockedValue { $0 = true }
        let backend = self.backend
        let waiting = self.waiting
        Task {
            _ = try? await backend.call(Methods.queueUnpark, Empty(), timeout: .seconds(2))
            for task in waiting.withLockedValue({ Array($0.values) }) { task.cancel() }
        }
    }
    var stopped: Bool { stopping.withLockedValue { $0 } }

    func loop(_ n: Int) async {
        var failures = 0
        while !stopped {
            do {
                let waited = try await once(n)
                failures = 0
                if let waited { try? await Task.sleep(for: .milliseconds(waited)) }
            } catch {
                // Told to stop: the waiting lease was cancelled, which is no problem to report.
                if stopped { break }
                // The back-end is away (restarting): back off, up to 5 s.
                failures += 1
                if failures == 1 || failures % 20 == 0 { logger.warning("relay worker \(n): \(error)") }
                try? await Task.sleep(for: .milliseconds(min(5000, 100 << min(failures, 6))))
            }
        }
    }

    /// One lease and its deliveries; how long to wait before the next, or nil to go on at once.
    func once(_ n: Int) async throws -> Int64? {
        let params = QueueLeaseParams(
            max: configuration.recipientsPerLease, leaseMs: configuration.leaseMs, waitMs: configuration.leaseWaitMs,
            perDomain: configuration.destinationConcurrency, inlineBytes: configuration.inlineBytes)
        let timeout = TimeAmount.milliseconds(configuration.leaseWaitMs + 30_000)
        let backend = self.backend
        let call = Task { try await backend.call(Methods.queueLease, params, timeout: timeout) }
        waiting.withLockedValue { $0[n] = call }
        defer { _ = waiting.withLockedValue { $0.removeValue(forKey: n) } }
        if stopped { call.cancel() }
        // A lease that comes back after `stop` is delivered like any other: left to run out, its
        // recipients would wait the whole lease and lose an attempt.
        let lease = try await call.value
        guard let id = lease.lease, let domain = lease.domain else {
            // The back-end waited for work already; a pause keeps a worker whose domains are all
            // at their concurrency from asking in a loop.
            return configuration.idlePollMs
        }
        let renewal = Task {
            // Renew at a third of the lease, so a slow transaction never outlives it.
            while !Task.isCancelled {
                try await Task.sleep(for: .milliseconds(max(1000, configuration.leaseMs / 3)))
                _ = try? await backend.call(Methods.queueRenew, QueueRenewParams(lease: id, leaseMs: configuration.leaseMs))
            }
        }
        defer { renewal.cancel() }
        await deliver(lease: id, domain: domain, messages: lease.messages)
        return nil
    }

    // MARK: Delivering one lease

    /// Tries the domain's hosts in order; each message's recipients that a host could not take
    /// for reasons of the connection (refused, dropped, timed out, no greeting) go on to the
    /// next host; what a host answered is final for this attempt.
    func deliver(lease: String, domain: String, messages: [LeasedMessage]) async {
        var pending = messages
        var finalOutcomes: [Int64: [QueueOutcome]] = [:]
        // Each message's report goes while the next message is sent; all are in before the
        // lease is let go.
        var reports: [Task<Void, Never>] = []
        let destination = await destination(for: domain)
        switch destination {
        case .fail(let code, let enhanced, let text), .later(let code, let enhanced, let text):
            let result = if case .fail = destination { "failed" } else { "deferred" }
            for message in messages {
                finalOutcomes[message.id] = message.recipients.map {
                    QueueOutcome(recipient: $0.recipient, result: result, code: code, enhancedCode: enhanced, text: text)
                }
            }
            pending = []
        case .hosts(let hosts):
            var lastProblem = "no host to try"
            var lastProblemCode = "4.4.1"
            hostLoop: for host in hosts {
                for address in host.addresses {
                    guard !pending.isEmpty else { break hostLoop }
                    let connection: any RelayConnection
                    do {
                        connection = try await connector.connect(host.hop, address)
                    } catch {
                        lastProblem = "cannot connect to \(host.name) [\(address)]:\(host.port): \(error)"
                        lastProblemCode = "4.4.1"
                        logger.info("\(lastProblem)")
                        continue
                    }
                    var retry: [LeasedMessage] = []
                    for message in pending {
                        guard await connection.isUsable else {
                            if let problem = await connection.problem { lastProblem = problem }
                            lastProblemCode = await connection.problemEnhancedCode ?? "4.4.1"
                            retry.append(message)
                            continue
                        }
                        let results = await connection.deliver(message, body: bodyReader(lease: lease, message: message))
                        var again: [LeasedRecipient] = []
                        for (recipient, result) in zip(message.recipients, results) {
                            if result.connectionLevel {
                                again.append(recipient)
                                lastProblem = result.text ?? "connection lost"
                                lastProblemCode = "4.4.1"
                            } else {
                                finalOutcomes[message.id, default: []].append(result.outcome(recipient.recipient))
                            }
                        }
                        if !again.isEmpty {
                            var rest = message
                            rest.recipients = again
                            retry.append(rest)
                        }
                        // Reported now, while the next message is sent: only a crash in that
                        // window can make it go twice.
                        if let outcomes = finalOutcomes.removeValue(forKey: message.id) {
                            reports.append(Task { await self.report(lease: lease, message: message.id, outcomes: outcomes) })
                        }
                    }
                    await connection.quit()
                    pending = retry
                }
            }
            for message in pending {
                finalOutcomes[message.id, default: []] += message.recipients.map {
                    QueueOutcome(recipient: $0.recipient, result: "deferred", enhancedCode: lastProblemCode, text: lastProblem)
                }
            }
        }
        for (message, outcomes) in finalOutcomes.sorted(by: { $0.key < $1.key }) {
            reports.append(Task { await self.report(lease: lease, message: message, outcomes: outcomes) })
        }
        for report in reports { await report.value }
    }

    /// Reports, retrying while the back-end is away (until the lease would have ended): an
    /// outcome not reported means the recipient is sent again after the lease.
    func report(lease: String, message: Int64, outcomes: [QueueOutcome]) async {
        let deadline = Date().addingTimeInterval(Double(configuration.leaseMs) / 1000)
        var attempt = 0
        while true {
            do {
                let answer = try await backend.call(
                    Methods.queueReport, QueueReportParams(lease: lease, message: message, outcomes: outcomes))
                for ignored in answer.ignored {
                    logger.info("queue \(message): report for <\(ignored.recipient)> ignored: \(ignored.reason)")
                }
                for outcome in outcomes {
                    logger.info(
                        "queue \(message): <\(outcome.recipient)> \(outcome.result) \([outcome.code.map(String.init), outcome.enhancedCode, outcome.text].compactMap { $0 }.joined(separator: " "))"
                    )
                }
                return
            } catch {
                attempt += 1
                guard Date() < deadline, !stopped else {
                    logger.error("queue \(message): outcomes not reported (\(error)); they will be tried again after the lease")
                    return
                }
                try? await Task.sleep(for: .milliseconds(min(5000, 100 << min(attempt, 6))))
            }
        }
    }

    /// The message's bytes from an offset: what came with the lease, else `queue.read` chunks.
    func bodyReader(lease: String, message: LeasedMessage) -> @Sendable (Int64) async throws -> [UInt8]? {
        if let data = message.data?.bytes {
            return { offset in offset == 0 && !data.isEmpty ? data : nil }
        }
        let chunk = configuration.readChunkBytes
        let backend = self.backend
        let id = message.id
        return { offset in
            let part = try await backend.call(Methods.queueRead, QueueReadParams(lease: lease, message: id, offset: offset, length: chunk))
            return part.data.bytes.isEmpty ? nil : part.data.bytes
        }
    }

    // MARK: Where to

    enum Destination: Equatable {
        case hosts([Host])
        /// Every recipient fails (null MX, no such domain) or waits (DNS trouble).
        case fail(code: Int?, enhanced: String, text: String)
        case later(code: Int?, enhanced: String, text: String)
    }

    struct Host: Equatable {
        /// The name, port and TLS policy the connection is made with.
        var hop: RelayHop
        var addresses: [String]
        var name: String { hop.host }
        var port: Int { hop.port }
    }

    /// RFC 5321 §5.1: a route or smarthost from the configuration, else the MX hosts in
    /// preference order (or the domain itself when it has none); RFC 7505 null MX fails. Each
    /// host carries the TLS policy for the domain over that next hop (`tlsPolicy(for:via:)`).
    /// This server itself is never a next hop: MX hosts from it on are dropped, and when none
    /// is left the mail fails as a loop (5.4.6, as Postfix's "mail for X loops back to
    /// myself"); a route or smarthost that is this server is a configuration mistake, so its
    /// mail waits (4.4.6) for the fix.
    func destination(for domain: String) async -> Destination {
        if let route = configuration.routes[domain] {
            return await destination(for: domain, configured: route, via: .route(route))
        }
        if let smarthost = configuration.smarthost {
            return await destination(for: domain, configured: smarthost, via: .smarthost(smarthost))
        }
        let (tls, tlsSource) = configuration.tlsPolicy(for: domain, via: .mx)
        let hosts: [MXHost]
        if domain.hasPrefix("[") && domain.hasSuffix("]") {
            // RFC 5321 §4.1.3: an address literal is the host itself.
            var literal = String(domain.dropFirst().dropLast())
            if literal.lowercased().hasPrefix("ipv6:") { literal = String(literal.dropFirst(5)) }
            hosts = [MXHost(name: literal, preference: 0, addresses: [literal])]
        } else {
            switch await resolver.resolveMX(domain) {
            case .hosts(let resolved):
                hosts = resolved.filter { !$0.addresses.isEmpty }
                guard !hosts.isEmpty else {
                    return .later(code: nil, enhanced: "4.4.3", text: "no address for any mail exchanger of \(domain)")
                }
            case .nullMX:
                return .fail(code: 556, enhanced: "5.1.10", text: "\(domain) does not accept mail (null MX, RFC 7505)")
            case .noSuchDomain:
                return .fail(code: nil, enhanced: "5.1.2", text: "\(domain) does not exist (no such domain in DNS)")
            case .temporaryFailure(let why):
                return .later(code: nil, enhanced: "4.4.3", text: "DNS lookup of \(domain) failed: \(why)")
            }
        }
        switch configuration.local.excludingSelf(hosts, port: configuration.port) {
        case .loop(let host):
            // RFC 5321 §5.1: "the message MUST be returned as undeliverable"; RFC 3463 X.4.6.
            return .fail(
                code: 554, enhanced: "5.4.6",
                text: "mail for \(domain) loops back to myself: its best mail exchanger \(host) is this server")
        case .hosts(let others):
            return .hosts(
                others.map {
                    Host(hop: RelayHop(host: $0.name, port: configuration.port, tls: tls, tlsSource: tlsSource), addresses: $0.addresses)
                })
        }
    }

    /// A route's or the smarthost's one host, resolved.
    func destination(for domain: String, configured route: RelayRoute, via nextHop: RelayNextHop) async -> Destination {
        let addresses: [String]
        if Self.isAddressLiteral(route.host) {
            addresses = [route.host]
        } else {
            switch await resolver.addresses(of: route.host) {
            case .success(let found) where !found.isEmpty:
                addresses = found
            case .success, .failure:
                return .later(code: nil, enhanced: "4.4.3", text: "cannot find the address of \(route.host)")
            }
        }
        let what = if case .smarthost = nextHop { "the smarthost" } else { "route \(domain)" }
        let host = MXHost(name: route.host, preference: 0, addresses: addresses)
        guard case .hosts = configuration.local.excludingSelf([host], port: route.port) else {
            let text = "mail for \(domain) loops back to myself: \(what) \(route.host):\(route.port) is this server's own SMTP listener"
            logger.warning("\(text); fix relay.routes or relay.smarthost")
            return .later(code: nil, enhanced: "4.4.6", text: text)
        }
        let (tls, tlsSource) = configuration.tlsPolicy(for: domain, via: nextHop)
        return .hosts([Host(hop: RelayHop(host: route.host, port: route.port, tls: tls, tlsSource: tlsSource), addresses: addresses)])
    }

    static func isAddressLiteral(_ host: String) -> Bool {
        host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." })
    }
}
