import ArgumentParser
import RPCProtocol

/// `loft check`: asks the back-end whether the database and the body files agree.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check", abstract: "Check that the database and the message bodies agree (exit 1 if not).")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Flag(help: "Also check the database page by page and re-hash every message body (reads the whole store).")
    var deep = false
    func run() async throws {
        let result = try await AdminConnection(global).call(Methods.storeVerify, StoreVerifyParams(deep: deep ? true : nil))
        if output.json {
            try printJSON(result)
        } else {
            print("\(result.messages) messages, \(result.bodies) message bodies")
            for p in result.problems { print("problem: \(p)") }
            if result.problems.isEmpty { print("ok: database and files agree") }
        }
        if !result.problems.isEmpty { throw ExitCode(1) }
    }
}
