/// LoftConfig: the one configuration file (YAML), with environment-variable and command-line
/// overrides on top. Every setting is documented in deploy/loft.yaml. Imports MailCore and Yams.
import Foundation
import MailCore
import Yams

/// The whole configuration. Keys in the file are snake_case; every one is optional and falls
/// back to the default shown in deploy/loft.yaml.
public struct LoftConfig: Sendable, Equatable {
    public var dataDirectory: String = "./loft-data"
    /// Where the back-end's RPC sockets are (gateway.sock, admin.sock, relay.sock); empty:
    /// the data directory.
    public var socketDirectory: String = ""
    /// The directory the sockets are in: `socket_dir`, else the data directory.
    public var sockets: String { socketDirectory.isEmpty ? dataDirectory : socketDirectory }
    public var logLevel: String = "info"
    /// How each log line is written to standard error: `logfmt` (key=value pairs, what
    /// journald's and most log shippers' parsers read), `json` (one object per line) or
    /// `text` (swift-log's own layout, for a terminal).
    public var logFormat: String = "logfmt"
    public static let logFormats = ["logfmt", "json", "text"]
    public var backend = BackendSection()
    public var serve = ServeSection()
    public var metrics = MetricsSection()
    public var tls = TLSSection()
    public var pop3 = POP3Section()
    public var imap = IMAPSection()
    public var ldap = LDAPSection()
    public var smtp = SMTPSection()
    public var queue = QueueSection()
    public var relay = RelaySection()

    /// How often a gateway in `auto` mode asks the back-end whether CRAM-MD5 can work for anyone;
    /// only tests change it (`LOFT_CRAM_MD5_REFRESH_MS`).
    public var cramMD5RefreshMs = 10_000

    /// `offer_cram_md5`: `auto`, `true` or `false` (YAML booleans or the words).
    public enum CRAMMD5Offer: String, Sendable, Equatable, Decodable {
        case auto
        case yes = "true"
        case no = "false"

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let flag = try? container.decode(Bool.self) {
                self = flag ? .yes : .no
                return
            }
            let text = try container.decode(String.self)
            guard let value = CRAMMD5Offer(rawValue: text.lowercased()) else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "\(text) is not auto, true or false")
            }
            self = value
        }
    }

    public struct BackendSection: Sendable, Equatable {
        public var passwordHashCost = 15
        /// The shortest password `account add` and `account set` accept, in characters.
        public var minPasswordLength = 8
        public var workerThreads = 8
        public var sessionLifetimeSeconds: Int64 = 86_400
        public var maxMessageBytes: Int64 = 50 << 20
        public var maxRecipientsPerMessage = 1000
        public var loginFreeAttempts = 3
        public var loginMaxDelaySeconds = 300
        /// Message bodies up to this size are stored in the database with their rows.
        public var inlineBodyMaxBytes: Int64 = 64 << 10
        /// Forwarded mail from outside senders leaves with an SRS envelope sender, and bounces to
        /// such addresses go back to the original sender.
        public var srs = true
        /// Deliveries and appends are refused (temporarily) while the data directory's file
        /// system has less than this free, so that deleting mail still works on a full disk.
        public var minFreeBytes: Int64 = 64 << 20
        /// RFC 6154: the special-use mailboxes every account gets (names may be translated).
        public var defaultMailboxes = SpecialUse.defaultMailboxes.map {
            DefaultMailboxSetting(name: $0.name, specialUse: String($0.specialUse.dropFirst()))
        }
    }

    /// One of `backend.default_mailboxes`: `{name: Gesendet, special_use: Sent}`.
    public struct DefaultMailboxSetting: Sendable, Equatable, Decodable {
        public var name: String
        /// Archive, Drafts, Junk, Sent or Trash (RFC 6154 §2, without the backslash).
        public var specialUse: String
        public init(name: String, specialUse: String) {
            self.name = name
            self.specialUse = specialUse
        }
        enum CodingKeys: String, CodingKey {
            case name, specialUse = "special_use"
        }
        /// The attribute as IMAP writes it, or nil for an unknown one.
        public var attribute: String? { SpecialUse.attribute(specialUse) }
    }

    /// Prometheus metrics (issue 14): every process serves `GET /metrics` on `address` at its
    /// own port. Empty address: none.
    public struct MetricsSection: Sendable, Equatable {
        public var address = "127.0.0.1"
        public var ports: [String: Int] = [
            "serve": 9190, "backend": 9191, "smtp": 9192, "pop3": 9193, "imap": 9194, "ldap": 9195, "relay": 9196,
        ]
        public static let processes = ["serve", "backend", "smtp", "pop3", "imap", "ldap", "relay"]
        /// Where `process` serves, or nil when it serves none.
        public func port(for process: String) -> Int? {
            address.isEmpty ? nil : ports[process]
        }
    }

    public struct ServeSection: Sendable, Equatable {
        /// Gateways `loft serve` starts besides the back-end.
        public var gateways: [String] = ["pop3", "smtp", "imap", "ldap", "relay"]
        public var restartMaxDelaySeconds = 30
    }

    /// `loft pop3` (DESIGN §8: 2110 with STLS and 2995 with implicit TLS in a checkout).
    public struct POP3Section: Sendable, Equatable {
        public var listeners: [ListenerSetting] = [
            ListenerSetting(address: "0.0.0.0", port: 2110, tls: "stls"),
            ListenerSetting(address: "0.0.0.0", port: 2995, tls: "implicit"),
        ]
        /// RFC 1939 §3: at least ten minutes.
        public var idleTimeoutSeconds = 600
        /// A command line begun must be complete within this (slow-drip clients are cut).
        public var commandTimeoutSeconds = 60
        /// From connecting to a successful login.
        public var loginTimeoutSeconds = 120
        public var allowPlaintextWithoutTLS = false
        public var allowPlaintextOnLoopback = true
        /// CRAM-MD5 works only for accounts with a challenge-response (APOP) secret, and some
        /// clients (curl) pick it whenever it is offered: `auto` offers it only while some
        /// enabled account has such a secret. APOP itself is unaffected.
        public var offerCRAMMD5 = CRAMMD5Offer.auto
        public var lockLeaseSeconds = 30
        public var maxConnectionsPerAddress = 20
        public var maxConnections = 1000
    }

    /// `loft imap` (DESIGN §8: 2143 with STARTTLS and 2993 with implicit TLS in a checkout).
    public struct IMAPSection: Sendable, Equatable {
        public var listeners: [ListenerSetting] = [
            ListenerSetting(address: "0.0.0.0", port: 2143, tls: "starttls"),
            ListenerSetting(address: "0.0.0.0", port: 2993, tls: "implicit"),
        ]
        /// RFC 3501 §5.4: an autologout timer of at least 30 minutes.
        public var idleTimeoutSeconds = 1800
        /// A command begun must be complete within this (a literal at 4 KiB per this at least).
        public var commandTimeoutSeconds = 60
        /// From connecting to a successful login.
        public var loginTimeoutSeconds = 120
        public var allowPlaintextWithoutTLS = false
        public var allowPlaintextOnLoopback = true
        /// As `pop3.offer_cram_md5`.
        public var offerCRAMMD5 = CRAMMD5Offer.auto
        /// Mail clients open several connections per account (Thunderbird five, phones more).
        public var maxConnectionsPerAddress = 50
        public var maxConnections = 5000
        /// RFC 7888 §5: advertise LITERAL- instead of LITERAL+, so clients send a literal of more
        /// than 4096 octets only after the server's "+".
        public var literalMinus = false
    }

    /// `loft ldap`, the read-only directory (issue 12; DESIGN §8: 2389 with StartTLS and 2636
    /// with implicit TLS in a checkout). Each access restriction has a safe default.
    public struct LDAPSection: Sendable, Equatable {
        public var listeners: [ListenerSetting] = [
            ListenerSetting(address: "0.0.0.0", port: 2389, tls: "starttls"),
            ListenerSetting(address: "0.0.0.0", port: 2636, tls: "implicit"),
        ]
        /// The directory's suffix; empty: derived from the first domain (example.org gives
        /// dc=example,dc=org).
        public var baseDN = ""
        /// A connection with no request for this long is closed (slapd's `idletimeout`).
        public var idleTimeoutSeconds = 900
        /// A request begun must be complete within this.
        public var commandTimeoutSeconds = 60
        /// A simple bind's password before TLS: refused (confidentialityRequired), except from
        /// loopback clients unless allow_plaintext_on_loopback is false.
        public var allowPlaintextWithoutTLS = false
        public var allowPlaintextOnLoopback = true
        /// Networks (address/prefix) from which anonymous clients may search. Default: loopback.
        public var anonymousNetworks: [String] = ["127.0.0.0/8", "::1/128"]
        /// Every search needs a bind first (the root DSE and schema stay readable).
        public var requireBind = false
        /// The attributes an anonymous filter may test, by equality or an initial substring.
        public var anonymousAttributes: [String] = ["mail", "cn"]
        /// The shortest initial substring (`ali*`) an anonymous filter may use.
        public var anonymousMinimumPrefix = 3
        /// The most entries an anonymous search returns (over every page).
        public var anonymousSizeLimit = 10
        /// Searches an anonymous client address may make per minute; 0: no limit.
        public var anonymousSearchesPerMinute = 300
        /// The most entries any search returns unless paged; the client's limit applies when smaller.
        public var sizeLimit = 1000
        /// The most seconds a search may take (RFC 4511 §4.5.1.5); the client's limit applies when smaller.
        public var timeLimitSeconds = 60
        public var maxConnectionsPerAddress = 50
        public var maxConnections = 2000
    }

    /// The outbound queue's schedule (Protocol/README §15), kept by the back-end.
    public struct QueueSection: Sendable, Equatable {
        /// Seconds between attempts: after the first, the second, …; the last repeats.
        public var retrySeconds: [Int64] = [300, 600, 1200, 2400, 7200]
        /// A recipient not delivered after this fails and its sender gets a bounce.
        public var lifetimeSeconds: Int64 = 5 * 86_400
        /// A recipient still waiting after this gets one "delayed" notice; 0: none.
        public var delayWarningSeconds: Int64 = 4 * 3600
        /// How often the back-end looks for expired and delayed recipients (tests shorten it).
        public var tickMs: Int64 = 30_000
    }

    /// `loft relay`, the outbound worker.
    public struct RelaySection: Sendable, Equatable {
        /// Deliveries at once (each one destination domain over one connection).
        public var workers = 4
        /// The EHLO name; empty: smtp.hostname, tls.hostname, else the host name.
        public var heloName = ""
        /// The port MX hosts are reached on (25; tests use their own).
        public var port = 25
        /// DNS servers as `address` or `address:port`; empty: /etc/resolv.conf.
        public var nameservers: [String] = []
        /// `none`, `opportunistic` (STARTTLS when offered) or `required` (verified certificates):
        /// every destination's, unless `routes`, `tls_policy` or `smarthost_tls` says otherwise.
        public var tls = "opportunistic"
        /// Per destination domain, its TLS policy instead of `tls` (as Postfix's
        /// smtp_tls_policy_maps), by MX or by a route without a `tls` of its own.
        public var tlsPolicy: [String: String] = [:]
        /// PEM certificates trusted when TLS is required; empty: the system's.
        public var caFile = ""
        /// Every message goes to this `host:port` when set (a provider's relay).
        public var smarthost = ""
        /// AUTH PLAIN at the smarthost: the user name, and a file holding the password (so the
        /// configuration need not hold a secret); only after STARTTLS.
        public var smarthostUsername = ""
        public var smarthostPasswordFile = ""
        /// The smarthost's TLS policy; empty: `tls`.
        public var smarthostTLS = ""
        /// Per destination domain, a fixed `host:port` instead of its MX records, with its own
        /// TLS policy if given.
        public var routes: [String: RouteSetting] = [:]
        public var connectTimeoutSeconds: Int64 = 30
        /// After a lease came back empty, the pause before asking again (the back-end holds a
        /// lease up to 10 s while nothing is due, so this is no polling interval).
        public var idlePollMs: Int64 = 50
        /// How long a worker holds the recipients it leased; renewed while it works. A worker
        /// that dies leaves them for this long.
        public var leaseSeconds: Int64 = 300
        /// Connections to one destination domain at once, from every relay worker together
        /// (Postfix's `default_destination_concurrency_limit`).
        public var destinationConcurrency = 20
        public static let tlsModes = ["none", "opportunistic", "required"]
    }

    /// One of `relay.routes`: `"host:port"`, or `{host: "host:port", tls: required}`.
    public struct RouteSetting: Sendable, Equatable {
        /// `host`, `host:port` or `[v6]:port` (checked by `loft relay`).
        public var host: String
        /// `none`, `opportunistic` or `required`; empty: the domain's `relay.tls_policy`, else
        /// `relay.tls`.
        public var tls: String
        public init(host: String, tls: String = "") {
            self.host = host
            self.tls = tls
        }
    }

    /// `loft smtp` (DESIGN §8: 2525 MX, 2587 submission, 2465 submission with implicit TLS in a
    /// checkout).
    public struct SMTPSection: Sendable, Equatable {
        public var listeners: [SMTPListenerSetting] = [
            SMTPListenerSetting(address: "0.0.0.0", port: 2525, tls: "starttls", mode: "mx"),
            SMTPListenerSetting(address: "0.0.0.0", port: 2587, tls: "starttls", mode: "submission"),
            SMTPListenerSetting(address: "0.0.0.0", port: 2465, tls: "implicit", mode: "submission"),
        ]
        /// The name in greetings and Received headers; empty: tls.hostname, else the host name.
        public var hostname = ""
        /// RFC 5321 §4.5.3.2.7: at least five minutes.
        public var idleTimeoutSeconds = 300
        /// A command line begun must be complete within this, and message data must arrive at
        /// 4 KiB per this at least.
        public var commandTimeoutSeconds = 60
        /// On submission ports, from connecting to a successful AUTH.
        public var loginTimeoutSeconds = 120
        /// Lowers the server-wide limit (`backend.max_message_size`, then `loft settings
        /// --max-message`), which the gateway follows, for this gateway only; never raises it.
        /// Unset: the server's limit.
        public var maxMessageBytes: Int64?
        /// RFC 5321 §4.5.3.1.8: at least 100.
        public var maxRecipientsPerMessage = 100
        public var maxRecipientsPerConnection = 1000
        public var maxErrors = 20
        public var maxConnectionsPerAddress = 20
        public var maxConnections = 1000
        /// CIDR networks whose clients may relay without AUTH. Empty: nobody (never an open relay).
        public var trustedNetworks: [String] = []
        public var allowPlaintextWithoutTLS = false
        public var allowPlaintextOnLoopback = true
        /// As `pop3.offer_cram_md5`.
        public var offerCRAMMD5 = CRAMMD5Offer.auto
        public var authOnMX = false
        /// Where a bare `RCPT TO:<Postmaster>` goes (RFC 5321 §4.1.1.3, §4.5.1). Empty: the
        /// postmaster of the first domain added.
        public var postmaster = ""
        /// Write `(Authenticated sender: …)` into the Received field of mail a client logged in to send.
        public var receivedAuthenticatedSender = true
        /// On MX listeners, wait this long before the greeting and refuse a client that talks
        /// first (`554`, as Postfix's postscreen pregreet test); a client that waited is not made
        /// to wait again for a day. 0: greet at once. Submission ports never wait.
        public var mxGreetingDelayMs = 1000
    }

    /// One SMTP listener: a socket plus `mode`, `mx` (mail for local domains, no AUTH needed)
    /// or `submission` (AUTH required, RFC 6409).
    public struct SMTPListenerSetting: Sendable, Equatable {
        public var address: String
        public var port: Int
        public var tls: String
        public var mode: String
        public init(address: String, port: Int, tls: String, mode: String) {
            self.address = address
            self.port = port
            self.tls = tls
            self.mode = mode
        }

        public static let modes = ["mx", "submission"]

        /// `host:port/tls/mode` items separated by commas, the form of `LOFT_SMTP_LISTENERS`.
        public static func parseList(_ text: String, key: String) throws -> [SMTPListenerSetting] {
            try text.split(separator: ",").map { item in
                let parts = item.trimmingCharacters(in: .whitespaces).split(separator: "/")
                guard parts.count == 3 else {
                    throw ConfigError("\(key): \(item) is not host:port/tls/mode, e.g. 0.0.0.0:25/starttls/mx")
                }
                let socket = try ListenerSetting.parseList("\(parts[0])/\(parts[1])", key: key)[0]
                return SMTPListenerSetting(address: socket.address, port: socket.port, tls: socket.tls, mode: String(parts[2]))
            }
        }
    }

    /// One listening socket of a gateway. `tls` is `none`, `starttls` (POP3 calls it `stls`)
    /// or `implicit`.
    public struct ListenerSetting: Sendable, Equatable {
        public var address: String
        public var port: Int
        public var tls: String
        public init(address: String, port: Int, tls: String) {
            self.address = address
            self.port = port
            self.tls = tls
        }

        public static let tlsModes = ["none", "stls", "starttls", "implicit"]

        /// `host:port/tls` items separated by commas (`[::]:995/implicit` for IPv6), the form of
        /// the `LOFT_*_LISTENERS` environment overrides.
        public static func parseList(_ text: String, key: String) throws -> [ListenerSetting] {
            try text.split(separator: ",").map { item in
                let parts = item.trimmingCharacters(in: .whitespaces).split(separator: "/", maxSplits: 1)
                let hostPort = String(parts[0])
                guard let colon = hostPort.lastIndex(of: ":"), let port = Int(hostPort[hostPort.index(after: colon)...]) else {
                    throw ConfigError("\(key): \(item) is not host:port/tls, e.g. 127.0.0.1:2110/stls")
                }
                var host = String(hostPort[..<colon])
                if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
                return ListenerSetting(address: host, port: port, tls: parts.count > 1 ? String(parts[1]) : "none")
            }
        }
    }

    public struct TLSSection: Sendable, Equatable {
        /// PEM files; when both are empty, `loft serve` makes a self-signed pair in the data
        /// directory on first start.
        public var certificate = ""
        public var key = ""
        public var hostname = ""
    }

    public init() {}

    /// Where the configuration comes from, in order: `--config`, `$LOFT_CONFIG`, `./loft.yaml`
    /// if it exists, `/etc/loft/loft.yaml` if it exists; none is fine (defaults).
    public static func locate(explicit: String?, environment: [String: String]) -> String? {
        if let explicit { return explicit }
        if let env = environment["LOFT_CONFIG"], !env.isEmpty { return env }
        for candidate in ["./loft.yaml", "/etc/loft/loft.yaml"] where FileManager.default.fileExists(atPath: candidate) {
            return candidate
        }
        return nil
    }

    /// Loads the file (if any), then applies `LOFT_*` environment overrides, then the explicit
    /// `--data` flag.
    public static func load(path: String?, environment: [String: String], dataOverride: String?) throws -> LoftConfig {
        var config = LoftConfig()
        if let path {
            guard let text = FileManager.default.contents(atPath: path).map({ String(decoding: $0, as: UTF8.self) }) else {
                throw ConfigError("cannot read the configuration file \(path)")
            }
            config = try parse(text, source: path)
        }
        try config.applyEnvironment(environment)
        if let dataOverride { config.dataDirectory = dataOverride }
        return config
    }

    public static func parse(_ text: String, source: String = "configuration") throws -> LoftConfig {
        let config: LoftConfig
        do {
            config = try YAMLDecoder().decode(LoftConfig.self, from: text.isEmpty ? "{}" : text)
        } catch let error as DecodingError {
            throw ConfigError("\(source): \(describe(error))")
        } catch let error as ConfigError {
            throw ConfigError("\(source): \(error.description)")
        } catch {
            throw ConfigError("\(source): \(error)")
        }
        try config.validate(source: source)
        return config
    }

    mutating func applyEnvironment(_ env: [String: String]) throws {
        if let v = env["LOFT_DATA"], !v.isEmpty { dataDirectory = v }
        if let v = env["LOFT_LOG_LEVEL"], !v.isEmpty { logLevel = v }
        if let v = env["LOFT_LOG_FORMAT"], !v.isEmpty { logFormat = v }
        if let v = env["LOFT_SOCKET_DIR"], !v.isEmpty { socketDirectory = v }
        if let v = env["LOFT_METRICS_ADDRESS"], !v.isEmpty { metrics.address = v == "off" ? "" : v }
        if let v = env["LOFT_METRICS_PORTS"], !v.isEmpty {
            for item in v.split(separator: ",") {
                let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let port = Int(parts[1]) else {
                    throw ConfigError("LOFT_METRICS_PORTS: \(item) is not process=port (as backend=9191)")
                }
                metrics.ports[parts[0]] = port
            }
        }
        if let v = env["LOFT_PASSWORD_HASH_COST"], !v.isEmpty {
            guard let n = Int(v) else { throw ConfigError("LOFT_PASSWORD_HASH_COST must be a number") }
            backend.passwordHashCost = n
        }
        if let v = env["LOFT_MIN_PASSWORD_LENGTH"], !v.isEmpty {
            guard let n = Int(v) else { throw ConfigError("LOFT_MIN_PASSWORD_LENGTH must be a number") }
            backend.minPasswordLength = n
        }
        if let v = env["LOFT_MIN_FREE_SPACE"], !v.isEmpty {
            backend.minFreeBytes = try Self.size(v, key: "LOFT_MIN_FREE_SPACE", source: "environment")
        }
        if let v = env["LOFT_MAX_MESSAGE_SIZE"], !v.isEmpty {
            backend.maxMessageBytes = try Self.size(v, key: "LOFT_MAX_MESSAGE_SIZE", source: "environment")
        }
        if let v = env["LOFT_CRAM_MD5_REFRESH_MS"], !v.isEmpty {
            guard let n = Int(v), n > 0 else { throw ConfigError("LOFT_CRAM_MD5_REFRESH_MS must be a positive number") }
            cramMD5RefreshMs = n
        }
        if let v = env["LOFT_QUEUE_RETRY"], !v.isEmpty {
            queue.retrySeconds = try v.split(separator: ",").map { try Self.span(String($0), key: "LOFT_QUEUE_RETRY") }
        }
        if let v = env["LOFT_QUEUE_LIFETIME"], !v.isEmpty { queue.lifetimeSeconds = try Self.span(v, key: "LOFT_QUEUE_LIFETIME") }
        if let v = env["LOFT_QUEUE_DELAY_WARNING"], !v.isEmpty {
            queue.delayWarningSeconds = try Self.span(v, key: "LOFT_QUEUE_DELAY_WARNING")
        }
        if let v = env["LOFT_QUEUE_TICK_MS"], !v.isEmpty {
            guard let n = Int64(v) else { throw ConfigError("LOFT_QUEUE_TICK_MS must be a number") }
            queue.tickMs = n
        }
        if let v = env["LOFT_RELAY_NAMESERVERS"], !v.isEmpty {
            relay.nameservers = v.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }
        if let v = env["LOFT_RELAY_PORT"], !v.isEmpty {
            guard let n = Int(v) else { throw ConfigError("LOFT_RELAY_PORT must be a number") }
            relay.port = n
        }
        if let v = env["LOFT_RELAY_TLS"], !v.isEmpty { relay.tls = v }
        if let v = env["LOFT_RELAY_CA_FILE"], !v.isEmpty { relay.caFile = v }
        if let v = env["LOFT_POP3_LISTENERS"], !v.isEmpty {
            pop3.listeners = try ListenerSetting.parseList(v, key: "LOFT_POP3_LISTENERS")
        }
        if let v = env["LOFT_IMAP_LISTENERS"], !v.isEmpty {
            imap.listeners = try ListenerSetting.parseList(v, key: "LOFT_IMAP_LISTENERS")
        }
        if let v = env["LOFT_LDAP_LISTENERS"], !v.isEmpty {
            ldap.listeners = try ListenerSetting.parseList(v, key: "LOFT_LDAP_LISTENERS")
        }
        if let v = env["LOFT_SMTP_MX_GREETING_DELAY_MS"], !v.isEmpty {
            guard let n = Int(v) else { throw ConfigError("LOFT_SMTP_MX_GREETING_DELAY_MS must be a number") }
            smtp.mxGreetingDelayMs = n
        }
        if let v = env["LOFT_SMTP_LISTENERS"], !v.isEmpty {
            smtp.listeners = try SMTPListenerSetting.parseList(v, key: "LOFT_SMTP_LISTENERS")
        }
        try validate(source: "environment")
    }

    func validate(source: String) throws {
        guard (4...20).contains(backend.passwordHashCost) else {
            throw ConfigError("\(source): backend.password_hash_cost must be between 4 and 20 (15 is the production default)")
        }
        guard (1...256).contains(backend.minPasswordLength) else {
            throw ConfigError("\(source): backend.min_password_length must be 1…256 (8 is the default)")
        }
        guard (1...256).contains(backend.workerThreads) else { throw ConfigError("\(source): backend.worker_threads must be 1…256") }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ConfigError("\(source): log_level must be one of trace, debug, info, notice, warning, error, critical")
        }
        for (process, port) in metrics.ports {
            guard MetricsSection.processes.contains(process) else {
                throw ConfigError("\(source): metrics.ports: \(process) is not one of \(MetricsSection.processes.joined(separator: ", "))")
            }
            guard (0...65535).contains(port) else { throw ConfigError("\(source): metrics.ports: \(port) is not 0…65535") }
        }
        guard Self.logFormats.contains(logFormat) else {
            throw ConfigError("\(source): log_format must be logfmt, json or text, not \(logFormat)")
        }
        guard backend.maxMessageBytes >= 1024 else { throw ConfigError("\(source): backend.max_message_size must be at least 1K") }
        guard (0...(16 << 20)).contains(backend.inlineBodyMaxBytes) else {
            throw ConfigError("\(source): backend.inline_body_max must be between 0 and 16M (64K is the default)")
        }
        var defaultNames = Set<String>()
        for box in backend.defaultMailboxes {
            guard box.attribute != nil else {
                throw ConfigError(
                    "\(source): backend.default_mailboxes: \(box.name) has special_use \(box.specialUse); one of Archive, Drafts, Junk, Sent, Trash"
                )
            }
            guard MailboxName(box.name) != nil, box.name.uppercased() != "INBOX", !box.name.hasPrefix("INBOX/") else {
                throw ConfigError("\(source): backend.default_mailboxes: \(box.name) is not a name a mailbox of its own can have")
            }
            guard defaultNames.insert(box.name).inserted else {
                throw ConfigError("\(source): backend.default_mailboxes: \(box.name) is listed twice")
            }
        }
        for g in serve.gateways where !Self.knownGateways.contains(g) {
            throw ConfigError("\(source): serve.gateways: unknown gateway \(g); known: \(Self.knownGateways.joined(separator: ", "))")
        }
        for l in pop3.listeners {
            guard ListenerSetting.tlsModes.contains(l.tls) else {
                throw ConfigError("\(source): pop3.listeners: tls must be none, stls or implicit, not \(l.tls)")
            }
            guard (0...65535).contains(l.port) else { throw ConfigError("\(source): pop3.listeners: port \(l.port) is not 0…65535") }
        }
        for l in imap.listeners {
            guard ["none", "starttls", "implicit"].contains(l.tls) else {
                throw ConfigError("\(source): imap.listeners: tls must be none, starttls or implicit, not \(l.tls)")
            }
            guard (0...65535).contains(l.port) else { throw ConfigError("\(source): imap.listeners: port \(l.port) is not 0…65535") }
        }
        for l in ldap.listeners {
            guard ["none", "starttls", "implicit"].contains(l.tls) else {
                throw ConfigError("\(source): ldap.listeners: tls must be none, starttls or implicit, not \(l.tls)")
            }
            guard (0...65535).contains(l.port) else { throw ConfigError("\(source): ldap.listeners: port \(l.port) is not 0…65535") }
        }
        for network in ldap.anonymousNetworks where !Self.isNetwork(network) {
            throw ConfigError("\(source): ldap.anonymous_networks: \(network) is not an address/prefix like 127.0.0.0/8")
        }
        guard ldap.idleTimeoutSeconds >= 1, ldap.commandTimeoutSeconds >= 1 else {
            throw ConfigError("\(source): ldap.idle_timeout_seconds and command_timeout_seconds must be at least 1")
        }
        guard ldap.anonymousMinimumPrefix >= 1, ldap.anonymousSizeLimit >= 1, ldap.sizeLimit >= 1, ldap.timeLimitSeconds >= 1,
            ldap.anonymousSearchesPerMinute >= 0
        else {
            throw ConfigError(
                "\(source): ldap.anonymous_minimum_prefix, anonymous_size_limit, size_limit and time_limit_seconds must be at least 1, anonymous_searches_per_minute at least 0"
            )
        }
        guard ldap.maxConnectionsPerAddress >= 1, ldap.maxConnections >= 1 else {
            throw ConfigError("\(source): ldap.max_connections and max_connections_per_address must be at least 1")
        }
        guard imap.idleTimeoutSeconds >= 1800 else {
            throw ConfigError("\(source): imap.idle_timeout_seconds must be at least 1800 (RFC 3501 §5.4)")
        }
        guard imap.maxConnectionsPerAddress >= 1, imap.maxConnections >= 1 else {
            throw ConfigError("\(source): imap.max_connections and max_connections_per_address must be at least 1")
        }
        guard pop3.idleTimeoutSeconds >= 600 else {
            throw ConfigError("\(source): pop3.idle_timeout_seconds must be at least 600 (RFC 1939 §3)")
        }
        for (name, command, login) in [
            ("pop3", pop3.commandTimeoutSeconds, pop3.loginTimeoutSeconds),
            ("imap", imap.commandTimeoutSeconds, imap.loginTimeoutSeconds),
            ("smtp", smtp.commandTimeoutSeconds, smtp.loginTimeoutSeconds),
        ] {
            guard command >= 1, login >= 1 else {
                throw ConfigError("\(source): \(name).command_timeout_seconds and login_timeout_seconds must be at least 1")
            }
        }
        for l in smtp.listeners {
            guard ["none", "starttls", "implicit"].contains(l.tls) else {
                throw ConfigError("\(source): smtp.listeners: tls must be none, starttls or implicit, not \(l.tls)")
            }
            guard SMTPListenerSetting.modes.contains(l.mode) else {
                throw ConfigError("\(source): smtp.listeners: mode must be mx or submission, not \(l.mode)")
            }
            guard (0...65535).contains(l.port) else { throw ConfigError("\(source): smtp.listeners: port \(l.port) is not 0…65535") }
        }
        guard smtp.idleTimeoutSeconds >= 1 else { throw ConfigError("\(source): smtp.idle_timeout_seconds must be at least 1") }
        guard smtp.maxRecipientsPerMessage >= 1, smtp.maxRecipientsPerConnection >= 1, smtp.maxErrors >= 1 else {
            throw ConfigError("\(source): smtp.max_recipients_per_message, max_recipients_per_connection and max_errors must be at least 1")
        }
        guard smtp.maxConnectionsPerAddress >= 1, smtp.maxConnections >= 1 else {
            throw ConfigError("\(source): smtp.max_connections and max_connections_per_address must be at least 1")
        }
        guard (0...10_000).contains(smtp.mxGreetingDelayMs) else {
            throw ConfigError("\(source): smtp.mx_greeting_delay_ms must be 0…10000 (1000 is the default, 0 greets at once)")
        }
        if let max = smtp.maxMessageBytes, max < 1024 { throw ConfigError("\(source): smtp.max_message_size must be at least 1K") }
        for network in smtp.trustedNetworks where !Self.isNetwork(network) {
            throw ConfigError("\(source): smtp.trusted_networks: \(network) is not an address or CIDR network like 192.0.2.0/24")
        }
        guard !queue.retrySeconds.isEmpty, queue.retrySeconds.allSatisfy({ $0 >= 1 }), queue.lifetimeSeconds >= 1,
            queue.delayWarningSeconds >= 0, queue.tickMs >= 100
        else {
            throw ConfigError(
                "\(source): queue: retry needs at least one interval of 1s or more, lifetime at least 1s, tick_ms at least 100")
        }
        if backend.srs, queue.lifetimeSeconds > 21 * 86_400 {
            // An SRS address is honoured for 21 days; a bounce after that could not find its way.
            throw ConfigError("\(source): queue.lifetime may be at most 21d while backend.srs is on (SRS addresses last 21 days)")
        }
        guard relay.connectTimeoutSeconds >= 1, relay.idlePollMs >= 0 else {
            throw ConfigError("\(source): relay.connect_timeout_seconds must be at least 1 and relay.idle_poll_ms not negative")
        }
        guard (1...256).contains(relay.workers) else { throw ConfigError("\(source): relay.workers must be 1…256") }
        guard RelaySection.tlsModes.contains(relay.tls) else {
            throw ConfigError("\(source): relay.tls must be none, opportunistic or required, not \(relay.tls)")
        }
        try relay.validateRoutes(source: source)
        guard (2...3600).contains(relay.leaseSeconds) else { throw ConfigError("\(source): relay.lease_seconds must be 2…3600") }
        guard (1...1000).contains(relay.destinationConcurrency) else {
            throw ConfigError("\(source): relay.destination_concurrency must be 1…1000")
        }
        guard (1...65535).contains(relay.port) else { throw ConfigError("\(source): relay.port \(relay.port) is not 1…65535") }
        guard (1...30).contains(pop3.lockLeaseSeconds) else { throw ConfigError("\(source): pop3.lock_lease_seconds must be 1…30") }
        guard pop3.maxConnectionsPerAddress >= 1, pop3.maxConnections >= 1 else {
            throw ConfigError("\(source): pop3.max_connections and max_connections_per_address must be at least 1")
        }
    }

    /// Gateways this build can start. Each protocol issue adds its own.
    public static let knownGateways: [String] = ["pop3", "smtp", "imap", "ldap", "relay"]

    /// `address[/prefix]` with an IPv4 or IPv6 address (checked fully by the SMTP gateway).
    static func isNetwork(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty,
            first.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" })
        else { return false }
        return parts.count == 1 || (Int(parts[1]).map { (0...128).contains($0) } ?? false)
    }

    static func span(_ text: String, key: String) throws -> Int64 {
        guard let n = TimeSpan.parse(text) else { throw ConfigError("\(key): \(text) is not a duration like 5m, 2h or 5d") }
        return n
    }

    static func size(_ text: String, key: String, source: String) throws -> Int64 {
        guard let n = ByteSize.parse(text) else { throw ConfigError("\(source): \(key): \(text) is not a size like 25M") }
        return n
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let ctx), .valueNotFound(_, let ctx), .keyNotFound(_, let ctx), .dataCorrupted(let ctx):
            let path = ctx.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? ctx.debugDescription : "\(path): \(ctx.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

}

// The file's shape is the settings' own: each section decodes over its defaults, a key that is
// present replaces the default, and an unknown key is refused so a typo never silently does
// nothing. Adding a setting is one property, one coding key and one `set` line.

extension LoftConfig: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case dataDirectory = "data_dir", socketDirectory = "socket_dir", logLevel = "log_level", logFormat = "log_format", metrics, backend,
            serve, tls, pop3, imap, ldap,
            smtp,
            queue, relay
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&dataDirectory, .dataDirectory)
        try o.set(&socketDirectory, .socketDirectory)
        try o.set(&logLevel, .logLevel)
        try o.set(&logFormat, .logFormat)
        try o.set(&metrics, .metrics)
        try o.set(&backend, .backend)
        try o.set(&serve, .serve)
        try o.set(&tls, .tls)
        try o.set(&pop3, .pop3)
        try o.set(&imap, .imap)
        try o.set(&ldap, .ldap)
        try o.set(&smtp, .smtp)
        try o.set(&queue, .queue)
        try o.set(&relay, .relay)
    }
}

extension LoftConfig.QueueSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case retry, lifetime, delayWarning = "delay_warning", tickMs = "tick_ms"
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        if let list = try o.container.decodeIfPresent([String].self, forKey: .retry) {
            retrySeconds = try list.map { try o.span($0, .retry) }
        }
        if let text = try o.container.decodeIfPresent(String.self, forKey: .lifetime) { lifetimeSeconds = try o.span(text, .lifetime) }
        if let text = try o.container.decodeIfPresent(String.self, forKey: .delayWarning) {
            delayWarningSeconds = try o.span(text, .delayWarning)
        }
        try o.set(&tickMs, .tickMs)
    }
}

extension LoftConfig.RelaySection {
    /// Routes, per-domain TLS policies and the smarthost's: known words, a host for every
    /// route, and no domain given two different policies.
    func validateRoutes(source: String) throws {
        let modes = Self.tlsModes.joined(separator: ", ")
        for (domain, route) in routes.sorted(by: { $0.key < $1.key }) {
            guard !domain.isEmpty, !route.host.trimmingCharacters(in: .whitespaces).isEmpty else {
                throw ConfigError(
                    "\(source): relay.routes: \(domain.isEmpty ? "(empty domain)" : domain) needs a host, e.g. mx.example.net:25")
            }
            guard route.tls.isEmpty || Self.tlsModes.contains(route.tls) else {
                throw ConfigError("\(source): relay.routes: \(domain): tls must be one of \(modes), not \(route.tls)")
            }
        }
        var policies: [String: String] = [:]
        for (domain, policy) in tlsPolicy.sorted(by: { $0.key < $1.key }) {
            guard Self.tlsModes.contains(policy) else {
                throw ConfigError("\(source): relay.tls_policy: \(domain): must be one of \(modes), not \(policy)")
            }
            if let other = policies.updateValue(policy, forKey: domain.lowercased()), other != policy {
                throw ConfigError("\(source): relay.tls_policy: \(domain) is given twice, as \(other) and \(policy)")
            }
        }
        for (domain, route) in routes where !route.tls.isEmpty {
            if let policy = policies[domain.lowercased()], policy != route.tls {
                throw ConfigError(
                    "\(source): relay.routes: \(domain) has tls: \(route.tls) but relay.tls_policy gives it \(policy); say it once")
            }
        }
        guard smarthostTLS.isEmpty || Self.tlsModes.contains(smarthostTLS) else {
            throw ConfigError("\(source): relay.smarthost_tls must be one of \(modes), not \(smarthostTLS)")
        }
        guard smarthostTLS.isEmpty || !smarthost.isEmpty else {
            throw ConfigError("\(source): relay.smarthost_tls is set but relay.smarthost is not")
        }
    }
}

extension LoftConfig.RouteSetting: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case host, tls }
    /// The short form `"host:port"` or the long one `{host: "host:port", tls: required}`.
    public init(from decoder: any Decoder) throws {
        if let text = try? decoder.singleValueContainer().decode(String.self) {
            self.init(host: text)
            return
        }
        let o = try Overlay<CodingKeys>(decoder)
        self.init(host: try o.require(.host))
        try o.set(&tls, .tls)
    }
}

extension LoftConfig.RelaySection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case workers, heloName = "helo_name", port, nameservers, tls, caFile = "ca_file", smarthost, routes
        case smarthostUsername = "smarthost_username", smarthostPasswordFile = "smarthost_password_file"
        case smarthostTLS = "smarthost_tls", tlsPolicy = "tls_policy"
        case connectTimeoutSeconds = "connect_timeout_seconds", idlePollMs = "idle_poll_ms", leaseSeconds = "lease_seconds"
        case destinationConcurrency = "destination_concurrency"
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&workers, .workers)
        try o.set(&heloName, .heloName)
        try o.set(&port, .port)
        try o.set(&nameservers, .nameservers)
        try o.set(&tls, .tls)
        try o.set(&caFile, .caFile)
        try o.set(&smarthost, .smarthost)
        try o.set(&smarthostUsername, .smarthostUsername)
        try o.set(&smarthostPasswordFile, .smarthostPasswordFile)
        try o.set(&routes, .routes)
        try o.set(&smarthostTLS, .smarthostTLS)
        try o.set(&tlsPolicy, .tlsPolicy)
        try o.set(&connectTimeoutSeconds, .connectTimeoutSeconds)
        try o.set(&idlePollMs, .idlePollMs)
        try o.set(&leaseSeconds, .leaseSeconds)
        try o.set(&destinationConcurrency, .destinationConcurrency)
    }
}

extension LoftConfig.BackendSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case passwordHashCost = "password_hash_cost", workerThreads = "worker_threads", minPasswordLength = "min_password_length"
        case sessionLifetimeSeconds = "session_lifetime_seconds", maxMessageBytes = "max_message_size"
        case maxRecipientsPerMessage = "max_recipients_per_message", loginFreeAttempts = "login_free_attempts"
        case loginMaxDelaySeconds = "login_max_delay_seconds"
        case inlineBodyMaxBytes = "inline_body_max", minFreeBytes = "min_free_space"
        case defaultMailboxes = "default_mailboxes", srs
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&passwordHashCost, .passwordHashCost)
        try o.set(&minPasswordLength, .minPasswordLength)
        try o.set(&workerThreads, .workerThreads)
        try o.set(&sessionLifetimeSeconds, .sessionLifetimeSeconds)
        try o.size(&maxMessageBytes, .maxMessageBytes)
        try o.set(&maxRecipientsPerMessage, .maxRecipientsPerMessage)
        try o.set(&loginFreeAttempts, .loginFreeAttempts)
        try o.set(&loginMaxDelaySeconds, .loginMaxDelaySeconds)
        try o.size(&inlineBodyMaxBytes, .inlineBodyMaxBytes)
        try o.size(&minFreeBytes, .minFreeBytes)
        try o.set(&defaultMailboxes, .defaultMailboxes)
        try o.set(&srs, .srs)
    }
}

extension LoftConfig.ServeSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case gateways, restartMaxDelaySeconds = "restart_max_delay_seconds"
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&gateways, .gateways)
        try o.set(&restartMaxDelaySeconds, .restartMaxDelaySeconds)
    }
}

extension LoftConfig.TLSSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case certificate, key, hostname }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&certificate, .certificate)
        try o.set(&key, .key)
        try o.set(&hostname, .hostname)
    }
}

extension LoftConfig.POP3Section: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case listeners, idleTimeoutSeconds = "idle_timeout_seconds", allowPlaintextWithoutTLS = "allow_plaintext_without_tls"
        case commandTimeoutSeconds = "command_timeout_seconds", loginTimeoutSeconds = "login_timeout_seconds"
        case allowPlaintextOnLoopback = "allow_plaintext_on_loopback", lockLeaseSeconds = "lock_lease_seconds"
        case offerCRAMMD5 = "offer_cram_md5"
        case maxConnectionsPerAddress = "max_connections_per_address", maxConnections = "max_connections"
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&listeners, .listeners)
        try o.set(&idleTimeoutSeconds, .idleTimeoutSeconds)
        try o.set(&commandTimeoutSeconds, .commandTimeoutSeconds)
        try o.set(&loginTimeoutSeconds, .loginTimeoutSeconds)
        try o.set(&allowPlaintextWithoutTLS, .allowPlaintextWithoutTLS)
        try o.set(&allowPlaintextOnLoopback, .allowPlaintextOnLoopback)
        try o.set(&offerCRAMMD5, .offerCRAMMD5)
        try o.set(&lockLeaseSeconds, .lockLeaseSeconds)
        try o.set(&maxConnectionsPerAddress, .maxConnectionsPerAddress)
        try o.set(&maxConnections, .maxConnections)
    }
}

extension LoftConfig.IMAPSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case listeners, idleTimeoutSeconds = "idle_timeout_seconds", allowPlaintextWithoutTLS = "allow_plaintext_without_tls"
        case commandTimeoutSeconds = "command_timeout_seconds", loginTimeoutSeconds = "login_timeout_seconds"
        case allowPlaintextOnLoopback = "allow_plaintext_on_loopback", offerCRAMMD5 = "offer_cram_md5"
        case maxConnectionsPerAddress = "max_connections_per_address", maxConnections = "max_connections"
        case literalMinus = "literal_minus"
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&listeners, .listeners)
        try o.set(&idleTimeoutSeconds, .idleTimeoutSeconds)
        try o.set(&commandTimeoutSeconds, .commandTimeoutSeconds)
        try o.set(&loginTimeoutSeconds, .loginTimeoutSeconds)
        try o.set(&allowPlaintextWithoutTLS, .allowPlaintextWithoutTLS)
        try o.set(&allowPlaintextOnLoopback, .allowPlaintextOnLoopback)
        try o.set(&offerCRAMMD5, .offerCRAMMD5)
        try o.set(&maxConnectionsPerAddress, .maxConnectionsPerAddress)
        try o.set(&maxConnections, .maxConnections)
        try o.set(&literalMinus, .literalMinus)
    }
}

extension LoftConfig.LDAPSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case listeners, baseDN = "base_dn", idleTimeoutSeconds = "idle_timeout_seconds"
        case commandTimeoutSeconds = "command_timeout_seconds", allowPlaintextWithoutTLS = "allow_plaintext_without_tls"
        case allowPlaintextOnLoopback = "allow_plaintext_on_loopback", anonymousNetworks = "anonymous_networks"
        case requireBind = "require_bind", anonymousAttributes = "anonymous_attributes"
        case anonymousMinimumPrefix = "anonymous_minimum_prefix", anonymousSizeLimit = "anonymous_size_limit"
        case anonymousSearchesPerMinute = "anonymous_searches_per_minute", sizeLimit = "size_limit"
        case timeLimitSeconds = "time_limit_seconds"
        case maxConnectionsPerAddress = "max_connections_per_address", maxConnections = "max_connections"
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&listeners, .listeners)
        try o.set(&baseDN, .baseDN)
        try o.set(&idleTimeoutSeconds, .idleTimeoutSeconds)
        try o.set(&commandTimeoutSeconds, .commandTimeoutSeconds)
        try o.set(&allowPlaintextWithoutTLS, .allowPlaintextWithoutTLS)
        try o.set(&allowPlaintextOnLoopback, .allowPlaintextOnLoopback)
        try o.set(&anonymousNetworks, .anonymousNetworks)
        try o.set(&requireBind, .requireBind)
        try o.set(&anonymousAttributes, .anonymousAttributes)
        try o.set(&anonymousMinimumPrefix, .anonymousMinimumPrefix)
        try o.set(&anonymousSizeLimit, .anonymousSizeLimit)
        try o.set(&anonymousSearchesPerMinute, .anonymousSearchesPerMinute)
        try o.set(&sizeLimit, .sizeLimit)
        try o.set(&timeLimitSeconds, .timeLimitSeconds)
        try o.set(&maxConnectionsPerAddress, .maxConnectionsPerAddress)
        try o.set(&maxConnections, .maxConnections)
    }
}

extension LoftConfig.MetricsSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case address, ports }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&address, .address)
        // Ports named merge over the defaults: `ports: {smtp: 9292}` moves one.
        var named: [String: Int] = [:]
        try o.set(&named, .ports)
        ports.merge(named) { $1 }
    }
}

extension LoftConfig.SMTPSection: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable {
        case listeners, hostname, idleTimeoutSeconds = "idle_timeout_seconds", maxMessageBytes = "max_message_size"
        case commandTimeoutSeconds = "command_timeout_seconds", loginTimeoutSeconds = "login_timeout_seconds"
        case maxRecipientsPerMessage = "max_recipients_per_message", maxRecipientsPerConnection = "max_recipients_per_connection"
        case maxErrors = "max_errors", maxConnectionsPerAddress = "max_connections_per_address", maxConnections = "max_connections"
        case trustedNetworks = "trusted_networks", allowPlaintextWithoutTLS = "allow_plaintext_without_tls"
        case allowPlaintextOnLoopback = "allow_plaintext_on_loopback", authOnMX = "auth_on_mx"
        case offerCRAMMD5 = "offer_cram_md5", postmaster, receivedAuthenticatedSender = "received_authenticated_sender"
        case mxGreetingDelayMs = "mx_greeting_delay_ms"
    }
    public init(from decoder: any Decoder) throws {
        self.init()
        let o = try Overlay<CodingKeys>(decoder)
        try o.set(&listeners, .listeners)
        try o.set(&hostname, .hostname)
        try o.set(&idleTimeoutSeconds, .idleTimeoutSeconds)
        try o.set(&commandTimeoutSeconds, .commandTimeoutSeconds)
        try o.set(&loginTimeoutSeconds, .loginTimeoutSeconds)
        try o.size(&maxMessageBytes, .maxMessageBytes)
        try o.set(&maxRecipientsPerMessage, .maxRecipientsPerMessage)
        try o.set(&maxRecipientsPerConnection, .maxRecipientsPerConnection)
        try o.set(&maxErrors, .maxErrors)
        try o.set(&maxConnectionsPerAddress, .maxConnectionsPerAddress)
        try o.set(&maxConnections, .maxConnections)
        try o.set(&trustedNetworks, .trustedNetworks)
        try o.set(&allowPlaintextWithoutTLS, .allowPlaintextWithoutTLS)
        try o.set(&allowPlaintextOnLoopback, .allowPlaintextOnLoopback)
        try o.set(&offerCRAMMD5, .offerCRAMMD5)
        try o.set(&authOnMX, .authOnMX)
        try o.set(&postmaster, .postmaster)
        try o.set(&receivedAuthenticatedSender, .receivedAuthenticatedSender)
        try o.set(&mxGreetingDelayMs, .mxGreetingDelayMs)
    }
}

extension LoftConfig.ListenerSetting: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case address, port, tls }
    public init(from decoder: any Decoder) throws {
        let o = try Overlay<CodingKeys>(decoder)
        self.init(address: "0.0.0.0", port: try o.require(.port), tls: "none")
        try o.set(&address, .address)
        try o.set(&tls, .tls)
    }
}

extension LoftConfig.SMTPListenerSetting: Decodable {
    enum CodingKeys: String, CodingKey, CaseIterable { case address, port, tls, mode }
    public init(from decoder: any Decoder) throws {
        let o = try Overlay<CodingKeys>(decoder)
        self.init(address: "0.0.0.0", port: try o.require(.port), tls: "none", mode: try o.require(.mode))
        try o.set(&address, .address)
        try o.set(&tls, .tls)
    }
}

/// Reads one section of the file over its defaults (see above).
struct Overlay<Key: CodingKey & CaseIterable> {
    let container: KeyedDecodingContainer<Key>

    init(_ decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(Key.allCases.map(\.stringValue))
        for key in all.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: decoder.codingPath + [key],
                    debugDescription: "unknown setting (known: \(known.sorted().joined(separator: ", ")))"))
        }
        container = try decoder.container(keyedBy: Key.self)
    }

    func set<T: Decodable>(_ value: inout T, _ key: Key) throws {
        if let v = try container.decodeIfPresent(T.self, forKey: key) { value = v }
    }

    func require<T: Decodable>(_ key: Key) throws -> T {
        try container.decode(T.self, forKey: key)
    }

    /// A duration as people write it: `5m`, `2h`, `5d`, `30` (seconds).
    func span(_ text: String, _ key: Key) throws -> Int64 {
        guard let n = TimeSpan.parse(text) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: container, debugDescription: "\(text) is not a duration like 5m, 2h or 5d")
        }
        return n
    }

    /// A size as people write it: `25M`, `1G`, `1024`.
    func size(_ value: inout Int64, _ key: Key) throws {
        var optional: Int64? = value
        try size(&optional, key)
        if let optional { value = optional }
    }

    func size(_ value: inout Int64?, _ key: Key) throws {
        guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return }
        guard let n = ByteSize.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "\(text) is not a size like 25M")
        }
        value = n
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
