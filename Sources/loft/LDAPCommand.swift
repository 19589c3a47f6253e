import ArgumentParser
import GatewayKit
import LDAPGateway
import LoftConfig
import Logging

/// `loft ldap`: the read-only directory (issue 12), usually started by `loft serve`.
struct LDAPGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldap",
        abstract: "Run the LDAP gateway: the read-only address book with StartTLS and LDAPS (usually started by `loft serve`).",
        discussion: """
            Listeners, the base DN and the access restrictions come from the `ldap` section of the
            configuration (see deploy/loft.yaml) or LOFT_LDAP_LISTENERS="127.0.0.1:2389/starttls,127.0.0.1:2636/implicit".
            It talks to the back-end over <data>/gateway.sock.
            """)
    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Listeners, overriding the configuration: host:port/tls,…", valueName: "list"))
    var listen: String?

    func run() async throws {
        var config = try global.load()
        if let listen {
            do {
                config.ldap.listeners = try LoftConfig.ListenerSetting.parseList(listen, key: "--listen")
            } catch let error as ConfigError {
                throw ValidationError(error.description)
            }
        }
        config.bootstrapLogging()
        let logger = Logger(label: "loft.ldap")
        let gatewayConfig = Self.gatewayConfiguration(config.ldap)
        try await GatewayProcess.run(name: "ldap", config: config, logger: logger) { backend, files, group in
            let gateway = try LDAPGateway(configuration: gatewayConfig, backend: backend, tls: files, group: group, logger: logger)
            try await gateway.start()
            return GatewayProcess.Running(stop: { grace in await gateway.stop(grace: grace) }, reloadTLS: { try gateway.reloadTLS() })
        }
    }

    static func gatewayConfiguration(_ section: LoftConfig.LDAPSection) -> LDAPGatewayConfiguration {
        var gateway = LDAPGatewayConfiguration(
            listeners: section.listeners.map { GatewayProcess.listener($0.address, $0.port, tls: $0.tls) })
        gateway.baseDN = section.baseDN.isEmpty ? nil : section.baseDN
        gateway.idleTimeout = .seconds(Int64(section.idleTimeoutSeconds))
        gateway.commandTimeout = .seconds(Int64(section.commandTimeoutSeconds))
        gateway.allowPlaintextWithoutTLS = section.allowPlaintextWithoutTLS
        gateway.allowPlaintextOnLoopback = section.allowPlaintextOnLoopback
        gateway.anonymousNetworks = section.anonymousNetworks.compactMap(NetworkRange.init)
        gateway.requireBind = section.requireBind
        gateway.policy.anonymousAttributes = section.anonymousAttributes
        gateway.policy.anonymousMinimumPrefix = section.anonymousMinimumPrefix
        gateway.policy.anonymousSizeLimit = section.anonymousSizeLimit
        gateway.policy.sizeLimit = section.sizeLimit
        gateway.policy.timeLimitSeconds = section.timeLimitSeconds
        gateway.anonymousSearchesPerMinute = section.anonymousSearchesPerMinute
        gateway.maxConnectionsPerAddress = section.maxConnectionsPerAddress
        gateway.maxConnections = section.maxConnections
        return gateway
    }
}
