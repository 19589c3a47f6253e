import ArgumentParser
import Backend
import Dispatch
import Foundation
import LoftConfig
import Logging
import NIOPosix

/// `loft backend`: the one process that owns the data directory (DESIGN §1).
struct BackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Run the back-end: storage, accounts, delivery, and the RPC sockets (usually started by `loft serve`).")
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.load()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: config.logLevel) ?? .info
            return handler
        }
        var backendConfig = BackendConfig(dataDirectory: config.dataDirectory)
        backendConfig.passwordHashLog2Cost = config.backend.passwordHashCost
        backendConfig.workerThreads = config.backend.workerThreads
        backendConfig.sessionLifetimeSeconds = config.backend.sessionLifetimeSeconds
        backendConfig.defaultMaxMessageBytes = config.backend.maxMessageBytes
        backendConfig.maxRecipientsPerMessage = config.backend.maxRecipientsPerMessage
        backendConfig.throttle.freeAttempts = config.backend.loginFreeAttempts
        backendConfig.throttle.maxDelayMs = config.backend.loginMaxDelaySeconds * 1000
        let logger = Logger(label: "loft.backend")
        // Everything the back-end creates is private to its user; the data directory (0750)
        // and gateway.sock (0660) are opened to the group explicitly (DESIGN §2).
        umask(0o077)
        let backend: Backend
        do {
            backend = try Backend(config: backendConfig, logger: logger)
        } catch {
            throw CLIError("cannot open the data directory \(config.dataDirectory): \(error)")
        }
        try await backend.listen()
        let signal = await waitForTermination()
        logger.info("received \(signal), shutting down")
        await backend.shutdown()
    }
}

/// Suspends until SIGTERM or SIGINT arrives; returns its name.
func waitForTermination() async -> String {
    await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
        let once = OnceFlag()
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                if once.claim() { continuation.resume(returning: name) }
            }
            source.resume()
            SignalSources.keep(source)
        }
    }
}

/// Keeps dispatch signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []
    static let lock = NSLock()
    static func keep(_ s: any DispatchSourceSignal) {
        lock.lock()
        sources.append(s)
        lock.unlock()
    }
}

final class OnceFlag: @unchecked Sendable {
    // @unchecked: `claimed` is only read and written under `lock`.
    private let lock = NSLock()
    private var claimed = false
    func claim() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if claimed { return false }
        claimed = true
        return true
    }
}
