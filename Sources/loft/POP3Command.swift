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
        try GatewayProcess.overrideListeners(listen, in: &config.pop3)
        config.bootstrapLogging()
        let logger = Logger(label: "loft.pop3")
        var gatewayConfig = GatewayProcess.configuration(config.pop3, of: config, as: POP3GatewayConfiguration.self)
        gatewayConfig.lockLease = .seconds(Int64(config.pop3.lockLeaseSeconds))
        try await GatewayProcess.run(name: "pop3", config: config, logger: logger) { backend, files, group in
            let gateway = try POP3Gateway(configuration: gatewayConfig, backend: backend, tls: files, group: group, logger: logger)
            try await gateway.start()
            return GatewayProcess.Running(stop: { grace in await gateway.stop(grace: grace) }, reloadTLS: { try gateway.reloadTLS() })
        }
    }
}
