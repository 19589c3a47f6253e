/// LoftConfig: the one configuration file (YAML), with environment-variable and command-line
/// overrides on top. Every setting is documented in deploy/loft.yaml. Imports MailCore and Yams.
import Foundation
import MailCore
import Yams

/// The whole configuration. Keys in the file are snake_case; every one is optional and falls
/// back to the default shown in deploy/loft.yaml.
public struct LoftConfig: Sendable, Equatable {
    public var dataDirectory: String = "./loft-data"
    public var logLevel: String = "info"
    public var backend = BackendSection()
    public var serve = ServeSection()
    public var tls = TLSSection()
    public var pop3 = POP3Section()
    public var smtp = SMTPSection()

    public struct BackendSection: Sendable, Equatable {
        public var passwordHashCost = 15
        public var workerThreads = 8
        public var sessionLifetimeSeconds: Int64 = 86_400
        public var maxMessageBytes: Int64 = 50 << 20
        public var maxRecipientsPerMessage = 1000
        public var loginFreeAttempts = 3
        public var loginMaxDelaySeconds = 300
    }

    public struct ServeSection: Sendable, Equatable {
        /// Gateways `loft serve` starts besides the back-end.
        public var gateways: [String] = ["pop3", "smtp"]
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
        public var allowPlaintextWithoutTLS = false
        public var allowPlaintextOnLoopback = true
        public var lockLeaseSeconds = 30
        public var maxConnectionsPerAddress = 20
        public var maxConnections = 1000
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
        public var maxMessageBytes: Int64 = 50 << 20
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
        public var authOnMX = false
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
        let file: File
        do {
            file = try YAMLDecoder().decode(File.self, from: text.isEmpty ? "{}" : text)
        } catch let error as DecodingError {
            throw ConfigError("\(source): \(describe(error))")
        } catch {
            throw ConfigError("\(source): \(error)")
        }
        var c = LoftConfig()
        if let v = file.data_dir { c.dataDirectory = v }
        if let v = file.log_level { c.logLevel = v }
        if let b = file.backend {
            if let v = b.password_hash_cost { c.backend.passwordHashCost = v }
            if let v = b.worker_threads { c.backend.workerThreads = v }
            if let v = b.session_lifetime_seconds { c.backend.sessionLifetimeSeconds = v }
            if let v = b.max_message_size { c.backend.maxMessageBytes = try size(v, key: "backend.max_message_size", source: source) }
            if let v = b.max_recipients_per_message { c.backend.maxRecipientsPerMessage = v }
            if let v = b.login_free_attempts { c.backend.loginFreeAttempts = v }
            if let v = b.login_max_delay_seconds { c.backend.loginMaxDelaySeconds = v }
        }
        if let s = file.serve {
            if let v = s.gateways { c.serve.gateways = v }
            if let v = s.restart_max_delay_seconds { c.serve.restartMaxDelaySeconds = v }
        }
        if let t = file.tls {
            if let v = t.certificate { c.tls.certificate = v }
            if let v = t.key { c.tls.key = v }
            if let v = t.hostname { c.tls.hostname = v }
        }
        if let p = file.pop3 {
            if let v = p.listeners {
                c.pop3.listeners = v.map { ListenerSetting(address: $0.address ?? "0.0.0.0", port: $0.port, tls: $0.tls ?? "none") }
            }
            if let v = p.idle_timeout_seconds { c.pop3.idleTimeoutSeconds = v }
            if let v = p.allow_plaintext_without_tls { c.pop3.allowPlaintextWithoutTLS = v }
            if let v = p.allow_plaintext_on_loopback { c.pop3.allowPlaintextOnLoopback = v }
            if let v = p.lock_lease_seconds { c.pop3.lockLeaseSeconds = v }
            if let v = p.max_connections_per_address { c.pop3.maxConnectionsPerAddress = v }
            if let v = p.max_connections { c.pop3.maxConnections = v }
        }
        if let m = file.smtp {
            if let v = m.listeners {
                c.smtp.listeners = v.map {
                    SMTPListenerSetting(address: $0.address ?? "0.0.0.0", port: $0.port, tls: $0.tls ?? "none", mode: $0.mode)
                }
            }
            if let v = m.hostname { c.smtp.hostname = v }
            if let v = m.idle_timeout_seconds { c.smtp.idleTimeoutSeconds = v }
            if let v = m.max_message_size { c.smtp.maxMessageBytes = try size(v, key: "smtp.max_message_size", source: source) }
            if let v = m.max_recipients_per_message { c.smtp.maxRecipientsPerMessage = v }
            if let v = m.max_recipients_per_connection { c.smtp.maxRecipientsPerConnection = v }
            if let v = m.max_errors { c.smtp.maxErrors = v }
            if let v = m.max_connections_per_address { c.smtp.maxConnectionsPerAddress = v }
            if let v = m.max_connections { c.smtp.maxConnections = v }
            if let v = m.trusted_networks { c.smtp.trustedNetworks = v }
            if let v = m.allow_plaintext_without_tls { c.smtp.allowPlaintextWithoutTLS = v }
            if let v = m.allow_plaintext_on_loopback { c.smtp.allowPlaintextOnLoopback = v }
            if let v = m.auth_on_mx { c.smtp.authOnMX = v }
        }
        try c.validate(source: source)
        return c
    }

    mutating func applyEnvironment(_ env: [String: String]) throws {
        if let v = env["LOFT_DATA"], !v.isEmpty { dataDirectory = v }
        if let v = env["LOFT_LOG_LEVEL"], !v.isEmpty { logLevel = v }
        if let v = env["LOFT_PASSWORD_HASH_COST"], !v.isEmpty {
            guard let n = Int(v) else { throw ConfigError("LOFT_PASSWORD_HASH_COST must be a number") }
            backend.passwordHashCost = n
        }
        if let v = env["LOFT_MAX_MESSAGE_SIZE"], !v.isEmpty {
            backend.maxMessageBytes = try Self.size(v, key: "LOFT_MAX_MESSAGE_SIZE", source: "environment")
        }
        if let v = env["LOFT_POP3_LISTENERS"], !v.isEmpty {
            pop3.listeners = try ListenerSetting.parseList(v, key: "LOFT_POP3_LISTENERS")
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
        guard (1...256).contains(backend.workerThreads) else { throw ConfigError("\(source): backend.worker_threads must be 1…256") }
        guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) else {
            throw ConfigError("\(source): log_level must be one of trace, debug, info, notice, warning, error, critical")
        }
        guard backend.maxMessageBytes >= 1024 else { throw ConfigError("\(source): backend.max_message_size must be at least 1K") }
        for g in serve.gateways where !Self.knownGateways.contains(g) {
            throw ConfigError("\(source): serve.gateways: unknown gateway \(g); known: \(Self.knownGateways.joined(separator: ", "))")
        }
        for l in pop3.listeners {
            guard ListenerSetting.tlsModes.contains(l.tls) else {
                throw ConfigError("\(source): pop3.listeners: tls must be none, stls or implicit, not \(l.tls)")
            }
            guard (0...65535).contains(l.port) else { throw ConfigError("\(source): pop3.listeners: port \(l.port) is not 0…65535") }
        }
        guard pop3.idleTimeoutSeconds >= 600 else {
            throw ConfigError("\(source): pop3.idle_timeout_seconds must be at least 600 (RFC 1939 §3)")
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
        guard smtp.maxMessageBytes >= 1024 else { throw ConfigError("\(source): smtp.max_message_size must be at least 1K") }
        for network in smtp.trustedNetworks where !Self.isNetwork(network) {
            throw ConfigError("\(source): smtp.trusted_networks: \(network) is not an address or CIDR network like 192.0.2.0/24")
        }
        guard (1...30).contains(pop3.lockLeaseSeconds) else { throw ConfigError("\(source): pop3.lock_lease_seconds must be 1…30") }
        guard pop3.maxConnectionsPerAddress >= 1, pop3.maxConnections >= 1 else {
            throw ConfigError("\(source): pop3.max_connections and max_connections_per_address must be at least 1")
        }
    }

    /// Gateways this build can start. Each protocol issue adds its own.
    public static let knownGateways: [String] = ["pop3", "smtp"]

    /// `address[/prefix]` with an IPv4 or IPv6 address (checked fully by the SMTP gateway).
    static func isNetwork(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty,
            first.allSatisfy({ $0.isHexDigit || $0 == "." || $0 == ":" })
        else { return false }
        return parts.count == 1 || (Int(parts[1]).map { (0...128).contains($0) } ?? false)
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

    /// The file's shape. Unknown keys are refused so a typo never silently does nothing.
    struct File: Decodable {
        var data_dir: String?
        var log_level: String?
        var backend: Backend?
        var serve: Serve?
        var tls: TLS?
        var pop3: POP3?
        var smtp: SMTP?

        struct SMTP: Decodable {
            var listeners: [SMTPListener]?
            var hostname: String?
            var idle_timeout_seconds: Int?
            var max_message_size: String?
            var max_recipients_per_message: Int?
            var max_recipients_per_connection: Int?
            var max_errors: Int?
            var max_connections_per_address: Int?
            var max_connections: Int?
            var trusted_networks: [String]?
            var allow_plaintext_without_tls: Bool?
            var allow_plaintext_on_loopback: Bool?
            var auth_on_mx: Bool?
            init(from decoder: any Decoder) throws {
                try File.refuseUnknown(decoder, CodingKeys.self)
                let c = try decoder.container(keyedBy: CodingKeys.self)
                listeners = try c.decodeIfPresent([SMTPListener].self, forKey: .listeners)
                hostname = try c.decodeIfPresent(String.self, forKey: .hostname)
                idle_timeout_seconds = try c.decodeIfPresent(Int.self, forKey: .idle_timeout_seconds)
                max_message_size = try c.decodeIfPresent(String.self, forKey: .max_message_size)
                max_recipients_per_message = try c.decodeIfPresent(Int.self, forKey: .max_recipients_per_message)
                max_recipients_per_connection = try c.decodeIfPresent(Int.self, forKey: .max_recipients_per_connection)
                max_errors = try c.decodeIfPresent(Int.self, forKey: .max_errors)
                max_connections_per_address = try c.decodeIfPresent(Int.self, forKey: .max_connections_per_address)
                max_connections = try c.decodeIfPresent(Int.self, forKey: .max_connections)
                trusted_networks = try c.decodeIfPresent([String].self, forKey: .trusted_networks)
                allow_plaintext_without_tls = try c.decodeIfPresent(Bool.self, forKey: .allow_plaintext_without_tls)
                allow_plaintext_on_loopback = try c.decodeIfPresent(Bool.self, forKey: .allow_plaintext_on_loopback)
                auth_on_mx = try c.decodeIfPresent(Bool.self, forKey: .auth_on_mx)
            }
            enum CodingKeys: String, CodingKey, CaseIterable {
                case listeners, hostname, idle_timeout_seconds, max_message_size, max_recipients_per_message
                case max_recipients_per_connection, max_errors, max_connections_per_address, max_connections
                case trusted_networks, allow_plaintext_without_tls, allow_plaintext_on_loopback, auth_on_mx
            }
        }
        struct SMTPListener: Decodable {
            var address: String?
            var port: Int
            var tls: String?
            var mode: String
            init(from decoder: any Decoder) throws {
                try File.refuseUnknown(decoder, CodingKeys.self)
                let c = try decoder.container(keyedBy: CodingKeys.self)
                address = try c.decodeIfPresent(String.self, forKey: .address)
                port = try c.decode(Int.self, forKey: .port)
                tls = try c.decodeIfPresent(String.self, forKey: .tls)
                mode = try c.decode(String.self, forKey: .mode)
            }
            enum CodingKeys: String, CodingKey, CaseIterable { case address, port, tls, mode }
        }

        struct POP3: Decodable {
            var listeners: [Listener]?
            var idle_timeout_seconds: Int?
            var allow_plaintext_without_tls: Bool?
            var allow_plaintext_on_loopback: Bool?
            var lock_lease_seconds: Int?
            var max_connections_per_address: Int?
            var max_connections: Int?
            init(from decoder: any Decoder) throws {
                try File.refuseUnknown(decoder, CodingKeys.self)
                let c = try decoder.container(keyedBy: CodingKeys.self)
                listeners = try c.decodeIfPresent([Listener].self, forKey: .listeners)
                idle_timeout_seconds = try c.decodeIfPresent(Int.self, forKey: .idle_timeout_seconds)
                allow_plaintext_without_tls = try c.decodeIfPresent(Bool.self, forKey: .allow_plaintext_without_tls)
                allow_plaintext_on_loopback = try c.decodeIfPresent(Bool.self, forKey: .allow_plaintext_on_loopback)
                lock_lease_seconds = try c.decodeIfPresent(Int.self, forKey: .lock_lease_seconds)
                max_connections_per_address = try c.decodeIfPresent(Int.self, forKey: .max_connections_per_address)
                max_connections = try c.decodeIfPresent(Int.self, forKey: .max_connections)
            }
            enum CodingKeys: String, CodingKey, CaseIterable {
                case listeners, idle_timeout_seconds, allow_plaintext_without_tls, allow_plaintext_on_loopback
                case lock_lease_seconds, max_connections_per_address, max_connections
            }
        }
        struct Listener: Decodable {
            var address: String?
            var port: Int
            var tls: String?
            init(from decoder: any Decoder) throws {
                try File.refuseUnknown(decoder, CodingKeys.self)
                let c = try decoder.container(keyedBy: CodingKeys.self)
                address = try c.decodeIfPresent(String.self, forKey: .address)
                port = try c.decode(Int.self, forKey: .port)
                tls = try c.decodeIfPresent(String.self, forKey: .tls)
            }
            enum CodingKeys: String, CodingKey, CaseIterable { case address, port, tls }
        }

        struct Backend: Decodable {
            var password_hash_cost: Int?
            var worker_threads: Int?
            var session_lifetime_seconds: Int64?
            var max_message_size: String?
            var max_recipients_per_message: Int?
            var login_free_attempts: Int?
            var login_max_delay_seconds: Int?
            init(from decoder: any Decoder) throws {
                try File.refuseUnknown(decoder, CodingKeys.self)
                let c = try decoder.container(keyedBy: CodingKeys.self)
                password_hash_cost = try c.decodeIfPresent(Int.self, forKey: .password_hash_cost)
                worker_threads = try c.decodeIfPresent(Int.self, forKey: .worker_threads)
                session_lifetime_seconds = try c.decodeIfPresent(Int64.self, forKey: .session_lifetime_seconds)
                max_message_size = try c.decodeIfPresent(String.self, forKey: .max_message_size)
                max_recipients_per_message = try c.decodeIfPresent(Int.self, forKey: .max_recipients_per_message)
                login_free_attempts = try c.decodeIfPresent(Int.self, forKey: .login_free_attempts)
                login_max_delay_seconds = try c.decodeIfPresent(Int.self, forKey: .login_max_delay_seconds)
            }
            enum CodingKeys: String, CodingKey, CaseIterable {
                case password_hash_cost, worker_threads, session_lifetime_seconds, max_message_size, max_recipients_per_message
                case login_free_attempts, login_max_delay_seconds
            }
        }
        struct Serve: Decodable {
            var gateways: [String]?
            var restart_max_delay_seconds: Int?
            init(from decoder: any Decoder) throws {
                try File.refuseUnknown(decoder, CodingKeys.self)
                let c = try decoder.container(keyedBy: CodingKeys.self)
                gateways = try c.decodeIfPresent([String].self, forKey: .gateways)
                restart_max_delay_seconds = try c.decodeIfPresent(Int.self, forKey: .restart_max_delay_seconds)
            }
            enum CodingKeys: String, CodingKey, CaseIterable { case gateways, restart_max_delay_seconds }
        }
        struct TLS: Decodable {
            var certificate: String?
            var key: String?
            var hostname: String?
            init(from decoder: any Decoder) throws {
                try File.refuseUnknown(decoder, CodingKeys.self)
                let c = try decoder.container(keyedBy: CodingKeys.self)
                certificate = try c.decodeIfPresent(String.self, forKey: .certificate)
                key = try c.decodeIfPresent(String.self, forKey: .key)
                hostname = try c.decodeIfPresent(String.self, forKey: .hostname)
            }
            enum CodingKeys: String, CodingKey, CaseIterable { case certificate, key, hostname }
        }

        init(from decoder: any Decoder) throws {
            try Self.refuseUnknown(decoder, CodingKeys.self)
            let c = try decoder.container(keyedBy: CodingKeys.self)
            data_dir = try c.decodeIfPresent(String.self, forKey: .data_dir)
            log_level = try c.decodeIfPresent(String.self, forKey: .log_level)
            backend = try c.decodeIfPresent(Backend.self, forKey: .backend)
            serve = try c.decodeIfPresent(Serve.self, forKey: .serve)
            tls = try c.decodeIfPresent(TLS.self, forKey: .tls)
            pop3 = try c.decodeIfPresent(POP3.self, forKey: .pop3)
            smtp = try c.decodeIfPresent(SMTP.self, forKey: .smtp)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case data_dir, log_level, backend, serve, tls, pop3, smtp }

        struct AnyKey: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        static func refuseUnknown<K: CodingKey & CaseIterable>(_ decoder: any Decoder, _ keys: K.Type) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            let known = Set(K.allCases.map(\.stringValue))
            for key in c.allKeys where !known.contains(key.stringValue) {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: decoder.codingPath + [key],
                        debugDescription: "unknown setting (known: \(known.sorted().joined(separator: ", ")))"))
            }
        }
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
