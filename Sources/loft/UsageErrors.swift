import ArgumentParser
import Foundation
import MailCore

/// Command-line mistakes answered with the command's own usage (issue 14): an unknown
/// subcommand gets the nearest real one suggested, a size is checked with the accepted forms
/// named, and a check made while a command runs names that command's usage line, not the root's.
enum UsageErrors {
    /// The accepted forms of a size, for every message about one.
    static let sizeForms = "a whole number of bytes with an optional K, M, G or T (1024-based), e.g. 500M or 2G"

    /// A size option's value (`--quota 500M`): nil when absent; a `ValidationError` naming the
    /// accepted forms when it is not one.
    static func size(_ text: String?, option: String, zero: String? = nil) throws -> Int64? {
        guard let text else { return nil }
        if let n = ByteSize.parse(text) { return n }
        let why =
            text.drop(while: { $0 == " " || $0 == "\t" }).hasPrefix("-")
            ? "a size cannot be negative" : "\(text.debugDescription) is not a size"
        throw ValidationError("--\(option): \(why); give \(sizeForms)\(zero.map { ", or 0 for \($0)" } ?? "")")
    }

    /// The subcommand names on the path `arguments` walks under `root`, and the first one that
    /// is not a subcommand there, with the nearest real name when one is close: nil when the
    /// arguments name a command (or stop at an option, which the parser then checks).
    struct UnknownSubcommand: Equatable {
        var path: [String]
        var given: String
        var suggestion: String?
        var known: [String]
    }

    static func unknownSubcommand(_ arguments: [String], root: any ParsableCommand.Type) -> UnknownSubcommand? {
        var command = root
        var path = [name(of: root)]
        for argument in arguments {
            let subcommands = command.configuration.subcommands
            guard !subcommands.isEmpty, !argument.hasPrefix("-"), argument != "help" else { return nil }
            guard let next = subcommands.first(where: { name(of: $0) == argument }) else {
                let known = subcommands.map { name(of: $0) }
                return UnknownSubcommand(path: path, given: argument, suggestion: nearest(argument, in: known), known: known)
            }
            command = next
            path.append(name(of: next))
        }
        return nil
    }

    /// The name closest to `given` by edit distance, when at most a third of it differs
    /// (`acount` → `account`, `lst` → `list`), or the one it is a prefix of.
    static func nearest(_ given: String, in names: [String]) -> String? {
        let lowered = given.lowercased()
        if let prefixed = names.filter({ $0.hasPrefix(lowered) }).onlyElement { return prefixed }
        let scored = names.map { ($0, distance(lowered, $0)) }.sorted { $0.1 < $1.1 }
        guard let best = scored.first, best.1 <= max(1, lowered.count / 3) else { return nil }
        return scored.count > 1 && scored[1].1 == best.1 ? nil : best.0
    }

    /// Levenshtein distance, with a swap of neighbours counted once (Damerau).
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] { d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1) }
            }
        }
        return d[a.count][b.count]
    }

    /// The message for an unknown subcommand, as ArgumentParser words its own errors.
    static func message(for unknown: UnknownSubcommand) -> String {
        let command = unknown.path.joined(separator: " ")
        var text = "Error: '\(unknown.given)' is not a \(command) command."
        if let suggestion = unknown.suggestion { text += " Did you mean '\(suggestion)'?" }
        text += "\nCommands: \(unknown.known.joined(separator: ", "))\n"
        text += "Usage: \(command) <subcommand>\n  See '\(command) --help' for more information.\n"
        return text
    }

    /// The path of names from `root` to `target`, e.g. ["loft", "account", "add"].
    static func path(to target: any ParsableCommand.Type, from root: any ParsableCommand.Type) -> [String]? {
        if ObjectIdentifier(target) == ObjectIdentifier(root) { return [name(of: root)] }
        for sub in root.configuration.subcommands {
            if let rest = path(to: target, from: sub) { return [name(of: root)] + rest }
        }
        return nil
    }

    /// A `ValidationError` thrown while `command` ran, with that command's usage line.
    static func message(for error: ValidationError, in command: any ParsableCommand.Type, root: any ParsableCommand.Type) -> String {
        let name = (path(to: command, from: root) ?? [self.name(of: root)]).joined(separator: " ")
        return "Error: \(error.message)\nUsage: \(root.usageString(for: command))\n  See '\(name) --help' for more information.\n"
    }

    static func name(of command: any ParsableCommand.Type) -> String { command._commandName }
}

extension Array {
    fileprivate var onlyElement: Element? { count == 1 ? first : nil }
}
