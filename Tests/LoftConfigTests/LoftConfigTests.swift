import Foundation
import Testing

@testable import LoftConfig

@Suite struct LoftConfigTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The documented example is the defaults, written out: if the code's defaults change, the
    /// document must change with them.
    @Test func documentedExampleIsTheDefaults() throws {
        let text = try String(contentsOf: Self.repo.appendingPathComponent("deploy/loft.yaml"), encoding: .utf8)
        #expect(try LoftConfig.parse(text) == LoftConfig())
    }

    @Test func emptyFileIsDefaults() throws {
        #expect(try LoftConfig.parse("") == LoftConfig())
    }

    @Test func valuesAndOverrides() throws {
        let c = try LoftConfig.parse("data_dir: /srv/mail\nbackend:\n  max_message_size: 25M\n  password_hash_cost: 12\n")
        #expect(c.dataDirectory == "/srv/mail" && c.backend.maxMessageBytes == 25 << 20 && c.backend.passwordHashCost == 12)
        var d = c
        try d.applyEnvironment(["LOFT_DATA": "/tmp/x", "LOFT_PASSWORD_HASH_COST": "4", "LOFT_MAX_MESSAGE_SIZE": "1M"])
        #expect(d.dataDirectory == "/tmp/x" && d.backend.passwordHashCost == 4 && d.backend.maxMessageBytes == 1 << 20)
    }

    /// Issue 14: the smallest password (default 8) and the SMTP gateway's optional lower size limit.
    @Test func passwordLengthAndSMTPSizeCap() throws {
        #expect(LoftConfig().backend.minPasswordLength == 8 && LoftConfig().smtp.maxMessageBytes == nil)
        let c = try LoftConfig.parse("backend:\n  min_password_length: 12\nsmtp:\n  max_message_size: 10M\n")
        #expect(c.backend.minPasswordLength == 12 && c.smtp.maxMessageBytes == 10 << 20)
        var d = c
        try d.applyEnvironment(["LOFT_MIN_PASSWORD_LENGTH": "1"])
        #expect(d.backend.minPasswordLength == 1)
        for bad in ["backend:\n  min_password_length: 0\n", "backend:\n  min_password_length: 257\n", "smtp:\n  max_message_size: 1000\n"] {
            #expect(throws: ConfigError.self, "\(bad)") { try LoftConfig.parse(bad) }
        }
    }

    /// `metrics`: loopback, one port per process; `ports` merges over the defaults; an empty
    /// address (or LOFT_METRICS_ADDRESS=off) turns them off; an unknown process is refused.
    @Test func metrics() throws {
        #expect(LoftConfig().metrics.port(for: "backend") == 9191 && LoftConfig().metrics.address == "127.0.0.1")
        var c = try LoftConfig.parse("metrics:\n  ports: {smtp: 19192}\n")
        #expect(c.metrics.port(for: "smtp") == 19192 && c.metrics.port(for: "imap") == 9194)
        try c.applyEnvironment(["LOFT_METRICS_PORTS": "imap=1,relay=2"])
        #expect(c.metrics.port(for: "imap") == 1 && c.metrics.port(for: "relay") == 2)
        try c.applyEnvironment(["LOFT_METRICS_ADDRESS": "off"])
        #expect(c.metrics.port(for: "imap") == nil)
        #expect(try LoftConfig.parse("metrics:\n  address: \"\"\n").metrics.port(for: "serve") == nil)
        for bad in ["metrics:\n  ports: {webmail: 1}\n", "metrics:\n  ports: {smtp: 70000}\n", "metrics:\n  port: 1\n"] {
            #expect(throws: (any Error).self, "\(bad)") { try LoftConfig.parse(bad) }
        }
        #expect(throws: ConfigError.self) { try c.applyEnvironment(["LOFT_METRICS_PORTS": "smtp"]) }
    }

    /// `socket_dir`: the data directory unless set (file or LOFT_SOCKET_DIR).
    @Test func socketDirectory() throws {
        #expect(LoftConfig().sockets == "./loft-data")
        var c = try LoftConfig.parse("data_dir: /var/lib/loft\nsocket_dir: /run/loft\n")
        #expect(c.sockets == "/run/loft" && c.dataDirectory == "/var/lib/loft")
        try c.applyEnvironment(["LOFT_SOCKET_DIR": "/tmp/run"])
        #expect(c.sockets == "/tmp/run")
    }

    @Test func logFormat() throws {
        #expect(LoftConfig().logFormat == "logfmt")
        var c = try LoftConfig.parse("log_format: json\n")
        #expect(c.logFormat == "json")
        try c.applyEnvironment(["LOFT_LOG_FORMAT": "text"])
        #expect(c.logFormat == "text")
        #expect(throws: ConfigError.self) { try LoftConfig.parse("log_format: xml\n") }
    }

    /// `smtp.mx_greeting_delay_ms`: 1 s by default, 0 turns it off, at most 10 s, also from the
    /// environment.
    @Test func mxGreetingDelay() throws {
        #expect(LoftConfig().smtp.mxGreetingDelayMs == 1000)
        var c = try LoftConfig.parse("smtp:\n  mx_greeting_delay_ms: 0\n")
        #expect(c.smtp.mxGreetingDelayMs == 0)
        #expect(try LoftConfig.parse("smtp:\n  mx_greeting_delay_ms: 10000\n").smtp.mxGreetingDelayMs == 10000)
        try c.applyEnvironment(["LOFT_SMTP_MX_GREETING_DELAY_MS": "2000"])
        #expect(c.smtp.mxGreetingDelayMs == 2000)
        for bad in ["smtp:\n  mx_greeting_delay_ms: -1\n", "smtp:\n  mx_greeting_delay_ms: 10001\n"] {
            #expect(throws: ConfigError.self, "\(bad)") { try LoftConfig.parse(bad) }
        }
        #expect(throws: ConfigError.self) { try c.applyEnvironment(["LOFT_SMTP_MX_GREETING_DELAY_MS": "soon"]) }
    }

    /// `backend.default_mailboxes`: names an administrator chooses (translated ones), the
    /// special use with or without its backslash; an unknown use, INBOX, a bad or repeated
    /// name is refused with the key in the message; an empty list means none.
    @Test func defaultMailboxes() throws {
        let c = try LoftConfig.parse(
            "backend:\n  default_mailboxes:\n    - {name: Gesendet, special_use: Sent}\n    - {name: Papierkorb, special_use: \"\\\\trash\"}\n"
        )
        #expect(c.backend.defaultMailboxes.map(\.name) == ["Gesendet", "Papierkorb"])
        #expect(c.backend.defaultMailboxes.map(\.attribute) == ["\\Sent", "\\Trash"])
        #expect(try LoftConfig.parse("backend:\n  default_mailboxes: []\n").backend.defaultMailboxes.isEmpty)
        for bad in [
            "- {name: Alles, special_use: All}", "- {name: INBOX, special_use: Sent}", "- {name: \"a//b\", special_use: Sent}",
            "- {name: Sent, special_use: Sent}\n    - {name: Sent, special_use: Drafts}",
        ] {
            #expect(throws: ConfigError.self, "\(bad)") { try LoftConfig.parse("backend:\n  default_mailboxes:\n    \(bad)\n") }
        }
    }

    @Test func listenersTakeDefaultsForWhatTheyOmit() throws {
        let c = try LoftConfig.parse(
            "pop3:\n  listeners:\n    - {port: 1110}\nsmtp:\n  listeners:\n    - {port: 25, mode: mx, tls: starttls}\n")
        #expect(c.pop3.listeners == [LoftConfig.ListenerSetting(address: "0.0.0.0", port: 1110, tls: "none")])
        #expect(c.smtp.listeners == [LoftConfig.SMTPListenerSetting(address: "0.0.0.0", port: 25, tls: "starttls", mode: "mx")])
        #expect(c.pop3.idleTimeoutSeconds == LoftConfig.POP3Section().idleTimeoutSeconds)
    }

    @Test(arguments: [
        ("", LoftConfig.CRAMMD5Offer.auto), ("auto", .auto), ("true", .yes), ("false", .no), ("\"true\"", .yes),
        ("AUTO", .auto),
    ])
    func offerCRAMMD5TakesAutoOrABoolean(value: String, expected: LoftConfig.CRAMMD5Offer) throws {
        let text = value.isEmpty ? "" : "pop3:\n  offer_cram_md5: \(value)\nsmtp:\n  offer_cram_md5: \(value)\n"
        let c = try LoftConfig.parse(text)
        #expect(c.pop3.offerCRAMMD5 == expected && c.smtp.offerCRAMMD5 == expected)
    }

    @Test func relayDestinationConcurrency() throws {
        #expect(try LoftConfig.parse("").relay.destinationConcurrency == 20)
        #expect(try LoftConfig.parse("relay:\n  destination_concurrency: 1").relay.destinationConcurrency == 1)
        #expect(try LoftConfig.parse("relay:\n  destination_concurrency: 1000").relay.destinationConcurrency == 1000)
    }

    @Test func cramMD5RefreshFromTheEnvironment() throws {
        var c = LoftConfig()
        #expect(c.cramMD5RefreshMs == 10_000)
        try c.applyEnvironment(["LOFT_CRAM_MD5_REFRESH_MS": "100"])
        #expect(c.cramMD5RefreshMs == 100)
        #expect(throws: ConfigError.self) { try c.applyEnvironment(["LOFT_CRAM_MD5_REFRESH_MS": "0"]) }
    }

    @Test(arguments: [
        "pop3:\n  offer_cram_md5: sometimes", "smtp:\n  offer_cram_md5: 3",
        "data_dir: [1, 2]", "backend:\n  max_message_size: huge", "backend:\n  password_hash_cost: 40", "typo_key: 1",
        "backend:\n  max_mesage_size: 1M", "log_level: loud", "serve:\n  gateways: [nosuch]", "{{{",
        "pop3:\n  listeners:\n    - {port: 1, bogus: 2}", "smtp:\n  listeners:\n    - {port: 25}", "smtp:\n  max_message_size: lots",
        "pop3:\n  listeners:\n    - {port: 1, tls: maybe}", "smtp:\n  trusted_networks: [example.org]",
        "relay:\n  destination_concurrency: 0", "relay:\n  destination_concurrency: 1001",
    ])
    func invalidIsAClearError(text: String) {
        #expect(throws: ConfigError.self) { _ = try LoftConfig.parse(text) }
    }

    // MARK: - relay: routes and TLS policies

    /// A route is `"host:port"` or `{host: "host:port", tls: required}`; `tls_policy` and
    /// `smarthost_tls` take the words `relay.tls` takes.
    @Test func routesInTheShortAndTheLongForm() throws {
        let c = try LoftConfig.parse(
            """
            relay:
              routes:
                example.org: "mx.example.org:2525"
                example.net: {host: "mx.example.net:25", tls: required}
                example.com: {host: "[2001:db8::25]:25"}
              tls_policy: {partner.test: required, broken.test: none}
              smarthost: "smtp.provider.test:587"
              smarthost_tls: required
            """)
        #expect(
            c.relay.routes == [
                "example.org": .init(host: "mx.example.org:2525"), "example.net": .init(host: "mx.example.net:25", tls: "required"),
                "example.com": .init(host: "[2001:db8::25]:25"),
            ])
        #expect(c.relay.tlsPolicy == ["partner.test": "required", "broken.test": "none"])
        #expect(c.relay.smarthostTLS == "required")
        #expect(LoftConfig().relay.routes.isEmpty && LoftConfig().relay.tlsPolicy.isEmpty && LoftConfig().relay.smarthostTLS.isEmpty)
    }

    /// The same policy given in a route and in `tls_policy` is fine; two different ones are not.
    @Test func aRouteAndTLSPolicyMayAgree() throws {
        let c = try LoftConfig.parse(
            "relay:\n  routes:\n    example.net: {host: mx.example.net, tls: required}\n  tls_policy: {Example.NET: required}\n")
        #expect(c.relay.routes["example.net"]?.tls == "required")
    }

    @Test(arguments: [
        "relay:\n  routes:\n    example.net: {host: mx.example.net, tls: maybe}",
        "relay:\n  routes:\n    example.net: {tls: required}",
        "relay:\n  routes:\n    example.net: {host: \"\"}",
        "relay:\n  routes:\n    example.net: {host: mx.example.net, tsl: required}",
        "relay:\n  routes:\n    example.net: [mx.example.net]",
        "relay:\n  tls_policy: {example.net: encrypt}",
        "relay:\n  tls_policy: [example.net]",
        "relay:\n  tls_policy: {example.net: required, EXAMPLE.net: none}",
        "relay:\n  routes:\n    example.net: {host: mx.example.net, tls: none}\n  tls_policy: {example.net: required}",
        "relay:\n  smarthost: smtp.provider.test:587\n  smarthost_tls: verify",
        "relay:\n  smarthost_tls: required",
    ])
    func badRoutesAndPoliciesAreClearErrors(text: String) {
        #expect(throws: ConfigError.self) { _ = try LoftConfig.parse(text) }
    }
}
