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

    /// What a started gateway hands back: how to stop it (open sessions get `grace`), and how
    /// to load its TLS files again.
    struct Running {
        let stop: @Sendable (TimeAmount) async -> Void
        let reloadTLS: @Sendable () throws -> Void
    }

    /// Runs a gateway until a termination signal: `start` builds and starts it. SIGHUP loads
    /// the TLS certificate and key again for new connections (after a renewal); open
    /// connections keep theirs, and a pair that does not load leaves the current one serving.
    static func run(
        name: String, config: LoftConfig, logger: Logger,
        start: (BackendClients, TLSFiles, any EventLoopGroup) async throws -> Running
    ) async throws {
        let metrics = await ProcessMetrics.start(name, config: config, logger: logger)
        let group = MultiThreadedEventLoopGroup.singleton
        let backend = BackendClients(socketPath: config.sockets + "/gateway.sock", software: "loft-\(name)", group: group)
        let files = TLSFiles(dataDirectory: config.dataDirectory, certificate: config.tls.certificate, key: config.tls.key)
        let running: Running
        do {
            running = try await start(backend, files, group)
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
        Termination.shared.onHangup {
            do {
                try running.reloadTLS()
                logger.notice("SIGHUP: reloaded the TLS certificate \(files.certificate) for new connections")
            } catch {
                logger.error("SIGHUP: kept the current TLS certificate: \(error)")
            }
        }
        let signal = await waitForTermination()
        logger.info("received \(signal), stopping: no new connections, open sessions end within \(graceSeconds) s")
        await running.stop(.seconds(graceSeconds))
        await backend.close()
        await metrics?.stop()
    }
}
