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
        try GatewayProcess.overrideListeners(listen, in: &config.imap)
        config.bootstrapLogging()
        let logger = Logger(label: "loft.imap")
        var gatewayConfig = GatewayProcess.configuration(config.imap, of: config, as: IMAPGatewayConfiguration.self)
        gatewayConfig.literalMinus = config.imap.literalMinus
        try await GatewayProcess.run(name: "imap", config: config, logger: logger) { backend, files, group in
            let gateway = try IMAPGateway(configuration: gatewayConfig, backend: backend, tls: files, group: group, logger: logger)
            try await gateway.start()
            return GatewayProcess.Running(stop: { grace in await gateway.stop(grace: grace) }, reloadTLS: { try gateway.reloadTLS() })
        }
    }
}
