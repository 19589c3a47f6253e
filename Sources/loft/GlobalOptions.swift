import ArgumentParser
import Foundation
import LoftConfig
import Logging
import NIOCore
import RPCProtocol
import RPCTransport

/// Options every subcommand takes.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp("The data directory (default: $LOFT_DATA, the config's data_dir, else ./loft-data).", valueName: "dir"))
    var data: String?

    @Option(
        name: .long,
        help: ArgumentHelp("The configuration file (default: $LOFT_CONFIG, ./loft.yaml, /etc/loft/loft.yaml).", valueName: "file"))
    var config: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "How log lines are written: logfmt (key=value), json or text (default: the config's log_format).", valueName: "format"))
    var logFormat: String?

    func load() throws -> LoftConfig {
        let env = ProcessInfo.processInfo.environment
        do {
            var loaded = try LoftConfig.load(
                path: LoftConfig.locate(explicit: config, environment: env), environment: env, dataOverride: data)
            if let logFormat {
                guard LoftConfig.logFormats.contains(logFormat) else {
                    throw ValidationError("--log-format must be logfmt, json or text, not \(logFormat)")
                }
                loaded.logFormat = logFormat
            }
            return loaded
        } catch let error as ConfigError {
            throw ValidationError(error.description)
        }
    }
}

/// Output options of the admin commands.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the result as JSON, for scripts.")
    var json = false
}

/// The admin socket, with errors a person can act on.
struct AdminConnection {
    let client: RPCClient

    init(_ options: GlobalOptions) throws {
        let config = try options.load()
        let path = config.sockets + "/admin.sock"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError(
                "the Loft back-end is not running for \(config.dataDirectory) (no \(path)). Start it with `loft serve` (or `loft backend`), or point --data at the right directory."
            )
        }
        var logger = Logger(label: "loft.cli")
        logger.logLevel = .error
        client = RPCClient(path: path, software: "loft-cli", logger: logger)
    }

    func call<P, R>(_ method: RPCMethod<P, R>, _ params: P, timeout: TimeAmount? = nil) async throws -> R {
        do {
            return try await client.call(method, params, timeout: timeout)
        } catch {
            throw CLIError(error.message + (error.is(.unavailable) ? "" : " [\(error.kind)]"))
        }
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func printJSON(_ value: some Encodable) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

/// Reads one line from standard input (for --password-stdin), without its line ending.
func readSecretLine(_ what: String) throws -> String {
    guard let line = readLine(strippingNewline: true) else { throw CLIError("expected the \(what) on standard input") }
    let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : line
    guard !trimmed.isEmpty else { throw CLIError("the \(what) on standard input is empty") }
    return trimmed
}

/// Renders rows as aligned columns.
func printTable(_ header: [String], _ rows: [[String]]) {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}
