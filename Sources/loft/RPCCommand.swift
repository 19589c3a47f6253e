import ArgumentParser
import Foundation
import NIOCore
import RPCProtocol
import RPCTransport

/// `loft rpc METHOD [JSON]`: any back-end method by name; prints the result as JSON.
struct RPCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc", abstract: "Call a back-end method by name and print its result as JSON.",
        discussion: """
            Examples:
              loft rpc domain.list
              loft rpc account.get '{"address":"alice@example.org"}'
              loft rpc --socket gateway auth.login '{"username":"alice@example.org","password":"…"}'
            The methods are documented in Protocol/README.md and Protocol/openrpc.json. Exits 1 on an RPC error, printing it as JSON on standard error.
            """)
    @OptionGroup var global: GlobalOptions
    @Option(help: "Which socket: admin (default) or gateway.") var socket: String = "admin"
    @Argument(help: "The method, e.g. account.list.") var method: String
    @Argument(help: "The params as a JSON object (default {}).") var params: String = "{}"

    func run() async throws {
        guard socket == "admin" || socket == "gateway" else { throw ValidationError("--socket is admin or gateway") }
        guard let data = params.data(using: .utf8), (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw ValidationError("params must be a JSON object, e.g. '{\"address\":\"alice@example.org\"}'")
        }
        let config = try global.load()
        let path = config.sockets + "/\(socket).sock"
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError("the Loft back-end is not running for \(config.dataDirectory) (no \(path)); start it with `loft serve`")
        }
        let client = RPCClient(path: path, software: "loft-rpc")
        defer { Task { await client.close() } }
        do {
            let line = try await client.callRaw(method: method, paramsJSON: data).get()
            let object = try JSONSerialization.jsonObject(with: Data(line.readableBytesView)) as? [String: Any]
            let result = object?["result"] ?? NSNull()
            let pretty = try JSONSerialization.data(
                withJSONObject: result, options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes])
            print(String(decoding: pretty, as: UTF8.self))
        } catch let error as RPCError {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            FileHandle.standardError.write(try encoder.encode(error) + Data("\n".utf8))
            throw ExitCode(1)
        }
    }
}
