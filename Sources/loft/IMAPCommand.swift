import ArgumentParser
import GatewayKit
import IMAPGateway
import LoftConfig
import Logging
import NIOCore

/// `loft imap`: the IMAP gateway (issue 9), usually started by `loft serve`.
struct IMAPGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imap",
        abstract: "Run the IMAP gateway: IMAP with STARTTLS and IMAPS (usually started by `loft serve`).",
        discussion: """
            Listeners, timeouts and limits come from the `imap` section of the configuration
            (see deploy/loft.yaml) or LOFT_IMAP_LISTENERS="127.0.0.1:2143/starttls,127.0.0.1:2993/implicit".
            It talks to the back-end over <data>/gateway.sock.
            """)
    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Listeners, overriding the configuration: host:port/tls,…", valueName: "list"))
    var listen: String?

    func run() async throws {
        var config = try global.load()
        if let listen {
            do {
                config.imap.listeners = try LoftConfig.ListenerSetting.parseList(listen, key: "--listen")
            } catch let error as ConfigError {
                throw ValidationError(error.description)
            }
        }
        config.bootstrapLogging()
        let logger = Logger(label: "loft.imap")
        let listeners = config.imap.listeners.map { GatewayProcess.listener($0.address, $0.port, tls: $0.tls) }
        var gatewayConfig = IMAPGatewayConfiguration(listeners: listeners, hostname: GatewayProcess.hostname(config))
        gatewayConfig.idleTimeout = .seconds(Int64(config.imap.idleTimeoutSeconds))
        gatewayConfig.commandTimeout = .seconds(Int64(config.imap.commandTimeoutSeconds))
        gatewayConfig.loginTimeout = .seconds(Int64(config.imap.loginTimeoutSeconds))
        gatewayConfig.allowPlaintextWithoutTLS = config.imap.allowPlaintextWithoutTLS
        gatewayConfig.allowPlaintextOnLoopback = config.imap.allowPlaintextOnLoopback
        switch config.imap.offerCRAMMD5 {
        case .yes: gatewayConfig.cramMD5Offer = .always
        case .no: gatewayConfig.saslMechanisms.removeAll { $0 == .cramMD5 }
        case .auto: gatewayConfig.cramMD5Offer = .whileUsable(refresh: .milliseconds(Int64(config.cramMD5RefreshMs)))
        }
        gatewayConfig.maxConnectionsPerAddress = config.imap.maxConnectionsPerAddress
        gatewayConfig.maxConnections = config.imap.maxConnections
        try await GatewayProcess.run(name: "imap", config: config, logger: logger) { backend, files, group in
            let gateway = try IMAPGateway(configuration: gatewayConfig, backend: backend, tls: files, group: group, logger: logger)
            try await gateway.start()
            return { grace in await gateway.stop(grace: grace) }
        }
    }
}
