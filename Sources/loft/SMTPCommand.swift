import ArgumentParser
import GatewayKit
import LoftConfig
import Logging
import MailCore
import NIOCore
import SMTPGateway

/// `loft smtp`: the SMTP gateway (issue 3), usually started by `loft serve`.
struct SMTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smtp",
        abstract: "Run the SMTP gateway: MX, submission with STARTTLS and implicit TLS (usually started by `loft serve`).",
        discussion: """
            Listeners, timeouts and limits come from the `smtp` section of the configuration
            (see deploy/loft.yaml) or LOFT_SMTP_LISTENERS="0.0.0.0:2525/starttls/mx,0.0.0.0:2587/starttls/submission".
            It talks to the back-end over <data>/gateway.sock.
            """)
    @OptionGroup var global: GlobalOptions

    @Option(
        name: .long, help: ArgumentHelp("Listeners, overriding the configuration: host:port/tls/mode,…", valueName: "list"))
    var listen: String?

    func run() async throws {
        var config = try global.load()
        if let listen {
            do {
                config.smtp.listeners = try LoftConfig.SMTPListenerSetting.parseList(listen, key: "--listen")
            } catch let error as ConfigError {
                throw ValidationError(error.description)
            }
        }
        config.bootstrapLogging()
        let logger = Logger(label: "loft.smtp")
        let section = config.smtp
        let listeners = section.listeners.map { setting in
            SMTPListener(
                GatewayProcess.listener(setting.address, setting.port, tls: setting.tls), mode: setting.mode == "mx" ? .mx : .submission)
        }
        let hostname = section.hostname.isEmpty ? GatewayProcess.hostname(config) : section.hostname
        var gatewayConfig = SMTPGatewayConfiguration(listeners: listeners, hostname: hostname)
        gatewayConfig.idleTimeout = .seconds(Int64(section.idleTimeoutSeconds))
        gatewayConfig.commandTimeout = .seconds(Int64(section.commandTimeoutSeconds))
        gatewayConfig.loginTimeout = .seconds(Int64(section.loginTimeoutSeconds))
        gatewayConfig.maximumMessageSize = section.maxMessageBytes.map { Int($0) }
        gatewayConfig.maximumRecipientsPerMessage = section.maxRecipientsPerMessage
        gatewayConfig.maximumRecipientsPerConnection = section.maxRecipientsPerConnection
        gatewayConfig.maximumErrors = section.maxErrors
        gatewayConfig.maxConnectionsPerAddress = section.maxConnectionsPerAddress
        gatewayConfig.maxConnections = section.maxConnections
        gatewayConfig.allowPlaintextWithoutTLS = section.allowPlaintextWithoutTLS
        gatewayConfig.allowPlaintextOnLoopback = section.allowPlaintextOnLoopback
        gatewayConfig.authOnMX = section.authOnMX
        gatewayConfig.receivedNamesAuthenticatedUser = section.receivedAuthenticatedSender
        gatewayConfig.mxGreetingDelay = .milliseconds(Int64(section.mxGreetingDelayMs))
        if !section.postmaster.isEmpty {
            guard EmailAddress(section.postmaster) != nil else {
                throw ValidationError("smtp.postmaster: \(section.postmaster) is not an email address")
            }
            gatewayConfig.postmaster = section.postmaster
        }
        switch section.offerCRAMMD5 {
        case .yes: gatewayConfig.cramMD5Offer = .always
        case .no: gatewayConfig.authMechanisms.removeAll { $0 == .cramMD5 }
        case .auto: gatewayConfig.cramMD5Offer = .whileUsable(refresh: .milliseconds(Int64(config.cramMD5RefreshMs)))
        }
        gatewayConfig.trustedNetworks = try section.trustedNetworks.map { text in
            guard let network = NetworkRange(text) else {
                throw ValidationError("smtp.trusted_networks: \(text) is not an address or CIDR network")
            }
            return network
        }

        try await GatewayProcess.run(name: "smtp", config: config, logger: logger) { backend, files, group in
            let gateway = try SMTPGateway(configuration: gatewayConfig, backend: backend, tls: files, group: group, logger: logger)
            try await gateway.start()
            return GatewayProcess.Running(stop: { grace in await gateway.stop(grace: grace) }, reloadTLS: { try gateway.reloadTLS() })
        }
    }
}
