import ArgumentParser
import Crypto
import Foundation
import LoftConfig
import Logging
import Metrics
import SwiftASN1
import X509

/// `loft serve`: the supervisor of DESIGN §1. Starts the back-end, then every gateway the
/// configuration enables, each as a child process of this same executable; restarts a child
/// that dies (with growing back-off, logged); stops them all on SIGINT or SIGTERM.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Loft: the back-end and every enabled gateway, supervised.",
        discussion: """
            Settings come from the configuration file (see deploy/loft.yaml), overridden by
            LOFT_* environment variables and these flags. On first start with an empty data
            directory it creates the directory and a self-signed TLS certificate.
            """)
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.load()
        config.bootstrapLogging()
        let logger = Logger(label: "loft.serve")
        let metrics = await ProcessMetrics.start("serve", config: config, logger: logger)
        let dir = config.dataDirectory
        let firstStart = !FileManager.default.fileExists(atPath: dir + "/loft.sqlite")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        if config.tls.certificate.isEmpty {
            let made = try SelfSignedCertificate.ensure(
                directory: dir + "/tls", hostname: config.tls.hostname.isEmpty ? Self.hostname() : config.tls.hostname)
            if made { logger.notice("made a self-signed TLS certificate in \(dir)/tls (set tls.certificate and tls.key for a real one)") }
        }
        var common = ["--data", dir, "--log-format", config.logFormat]
        if let path = LoftConfig.locate(explicit: global.config, environment: ProcessInfo.processInfo.environment) {
            common += ["--config", path]
        }
        let supervisor = Supervisor(
            executable: Self.executablePath(), maxDelay: Double(config.serve.restartMaxDelaySeconds), logger: logger,
            statusDirectory: dir)
        supervisor.start(name: "backend", arguments: ["backend"] + common)
        try FileManager.default.createDirectory(
            atPath: config.sockets, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o750])
        guard await Self.waitForSocket(config.sockets + "/admin.sock", supervisor: supervisor) else {
            supervisor.stopAll()
            unlink(ServeStatus.path(dataDirectory: dir))
            throw CLIError("the back-end did not start; see the messages above")
        }
        for gateway in config.serve.gateways {
            supervisor.start(name: gateway, arguments: [gateway] + common)
        }
        if firstStart {
            let loft = Self.commandName()
            let listeners = StatusReport.listeners(config)
            let ports = config.serve.gateways.compactMap { gateway -> String? in
                let mine = listeners.filter { $0.gateway == gateway }
                guard !mine.isEmpty else { return nil }
                return "  \(gateway): "
                    + mine.map { "\($0.address):\($0.port) \($0.tls)" + ($0.mode.map { " \($0)" } ?? "") }.joined(separator: ", ")
            }
            print(
                """
                Loft is running with its data in \(dir), listening on
                \(ports.joined(separator: "\n"))
                (`\(loft) status` says what is up).
                Next steps, in another terminal:
                  \(loft) domain add example.org\(dir == "./loft-data" ? "" : " --data \(dir)")
                  echo 'a-good-password' | \(loft) account add alice@example.org --password-stdin\(dir == "./loft-data" ? "" : " --data \(dir)")
                Stop with Ctrl-C.
                """)
            fflush(nil)
        }
        // systemctl reload: every child hears it (the gateways load their TLS files again).
        Termination.shared.onHangup { [logger] in
            logger.notice("SIGHUP: telling the gateways to reload their TLS certificates")
            supervisor.signalAll(SIGHUP)
        }
        let signal = await waitForTermination()
        logger.notice("\(signal): stopping")
        await supervisor.stopAllGracefully(timeout: 15)
        await metrics?.stop()
        unlink(ServeStatus.path(dataDirectory: dir))
    }

    static func executablePath() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// How another terminal runs this executable: `loft` when that is what the PATH finds,
    /// else its full path (after the README's build it is not on the PATH).
    static func commandName() -> String {
        let me = URL(fileURLWithPath: executablePath()).resolvingSymlinksInPath().path
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = URL(fileURLWithPath: String(directory)).appendingPathComponent("loft")
            guard FileManager.default.isExecutableFile(atPath: candidate.path) else { continue }
            return candidate.resolvingSymlinksInPath().path == me ? "loft" : me
        }
        return me
    }

    static func hostname() -> String {
        ProcessInfo.processInfo.hostName
    }

    static func waitForSocket(_ path: String, supervisor: Supervisor) async -> Bool {
        for _ in 0..<300 {
            if FileManager.default.fileExists(atPath: path) { return true }
            if supervisor.hasGivenUp("backend") { return false }
            try? await Task.sleep(nanoseconds: 50_000_000)
        }
        return false
    }
}

/// Child processes and their restarts. `@unchecked Sendable`: all mutable state is behind
/// `lock`; Process callbacks arrive on arbitrary threads.
final class Supervisor: @unchecked Sendable {
    struct Child {
        var arguments: [String]
        var process: Process?
        var restarts = 0
        var startedAt = Date()
        var gaveUp = false
        /// For `serve-status.json`: every restart, and the last exit.
        var totalRestarts = 0
        var lastExit: (status: String, at: Date)?
        var order: Int
    }
    let executable: String
    let maxDelay: Double
    let logger: Logger
    /// Where `serve-status.json` goes; nil: nowhere (tests).
    let statusDirectory: String?
    let startedAt = Date()
    let lock = NSLock()
    var children: [String: Child] = [:]
    var stopping = false

    /// Tells a child who supervises it, so it can ask to die with the supervisor.
    static let environmentKey = "LOFT_SUPERVISOR_PID"

    /// sysexits.h EX_CONFIG: a child that exits with it (a gateway whose port is taken) has said
    /// why, and starting it again cannot help; it is left stopped.
    static let configurationExitCode: Int32 = 78

    init(executable: String, maxDelay: Double, logger: Logger, statusDirectory: String? = nil) {
        self.executable = executable
        self.maxDelay = maxDelay
        self.logger = logger
        self.statusDirectory = statusDirectory
    }

    func start(name: String, arguments: [String]) {
        lock.lock()
        children[name] = Child(arguments: arguments, order: children.count)
        lock.unlock()
        launch(name)
    }

    /// The children as `loft status` reads them; call with `lock` held.
    func snapshot() -> ServeStatus {
        ServeStatus(
            pid: getpid(), startedAt: Int64(startedAt.timeIntervalSince1970),
            children: children.sorted { $0.value.order < $1.value.order }.map { name, child in
                ServeChild(
                    name: name,
                    state: child.gaveUp ? .stopped : child.process == nil ? .restarting : .running,
                    pid: child.process.map(\.processIdentifier), startedAt: Int64(child.startedAt.timeIntervalSince1970),
                    restarts: child.totalRestarts, lastExit: child.lastExit?.status,
                    lastExitAt: child.lastExit.map { Int64($0.at.timeIntervalSince1970) })
            })
    }

    /// Rewrites `serve-status.json` (under `lock`, so writes land in the order of the changes).
    func publish() {
        guard let statusDirectory else { return }
        lock.lock()
        defer { lock.unlock() }
        guard !stopping else { return }
        do {
            try snapshot().write(dataDirectory: statusDirectory)
        } catch {
            logger.warning("cannot write \(ServeStatus.fileName): \(error)")
        }
    }

    func hasGivenUp(_ name: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        return children[name]?.gaveUp ?? true
    }

    func launch(_ name: String) {
        lock.lock()
        guard !stopping, var child = children[name] else {
            lock.unlock()
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = child.arguments
        var environment = ProcessInfo.processInfo.environment
        environment[Self.environmentKey] = String(getpid())
        process.environment = environment
        process.terminationHandler = { [weak self] p in self?.exited(name, process: p) }
        child.process = process
        child.startedAt = Date()
        children[name] = child
        lock.unlock()
        do {
            try process.run()
            logger.info("started \(name) (pid \(process.processIdentifier))")
            publish()
        } catch {
            logger.error("cannot start \(name): \(error)")
            exited(name, process: process)
        }
    }

    func exited(_ name: String, process: Process) {
        lock.lock()
        guard !stopping, var child = children[name], child.process === process else {
            lock.unlock()
            return
        }
        let status =
            process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "status \(process.terminationStatus)"
        let decision = RestartPolicy.decide(
            restarts: child.restarts, ranFor: Date().timeIntervalSince(child.startedAt),
            configurationError: process.terminationReason == .exit && process.terminationStatus == Self.configurationExitCode,
            maxDelay: maxDelay)
        child.process = nil
        child.lastExit = (status, Date())
        let delay: Double
        switch decision {
        case .restart(let after, let restarts):
            child.restarts = restarts
            child.totalRestarts += 1
            Counter(label: "loft_restarts_total", dimensions: [("child", name)]).increment()
            delay = after
        case .giveUp, .leaveStopped:
            child.gaveUp = true
            delay = 0
        }
        children[name] = child
        lock.unlock()
        publish()
        switch decision {
        case .giveUp:
            logger.critical(
                "\(name) exited (\(status)) \(RestartPolicy.maxQuickRestarts + 1) times in a row, each within \(Int(RestartPolicy.healthyAfter)) s of starting; not restarting it"
            )
            return
        case .leaveStopped:
            logger.critical(
                "\(name) cannot start (its message is above); not restarting it. Fix the cause, then restart loft serve")
            return
        case .restart:
            break
        }
        logger.warning("\(name) exited (\(status)); restarting in \(String(format: "%.1f", delay)) s")
        DispatchQueue.global().asyncAfter(deadline: .now() + delay) { [weak self] in self?.launch(name) }
    }

    func signalAll(_ number: Int32) {
        let running = lock.withLock { children.values.compactMap(\.process).filter(\.isRunning) }
        for p in running { kill(p.processIdentifier, number) }
    }

    func stopAll() {
        lock.lock()
        stopping = true
        let running = children.values.compactMap(\.process).filter(\.isRunning)
        lock.unlock()
        for p in running { p.terminate() }
    }

    /// SIGTERM to every child, gateways first so they stop taking work before the back-end goes;
    /// SIGKILL for any still running after `timeout` seconds.
    func stopAllGracefully(timeout: Double) async {
        let (gateways, backend) = lock.withLock { () -> ([Process], Process?) in
            stopping = true
            return (children.filter { $0.key != "backend" }.compactMap(\.value.process), children["backend"]?.process)
        }
        for group in [gateways, [backend].compactMap { $0 }] {
            for p in group where p.isRunning { p.terminate() }
            let deadline = Date().addingTimeInterval(timeout)
            while group.contains(where: \.isRunning) && Date() < deadline {
                try? await Task.sleep(nanoseconds: 50_000_000)
            }
            for p in group where p.isRunning {
                logger.warning("pid \(p.processIdentifier) did not stop in \(Int(timeout)) s; killing it")
                kill(p.processIdentifier, SIGKILL)
            }
        }
    }
}

/// A self-signed certificate for a first start, so every listener can offer TLS from the
/// beginning (DESIGN §5). P-256; CA:TRUE and keyCertSign so NIOSSL clients can be told to
/// trust it (LIBRARIES.md).
enum SelfSignedCertificate {
    /// Writes `cert.pem` and `key.pem` unless both exist; returns whether it made them.
    static func ensure(directory: String, hostname: String) throws -> Bool {
        let certPath = directory + "/cert.pem"
        let keyPath = directory + "/key.pem"
        let fm = FileManager.default
        if fm.fileExists(atPath: certPath) && fm.fileExists(atPath: keyPath) { return false }
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName {
            CommonName(hostname)
            OrganizationName("Loft self-signed")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(3 * 365 * 86400),
            issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                SubjectAlternativeNames([
                    .dnsName(hostname), .dnsName("localhost"), .ipAddress(ASN1OctetString(contentBytes: [127, 0, 0, 1])),
                ])
            },
            issuerPrivateKey: .init(key))
        let pem = try certificate.serializeAsPEM().pemString
        guard fm.createFile(atPath: keyPath, contents: Data(key.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600]),
            fm.createFile(atPath: certPath, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o644])
        else { throw CLIError("cannot write the TLS certificate into \(directory)") }
        return true
    }
}

/// When `loft serve` starts a child that exited again (a pure function, tested as a table).
/// Quick exits back off, 0.5 s doubling up to `maxDelay`; a child that ran `healthyAfter`
/// seconds or more was healthy, so its next exit starts again at 0.5 s (an MX that crashed
/// once after an hour answers again in half a second, not after the last back-off). After ten
/// quick restarts in a row the next quick exit leaves it stopped, as does one exit with
/// `Supervisor.configurationExitCode`.
enum RestartPolicy {
    enum Decision: Equatable {
        /// Start it again after `after` seconds; `restarts` quick exits in a row so far.
        case restart(after: Double, restarts: Int)
        /// It keeps dying at once.
        case giveUp
        /// It said why it cannot run.
        case leaveStopped
    }

    static let healthyAfter: Double = 10
    static let maxQuickRestarts = 10

    static func decide(restarts: Int, ranFor: Double, configurationError: Bool, maxDelay: Double) -> Decision {
        if configurationError { return .leaveStopped }
        let count = ranFor >= healthyAfter ? 1 : restarts + 1
        guard count <= maxQuickRestarts else { return .giveUp }
        return .restart(after: min(maxDelay, 0.5 * pow(2, Double(count - 1))), restarts: count)
    }
}
