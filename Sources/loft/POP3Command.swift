import ArgumentParser
import Foundation
import GatewayKit
import LoftConfig
import Logging
import NIOCore
import NIOPosix
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
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "loft.pop3")
        let listeners = config.pop3.listeners.map { setting in
            let mode: TLSMode =
                switch setting.tls {
                case "stls", "starttls": .startTLS
                case "implicit": .implicit
                default: .none
                }
            return Listener(host: setting.address, port: setting.port, tls: mode)
        }
        let hostname = config.tls.hostname.isEmpty ? ProcessInfo.processInfo.hostName : config.tls.hostname
        var gatewayConfig = POP3GatewayConfiguration(listeners: listeners, hostname: hostname)
        gatewayConfig.idleTimeout = .seconds(Int64(config.pop3.idleTimeoutSeconds))
        gatewayConfig.allowPlaintextWithoutTLS = config.pop3.allowPlaintextWithoutTLS
        gatewayConfig.allowPlaintextOnLoopback = config.pop3.allowPlaintextOnLoopback
        gatewayConfig.lockLease = .seconds(Int64(config.pop3.lockLeaseSeconds))
        gatewayConfig.maxConnectionsPerAddress = config.pop3.maxConnectionsPerAddress
        gatewayConfig.maxConnections = config.pop3.maxConnections

        let group = MultiThreadedEventLoopGroup.singleton
        let backend = BackendClients(socketPath: config.dataDirectory + "/gateway.sock", software: "loft-pop3", group: group)
        let files = TLSFiles(dataDirectory: config.dataDirectory, certificate: config.tls.certificate, key: config.tls.key)
        let gateway: POP3Gateway
        do {
            gateway = try POP3Gateway(configuration: gatewayConfig, backend: backend, tls: files, group: group, logger: logger)
            try await gateway.start()
        } catch {
            // `loft serve` makes a self-signed pair on first start; a standalone `loft pop3` needs one.
            throw CLIError("\(error)")
        }
        let signal = await waitForTermination()
        logger.info("received \(signal), stopping: no new connections, open sessions end within 10 s")
        await gateway.stop(grace: .seconds(10))
        await backend.close()
    }
}
