import ArgumentParser
import Backend
import Foundation
import Logging
import MailCore
import NIOCore
import RPCProtocol

/// `loft backup DIR`: a consistent snapshot of the running server, taken by the back-end
/// (`store.backup`) while mail keeps flowing.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the whole store, consistently, into a new directory while Loft runs.",
        discussion: """
            The back-end writes the snapshot itself, so DIR must be somewhere it may write; it
            must not exist or be empty. Everything acknowledged before the backup began is in
            it. Bring it back with `loft restore DIR` into an empty data directory.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The directory for the snapshot (new or empty).") var directory: String

    func run() async throws {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        // A large store takes a while to copy; the call waits for it.
        let result = try await AdminConnection(global).call(
            Methods.storeBackup, StoreBackupParams(directory: absolute), timeout: .hours(24))
        if output.json { return try printJSON(result) }
        print(
            "backed up \(result.messages) messages (\(result.bodies) bodies, \(result.fileBodies) as files), \(ByteSize.approximate(result.bytes)), into \(result.directory)"
        )
    }
}

/// `loft restore DIR`: a backup brought back into an empty data directory, then checked.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Bring a backup back into an empty data directory (Loft not running there), then check it.",
        discussion: """
            Copies the backup into the data directory (--data, the configuration's data_dir, or
            ./loft-data), opens it (running any migration this version needs) and checks it as
            `loft check --deep` does. Exits 1 if the check finds a problem.
            """)
    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "A directory `loft backup` wrote.") var directory: String

    func run() throws {
        let config = try global.load()
        let data = config.dataDirectory
        if FileManager.default.fileExists(atPath: config.sockets + "/admin.sock") {
            throw CLIError("\(config.sockets) has an admin.sock: stop Loft there first (restore needs an empty data directory)")
        }
        var logger = Logger(label: "loft.restore")
        logger.logLevel = .warning
        let (result, problems) = try Backend.restore(backup: directory, dataDirectory: data, logger: logger)
        if output.json {
            struct Report: Encodable {
                var restored: StoreBackupResult
                var problems: [String]
            }
            try printJSON(Report(restored: result, problems: problems))
        } else {
            let taken = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: TimeInterval(result.createdAt)))
            print("restored \(result.messages) messages (\(result.bodies) bodies) from the backup of \(taken) into \(data)")
            for p in problems { print("problem: \(p)") }
            if problems.isEmpty { print("ok: database and files agree; start Loft with `loft serve`") }
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
