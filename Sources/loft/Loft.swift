import ArgumentParser
import Foundation

/// `loft`: one executable, one subcommand per process role (DESIGN §1). Argument parsing and
/// wiring only; the work lives in the library modules.
@main
struct Loft: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loft",
        abstract: "Loft, a complete mail server: SMTP, POP3, IMAP, web mail and LDAP around one back-end.",
        discussion: """
            Start everything with `loft serve`, then add a domain and an account:
              loft domain add example.test
              echo 'a-good-password' | loft account add alice@example.test --password-stdin
            Every command talks to the back-end over its admin socket in the data directory
            (--data, $LOFT_DATA, the config's data_dir, else ./loft-data), or in socket_dir.
            """,
        subcommands: [
            Serve.self, BackendCommand.self, DomainCommand.self, AccountCommand.self, AliasCommand.self, GroupCommand.self,
            SettingsCommand.self, QueueCommand.self, StatusCommand.self, BackupCommand.self, RestoreCommand.self, ImportCommand.self,
            ExportCommand.self, RPCCommand.self,
            CheckCommand.self, POP3Command.self,
            IMAPGatewayCommand.self,
            LDAPGatewayCommand.self, SMTPCommand.self, RelayCommand.self,
        ])

    /// Installs signal handling before any subcommand starts (see `Termination`), then runs it.
    static func main() async {
        Termination.shared.install()
        DescriptorLimit.raise()
        let arguments = Array(CommandLine.arguments.dropFirst())
        if let unknown = UsageErrors.unknownSubcommand(arguments, root: Self.self) {
            FileHandle.standardError.write(Data(UsageErrors.message(for: unknown).utf8))
            exit(withError: ExitCode(EX_USAGE))
        }
        do {
            var command = try parseAsRoot()
            do {
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            } catch let error as ValidationError {
                // Checked while running: name this command's usage, not the root's.
                FileHandle.standardError.write(Data(UsageErrors.message(for: error, in: type(of: command), root: Self.self).utf8))
                exit(withError: ExitCode(EX_USAGE))
            }
        } catch {
            exit(withError: error)
        }
    }
}
