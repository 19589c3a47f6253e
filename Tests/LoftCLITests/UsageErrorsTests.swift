import ArgumentParser
import Testing

@testable import loft

/// Command-line mistakes answered with the right usage (issue 14).
@Suite struct UsageErrorsTests {
    /// (arguments, the unknown name, the suggestion): nil rows name a command or stop at an option.
    static let subcommandRows: [([String], String?, String?)] = [
        (["acount", "list"], "acount", "account"),
        (["account", "lst"], "lst", "list"),
        (["acount"], "acount", "account"),
        (["dmain", "add", "x"], "dmain", "domain"),
        (["account", "rm"], "rm", nil),
        (["xyz"], "xyz", nil),
        (["accounts"], "accounts", "account"),
        (["ali"], "ali", "alias"),  // a prefix of one command only
        (["s"], "s", nil),  // a prefix of serve, settings and smtp
        (["account", "list"], nil, nil),
        (["account", "add", "a@b.example"], nil, nil),
        (["--help"], nil, nil),
        (["account", "--help"], nil, nil),
        (["help", "account"], nil, nil),
        (["rpc", "domain.list"], nil, nil),
        ([], nil, nil),
    ]

    @Test func unknownSubcommandsGetTheNearestRealOne() {
        for (arguments, given, suggestion) in Self.subcommandRows {
            let unknown = UsageErrors.unknownSubcommand(arguments, root: Loft.self)
            #expect(unknown?.given == given, "\(arguments)")
            #expect(unknown?.suggestion == suggestion, "\(arguments): \(String(describing: unknown))")
        }
        let message = UsageErrors.message(for: UsageErrors.unknownSubcommand(["account", "lst"], root: Loft.self)!)
        #expect(message.contains("'lst' is not a loft account command. Did you mean 'list'?"))
        #expect(message.contains("Usage: loft account <subcommand>") && message.contains("Commands: add, set, show, list, remove"))
    }

    /// (text, bytes, what the refusal says).
    static let sizeRows: [(String, Int64?, String)] = [
        ("500M", 500 << 20, ""), ("0", 0, ""), ("1024", 1024, ""), ("2g", 2 << 30, ""), ("25MB", 25 << 20, ""),
        ("12Q", nil, "\"12Q\" is not a size"), ("-5", nil, "cannot be negative"), ("", nil, "is not a size"),
        ("99999999T", nil, "is not a size"),
    ]

    @Test func sizesNameTheAcceptedForms() {
        for (text, bytes, refusal) in Self.sizeRows {
            do {
                let n = try UsageErrors.size(text, option: "quota", zero: "no quota")
                #expect(n == bytes && refusal.isEmpty, "\(text)")
            } catch let error as ValidationError {
                #expect(bytes == nil && error.message.contains(refusal), "\(text): \(error.message)")
                #expect(error.message.hasPrefix("--quota: ") && error.message.contains("500M or 2G, or 0 for no quota"))
            } catch {
                Issue.record("\(text): \(error)")
            }
        }
    }

    /// Checks made while parsing name the subcommand's usage; `--quota -5` is a value, not a missing one.
    @Test func parseErrorsNameTheSubcommand() {
        for (arguments, expected) in [
            (["account", "add", "carol@example.org"], "--password-stdin"),
            (["account", "add", "c@example.org", "--password-stdin", "--quota", "-5"], "cannot be negative"),
            (["account", "set", "c@example.org", "--max-message", "12Q"], "\"12Q\" is not a size"),
            (["settings", "--max-message", "100"], "at least 1K"),
        ] {
            do {
                _ = try Loft.parseAsRoot(arguments)
                Issue.record("\(arguments) parsed")
            } catch {
                let message = Loft.fullMessage(for: error)
                #expect(message.contains(expected), "\(arguments): \(message)")
                #expect(Loft.exitCode(for: error) == .validationFailure, "\(arguments)")
            }
        }
        let usage = UsageErrors.message(for: ValidationError("x"), in: AccountCommand.Add.self, root: Loft.self)
        #expect(usage.contains("Usage: loft account add [<options>] <address>") && usage.contains("See 'loft account add --help'"))
    }

    @Test func editDistance() {
        for (a, b, d) in [("acount", "account", 1), ("lsit", "list", 1), ("", "abc", 3), ("same", "same", 0), ("kitten", "sitting", 3)] {
            #expect(UsageErrors.distance(a, b) == d, "\(a) \(b)")
        }
    }
}
