import ArgumentParser
import GatewayKit
import LoftConfig
import Logging
import NIOCore
import POP3Gateway

/// `loft pop3`: the POP3 gateway (issue 4), usually started by `loft serve`.
struct POP3Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pop3",
        abstract: "Run the POP3 gateway: POP3 with STLS and POP3S (usually started by `loft serve`).",
        discussion: """
            Listeners, timeouts and limits come from the `pop3` section of the configuration
            (see deploy/loft.yaml) or LOFT_POP3_LISTENERS="127.0.0.1:2110/stls,127.0.0.1:2995/implicit".
            It talks to the back-end over <data>/gateway.sock.
            """)
    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Listeners, overriding the configuration: host:port/tls,…", valueName: "list"))
    var listen: String?

    func run() async throws {
        var config = try global.load()
        if let listen {
            do {
                config.pop3.listeners = try LoftConfig.ListenerSetting.parseList(listen, key: "--listen")
            } catch let error as ConfigError {
                throw ValidationError(error.description)
            }
        }
        config.bootstrapLogging()
        let logger = Logger(label: "loft.pop3")
        let listeners = config.pop3.listeners.map { GatewayProcess.listener($0.address, $0.port, tls: $0.tls) }
        var gatewayConfig = POP3GatewayConfiguration(listeners: listeners, hostname: GatewayProcess.hostname(config))
        gatewayConfig.idleTimeout = .seconds(Int64(config.pop3.idleTimeoutSeconds))
        gatewayConfig.commandTimeout = .seconds(Int64(config.pop3.commandTimeoutSeconds))
        gatewayConfig.loginTimeout = .seconds(Int64(config.pop3.loginTimeoutSeconds))
        gatewayConfig.allowPlaintextWithoutTLS = config.pop3.allowPlaintextWithoutTLS
        gatewayConfig.allowPlaintextOnLoopback = config.pop3.allowPlaintextOnLoopback
        switch config.pop3.offerCRAMMD5 {
        case .yes: gatewayConfig.cramMD5Offer = .always
        case .no: gatewayConfig.saslMechanisms.removeAll { $0 == .cramMD5 }
        case .auto: gatewayConfig.cramMD5Offer = .whileUsable(refresh: .milliseconds(Int64(config.cramMD5RefreshMs)))
        }
        gatewayConfig.lockLease = .seconds(Int64(config.pop3.lockLeaseSeconds))
        gatewayConfig.maxConnectionsPerAddress = config.pop3.maxConnectionsPerAddress
        gatewayConfig.maxConnections = config.pop3.maxConnections
        try await GatewayProcess.run(name: "pop3", config: config, logger: logger) { backend, files, group in
            let gateway = try POP3Gateway(configuration: gatewayConfig, backend: backend, tls: files, group: group, logger: logger)
            try await gateway.start()
            return { grace in await gateway.stop(grace: grace) }
        }
    }
}
