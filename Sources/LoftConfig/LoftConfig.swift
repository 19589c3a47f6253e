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
        public var gateways: [String] = []
        public var restartMaxDelaySeconds = 30
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
    }

    /// Gateways this build can start. Each protocol issue adds its own.
    public static let knownGateways: [String] = []

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
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case data_dir, log_level, backend, serve, tls }

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
