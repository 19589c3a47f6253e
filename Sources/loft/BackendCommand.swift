import ArgumentParser
import Backend
import Dispatch
import Foundation
import LoftConfig
import Logging
import MailCore
import NIOPosix

/// `loft backend`: the one process that owns the data directory (DESIGN §1).
struct BackendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backend",
        abstract: "Run the back-end: storage, accounts, delivery, and the RPC sockets (usually started by `loft serve`).")
    @OptionGroup var global: GlobalOptions
    @Flag(
        help: """
            Say what starting would migrate in the data directory's database (a new version's \
            schema changes), change nothing, and exit: 0 when this version can run on it, 1 when \
            a newer Loft has upgraded it.
            """)
    var check = false

    func run() async throws {
        let config = try global.load()
        if check { return try Self.checkMigrations(config.dataDirectory) }
        config.bootstrapLogging()
        var backendConfig = BackendConfig(dataDirectory: config.dataDirectory, socketDirectory: config.sockets)
        backendConfig.refreshesGauges = config.metrics.port(for: "backend") != nil
        // The name the SMTP gateway greets with: bounces come from the host that accepted the mail.
        backendConfig.hostname = config.smtp.hostname.isEmpty ? GatewayProcess.hostname(config) : config.smtp.hostname
        backendConfig.passwordHashLog2Cost = config.backend.passwordHashCost
        backendConfig.minPasswordLength = config.backend.minPasswordLength
        backendConfig.workerThreads = config.backend.workerThreads
        backendConfig.sessionLifetimeSeconds = config.backend.sessionLifetimeSeconds
        backendConfig.defaultMaxMessageBytes = config.backend.maxMessageBytes
        backendConfig.maxRecipientsPerMessage = config.backend.maxRecipientsPerMessage
        backendConfig.throttle.freeAttempts = config.backend.loginFreeAttempts
        backendConfig.throttle.maxDelayMs = config.backend.loginMaxDelaySeconds * 1000
        backendConfig.inlineBodyLimit = Int(config.backend.inlineBodyMaxBytes)
        backendConfig.defaultMailboxes = config.backend.defaultMailboxes.compactMap { box in
            box.attribute.map { (box.name, $0) }
        }
        backendConfig.minFreeBytes = config.backend.minFreeBytes
        backendConfig.queuePolicy = QueueSchedule.Policy(
            retry: config.queue.retrySeconds, lifetime: config.queue.lifetimeSeconds, delayWarning: config.queue.delayWarningSeconds)
        backendConfig.queueTickMs = config.queue.tickMs
        backendConfig.srs = config.backend.srs
        // For the storage benchmark only (Tests/bench/STORAGE.md): the page size of a new store.
        if let size = ProcessInfo.processInfo.environment["LOFT_BENCH_PAGE_SIZE"].flatMap(Int.init),
            [1024, 2048, 4096, 8192, 16384, 32768, 65536].contains(size)
        {
            backendConfig.storePageSize = size
        }
        let logger = Logger(label: "loft.backend")
        let metrics = await ProcessMetrics.start("backend", config: config, logger: logger)
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
        await metrics?.stop()
    }

    static func checkMigrations(_ directory: String) throws {
        let plan = try Backend.migrationCheck(dataDirectory: directory)
        let database = directory + "/loft.sqlite"
        guard plan.exists else {
            return print("\(database) does not exist: starting creates a new store at schema \(plan.current)")
        }
        guard plan.unknown.isEmpty else {
            print(
                "\(database) was upgraded by a newer Loft (schema \(plan.unknown.joined(separator: ", "))); this version knows up to \(plan.current) and will not start on it"
            )
            throw ExitCode(1)
        }
        guard !plan.pending.isEmpty else {
            return print("\(database) is at schema \(plan.current): nothing to migrate")
        }
        print(
            "\(database) is at schema \(plan.applied.last ?? "none"); starting this version would first back it up to \(directory)/backups/, then apply:"
        )
        for step in plan.pending { print("  \(step.id): \(step.summary)") }
    }
}

/// Suspends until SIGTERM or SIGINT arrives (or returns at once if one already has); returns
/// its name. The handlers are installed by `Termination.install()` before any command runs, so
/// a signal that comes early — while a supervisor is still starting its children — is not lost
/// to the default action, which would kill the process without its cleanup.
func waitForTermination() async -> String {
    await Termination.shared.wait()
}

/// SIGTERM and SIGINT, caught from the start of the process.
///
/// `@unchecked Sendable`: `received` and `waiters` are only touched under `lock`.
final class Termination: @unchecked Sendable {
    static let shared = Termination()
    private let lock = NSLock()
    private var received: String?
    private var waiters: [CheckedContinuation<String, Never>] = []
    private var sources: [any DispatchSourceSignal] = []
    private var orphanCheck: (any DispatchSourceTimer)?
    private var hangupHandlers: [@Sendable () -> Void] = []

    /// Runs `handler` on every SIGHUP from now on.
    func onHangup(_ handler: @escaping @Sendable () -> Void) {
        lock.withLock { hangupHandlers.append(handler) }
    }

    /// Catches the signals, and — for a child of `loft serve` — stops the process when the
    /// supervisor dies, so no gateway or back-end outlives it unsupervised.
    func install() {
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.fire(name) }
            source.resume()
            sources.append(source)
        }
        // SIGHUP means "reload" (the gateways' TLS files), never "die": ignored by default,
        // handled by the processes that registered with `onHangup`.
        signal(SIGHUP, SIG_IGN)
        let hangup = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        hangup.setEventHandler { [weak self] in
            for handler in self?.lock.withLock({ self?.hangupHandlers ?? [] }) ?? [] { handler() }
        }
        hangup.resume()
        sources.append(hangup)
        if let supervisor = ProcessInfo.processInfo.environment[Supervisor.environmentKey].flatMap(Int32.init) {
            // Polled rather than PR_SET_PDEATHSIG: that signal follows the death of the parent
            // *thread* that started the child, and the supervisor restarts children from
            // whichever dispatch thread is at hand, which may exit while the child lives on.
            let timer = DispatchSource.makeTimerSource(queue: .global())
            timer.schedule(deadline: .now(), repeating: .milliseconds(500))
            timer.setEventHandler { [weak self] in
                if getppid() != supervisor { self?.fire("SIGTERM (the supervisor is gone)") }
            }
            timer.resume()
            orphanCheck = timer
        }
    }

    private func fire(_ name: String) {
        let resume = lock.withLock { () -> [CheckedContinuation<String, Never>] in
            if received == nil { received = name }
            defer { waiters = [] }
            return waiters
        }
        for w in resume { w.resume(returning: name) }
    }

    func wait() async -> String {
        await withCheckedContinuation { (continuation: CheckedContinuation<String, Never>) in
            let already = lock.withLock { () -> String? in
                if let received { return received }
                waiters.append(continuation)
                return nil
            }
            if let already { continuation.resume(returning: already) }
        }
    }

}
