import ArgumentParser
import Foundation
import GatewayKit
import LoftConfig
import Logging
import NIOCore
import NIOPosix

/// What every gateway process (`loft pop3`, `loft smtp`, and the ones to come) does around its
/// protocol: logging to standard error, the back-end client, the TLS files, start, wait for
/// SIGTERM/SIGINT, then stop accepting and let open sessions finish.
enum GatewayProcess {
    /// Sessions still open at SIGTERM get this long to finish.
    static let graceSeconds: Int64 = 10

    /// A listener's `tls` setting: `stls`/`starttls`, `implicit` or `none`.
    static func listener(_ address: String, _ port: Int, tls: String) -> Listener {
        let mode: TLSMode =
            switch tls {
            case "stls", "starttls": .startTLS
            case "implicit": .implicit
            default: .none
            }
        return Listener(host: address, port: port, tls: mode)
    }

    static func hostname(_ config: LoftConfig) -> String {
        config.tls.hostname.isEmpty ? ProcessInfo.processInfo.hostName : config.tls.hostname
    }

    /// Runs a gateway until a termination signal: `start` builds and starts it and returns
    /// how to stop it.
    static func run(
        name: String, config: LoftConfig, logger: Logger,
        start: (BackendClients, TLSFiles, any EventLoopGroup) async throws -> @Sendable (TimeAmount) async -> Void
    ) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let backend = BackendClients(socketPath: config.dataDirectory + "/gateway.sock", software: "loft-\(name)", group: group)
        let files = TLSFiles(dataDirectory: config.dataDirectory, certificate: config.tls.certificate, key: config.tls.key)
        let stop: @Sendable (TimeAmount) async -> Void
        do {
            stop = try await start(backend, files, group)
        } catch {
            if let failure = error as? GatewayError, failure.isListenFailure {
                // Restarting cannot help: the supervisor leaves a child that exits so alone.
                logger.critical("\(name): \(failure)")
                await backend.close()
                throw ExitCode(Supervisor.configurationExitCode)
            }
            // `loft serve` makes a self-signed pair on first start; a standalone gateway needs one.
            throw CLIError("\(error)")
        }
        let signal = await waitForTermination()
        logger.info("received \(signal), stopping: no new connections, open sessions end within \(graceSeconds) s")
        await stop(.seconds(graceSeconds))
        await backend.close()
    }
}

extension LoftConfig {
    /// Every long-running `loft` process logs to standard error at the configured level.
    func bootstrapLogging() {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
