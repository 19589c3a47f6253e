import ArgumentParser
import Foundation
import MailCore
import RPCProtocol

struct DomainCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domain", abstract: "Manage the domains Loft receives mail for.", subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a local domain.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The domain, e.g. example.org.") var name: String
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.domainAdd, DomainParams(name: name))
            if output.json { try printJSON(result) } else { print("added domain \(result.name)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List local domains.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.domainList, Empty())
            if output.json { return try printJSON(result) }
            printTable(["DOMAIN", "ACCOUNTS"], result.domains.map { [$0.name, String($0.accounts)] })
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a domain that has no accounts, aliases or groups left.")
        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        func run() async throws {
            _ = try await AdminConnection(global).call(Methods.domainRemove, DomainParams(name: name))
            print("removed domain \(name)")
        }
    }
}

/// Settings shared by `account add` and `account set`.
struct AccountSettingOptions: ParsableArguments {
    // `.unconditional`: `--quota -5` is a value to refuse with the accepted forms, not a missing one.
    @Option(parsing: .unconditional, help: ArgumentHelp("Storage quota, e.g. 500M or 2G; 0 for none.", valueName: "size"))
    var quota: String?
    @Option(
        name: .customLong("max-message"), parsing: .unconditional,
        help: ArgumentHelp("Largest message this account receives, e.g. 25M; 0 for the server's limit.", valueName: "size"))
    var maxMessage: String?
    @Option(help: ArgumentHelp("Forward mail to this address; \"\" stops forwarding.", valueName: "address")) var forward: String?
    @Flag(name: .customLong("keep-copy"), inversion: .prefixedNo, help: "With --forward: also keep a copy in this account.")
    var keepCopy: Bool?
    @Flag(
        name: .customLong("apop-secret-stdin"),
        help: "Read the APOP/CRAM-MD5 secret from standard input (after the password, if both) and turn APOP on.")
    var apopSecretStdin = false
    @Flag(
        name: .customLong("mailbox-management"), inversion: .prefixedNo,
        help: "Whether IMAP clients may create, rename and delete mailboxes.")
    var mailboxManagement: Bool?
    @Option(
        name: [.customLong("name"), .customLong("display-name")], help: "The person's name, as the directory shows it; \"\" clears it.")
    var displayName: String?
    @Option(name: .customLong("given-name"), help: "Given name (the directory's givenName); \"\" clears it.") var givenName: String?
    @Option(help: "Surname (the directory's sn); \"\" clears it.") var surname: String?
    @Flag(name: .customLong("hidden"), inversion: .prefixedNo, help: "Keep the account out of the LDAP directory.") var hidden: Bool?

    /// Checked while parsing, before anything is read from standard input.
    func validate() throws {
        _ = try quotaBytes
        _ = try maxMessageBytes
    }

    var quotaBytes: Int64? { get throws { try UsageErrors.size(quota, option: "quota", zero: "no quota") } }
    var maxMessageBytes: Int64? { get throws { try UsageErrors.size(maxMessage, option: "max-message", zero: "the server's limit") } }
}

struct AccountCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "account", abstract: "Manage mail accounts and their settings.",
        subcommands: [Add.self, Set.self, Show.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an account.",
            discussion: "Example: echo 'pw' | loft account add alice@example.org --password-stdin --quota 500M --max-message 25M")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The address, e.g. alice@example.org.") var address: String
        @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.") var passwordStdin =
            false
        @OptionGroup var settings: AccountSettingOptions
        @Flag(name: .customLong("disabled"), help: "Create the account disabled.") var disabled = false

        func validate() throws {
            guard passwordStdin else {
                throw ValidationError(
                    "give the password on standard input with --password-stdin, e.g. echo 'pw' | loft account add \(address) --password-stdin"
                )
            }
        }

        func run() async throws {
            let password = try readSecretLine("password")
            let secret = settings.apopSecretStdin ? try readSecretLine("APOP secret") : nil
            var params = AccountAddParams(
                address: address, password: password, displayName: settings.displayName,
                quotaBytes: try settings.quotaBytes,
                maxMessageBytes: try settings.maxMessageBytes, forwardTo: settings.forward,
                forwardKeepCopy: settings.keepCopy, apopSecret: secret, mayManageMailboxes: settings.mailboxManagement, enabled: !disabled)
            params.givenName = settings.givenName
            params.surname = settings.surname
            params.hiddenFromDirectory = settings.hidden
            let result = try await AdminConnection(global).call(Methods.accountAdd, params)
            if output.json { try printJSON(result) } else { print("added account \(result.address)") }
        }
    }

    struct Set: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change an account's settings.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument var address: String
        @Flag(name: .customLong("password-stdin"), help: "Read a new password from the first line of standard input.") var passwordStdin =
            false
        @OptionGroup var settings: AccountSettingOptions
        @Flag(name: .customLong("no-apop"), help: "Turn APOP and CRAM-MD5 off and erase the secret.") var noAPOP = false
        @Flag(name: .customLong("enabled"), inversion: .prefixedNo, help: "Enable or disable the account.") var enabled: Bool?

        func run() async throws {
            let password = passwordStdin ? try readSecretLine("password") : nil
            let secret = settings.apopSecretStdin ? try readSecretLine("APOP secret") : nil
            var params = AccountUpdateParams(
                address: address, password: password, displayName: settings.displayName,
                quotaBytes: try settings.quotaBytes,
                maxMessageBytes: try settings.maxMessageBytes, forwardTo: settings.forward,
                forwardKeepCopy: settings.keepCopy, apopSecret: secret, apopEnabled: noAPOP ? false : nil,
                mayManageMailboxes: settings.mailboxManagement, enabled: enabled)
            params.givenName = settings.givenName
            params.surname = settings.surname
            params.hiddenFromDirectory = settings.hidden
            let result = try await AdminConnection(global).call(Methods.accountUpdate, params)
            if output.json { try printJSON(result) } else { Show.describe(result) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show an account's settings and usage.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument var address: String
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.accountGet, AddressParams(address: address))
            if output.json { try printJSON(result) } else { Self.describe(result) }
        }

        static func describe(_ a: AccountInfo) {
            func size(_ n: Int64, zero: String) -> String { n == 0 ? zero : ByteSize.format(n) }
            let rows: [(String, String)] = [
                ("address", a.address),
                ("name", a.displayName ?? "-"),
                ("given name", a.givenName ?? "-"),
                ("surname", a.surname ?? "-"),
                ("in the directory", a.hiddenFromDirectory == true ? "hidden" : "listed"),
                ("enabled", a.enabled ? "yes" : "no"),
                ("quota", size(a.quotaBytes, zero: "none")),
                ("used", "\(ByteSize.format(a.usedBytes)) in \(a.messages) messages"),
                ("max message", size(a.maxMessageBytes, zero: "server limit")),
                ("forward to", a.forwardTo.map { "\($0)\(a.forwardKeepCopy ? " (keeping a copy)" : "")" } ?? "-"),
                ("APOP/CRAM-MD5", a.apopEnabled ? "on" : "off"),
                ("mailbox management", a.mayManageMailboxes ? "allowed" : "forbidden"),
            ]
            for (k, v) in rows { print("\(k.padding(toLength: 19, withPad: " ", startingAt: 0)) \(v)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this domain.") var domain: String?
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.accountList, ListParams(domain: domain))
            if output.json { return try printJSON(result) }
            printTable(
                ["ADDRESS", "QUOTA", "USED", "MESSAGES", "ENABLED"],
                result.accounts.map {
                    [
                        $0.address, $0.quotaBytes == 0 ? "none" : ByteSize.format($0.quotaBytes), ByteSize.format($0.usedBytes),
                        String($0.messages), $0.enabled ? "yes" : "no",
                    ]
                })
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an account and all its mail.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        func run() async throws {
            _ = try await AdminConnection(global).call(Methods.accountRemove, AddressParams(address: address))
            print("removed account \(address) and its mail")
        }
    }
}

struct AliasCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias", abstract: "Addresses that deliver to other addresses.", subcommands: [Add.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add an alias, or targets to it.", discussion: "Example: loft alias add postmaster@example.org alice@example.org")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument var address: String
        @Argument(help: "Local or remote addresses to deliver to.") var targets: [String]
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.aliasAdd, AliasParams(address: address, targets: targets))
            if output.json { try printJSON(result) } else { print("\(result.address) → \(result.targets.joined(separator: ", "))") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an alias, or one target of it.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        @Argument var target: String?
        func run() async throws {
            _ = try await AdminConnection(global).call(Methods.aliasRemove, AliasRemoveParams(address: address, target: target))
            print(target.map { "removed \($0) from \(address)" } ?? "removed alias \(address)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List aliases.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option var domain: String?
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.aliasList, ListParams(domain: domain))
            if output.json { return try printJSON(result) }
            printTable(["ALIAS", "TARGETS"], result.aliases.map { [$0.address, $0.targets.joined(separator: ", ")] })
        }
    }
}

struct GroupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "group", abstract: "List addresses that expand to their members.",
        subcommands: [Add.self, Show.self, Members.self, Remove.self, List.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a group.", discussion: "Example: loft group add team@example.org alice@example.org bob@example.org")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument var address: String
        @Argument var members: [String] = []
        @Option(help: "A name for the group.") var name: String?
        func run() async throws {
            let result = try await AdminConnection(global).call(
                Methods.groupAdd, GroupAddParams(address: address, name: name, members: members))
            if output.json { try printJSON(result) } else { print("group \(result.address): \(result.members.joined(separator: ", "))") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a group: its address, name and every member.", discussion: "Example: loft group show team@example.org")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument var address: String
        func run() async throws {
            // group.members with nothing to change answers the group as it is.
            let group = try await AdminConnection(global).call(Methods.groupMembers, GroupMembersParams(address: address))
            if output.json { return try printJSON(group) }
            print("group \(group.address)\(group.name.map { " (\($0))" } ?? "")")
            print(group.members.isEmpty ? "no members" : "members (\(group.members.count)):")
            for member in group.members { print("  \(member)") }
        }
    }

    struct Members: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show, add or remove members.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument var address: String
        @Option(name: .customLong("add"), help: "Add a member (repeatable).") var add: [String] = []
        @Option(name: .customLong("remove"), help: "Remove a member (repeatable).") var remove: [String] = []
        func run() async throws {
            let result = try await AdminConnection(global).call(
                Methods.groupMembers, GroupMembersParams(address: address, add: add, remove: remove))
            if output.json { return try printJSON(result) }
            for m in result.members { print(m) }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a group.")
        @OptionGroup var global: GlobalOptions
        @Argument var address: String
        func run() async throws {
            _ = try await AdminConnection(global).call(Methods.groupRemove, AddressParams(address: address))
            print("removed group \(address)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List groups.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option var domain: String?
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.groupList, ListParams(domain: domain))
            if output.json { return try printJSON(result) }
            printTable(["GROUP", "MEMBERS"], result.groups.map { [$0.address, String($0.members.count)] })
        }
    }
}

struct SettingsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settings", abstract: "Show or change server-wide settings.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var output: OutputOptions
    @Option(
        name: .customLong("max-message"), parsing: .unconditional,
        help: ArgumentHelp("The largest message the server accepts, e.g. 50M (at least 1K).", valueName: "size"))
    var maxMessage: String?
    func validate() throws {
        if let n = try UsageErrors.size(maxMessage, option: "max-message"), n < 1024 {
            throw ValidationError("--max-message: the server's limit must be at least 1K")
        }
    }
    func run() async throws {
        let admin = try AdminConnection(global)
        let result: ServerSettings
        if let n = try UsageErrors.size(maxMessage, option: "max-message") {
            result = try await admin.call(Methods.settingsSet, ServerSettingsUpdate(maxMessageBytes: n))
        } else {
            result = try await admin.call(Methods.settingsGet, Empty())
        }
        if output.json { try printJSON(result) } else { print("max message size  \(ByteSize.format(result.maxMessageBytes))") }
    }
}

struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Inspect and manage the outbound queue.",
        subcommands: [List.self, Show.self, Retry.self, Remove.self, Status.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List queued messages with each recipient's state.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "At most this many messages.") var limit = 100
        @Option(help: "Start after this queue id (the last of the page before).") var after: Int64?
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.queueList, QueueListParams(limit: limit, after: after))
            if output.json { return try printJSON(result) }
            printTable(
                ["ID", "SENDER", "SIZE", "AGE", "RECIPIENTS"],
                result.entries.map { entry in
                    let states = entry.states ?? []
                    let recipients =
                        states.isEmpty
                        ? entry.recipients.joined(separator: ", ")
                        : states.map { "\($0.recipient) (\($0.status)\($0.attempts > 0 ? ", \($0.attempts) tries" : ""))" }
                            .joined(separator: ", ")
                    return [
                        String(entry.id), entry.sender.isEmpty ? "<>" : entry.sender, ByteSize.format(entry.size),
                        QueueCommand.age(since: entry.createdAt), recipients,
                    ]
                })
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one queued message and its recipients' last replies.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The queue id (from `loft queue list`).") var id: Int64
        func run() async throws {
            let entry = try await AdminConnection(global).call(Methods.queueShow, QueueIDParams(id: id))
            if output.json { return try printJSON(entry) }
            print("queue id:   \(entry.id)")
            print("sender:     \(entry.sender.isEmpty ? "<>" : "<\(entry.sender)>")")
            print("size:       \(ByteSize.format(entry.size)) (\(entry.bodyType ?? "7bit")\(entry.smtputf8 == true ? ", SMTPUTF8" : ""))")
            print("queued:     \(QueueCommand.time(entry.createdAt)) (\(QueueCommand.age(since: entry.createdAt)) ago)")
            if let expires = entry.expiresAt { print("gives up:   \(QueueCommand.time(expires))") }
            if let origin = entry.origin { print("origin:     \(origin)") }
            for state in entry.states ?? [] {
                print("")
                print("  <\(state.recipient)>: \(state.status), \(state.attempts) attempts")
                if !["delivered", "failed"].contains(state.status) { print("    next attempt: \(QueueCommand.time(state.nextAttemptAt))") }
                if let at = state.lastAttemptAt {
                    let reply = [state.lastCode.map(String.init), state.lastEnhancedCode, state.lastReply].compactMap { $0 }.joined(
                        separator: " ")
                    print("    last attempt: \(QueueCommand.time(at))\(state.remoteMta.map { " at \($0)" } ?? ""): \(reply)")
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Try waiting recipients now (one message, or all with --all).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The queue id.") var id: Int64?
        @Flag(help: "Every waiting recipient of every message.") var all = false
        func validate() throws {
            guard (id == nil) == all else { throw ValidationError("give a queue id or --all, not both or neither") }
        }
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.queueRetry, QueueRetryParams(id: id))
            print("\(result.changed) recipient\(result.changed == 1 ? "" : "s") due now")
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give up on a queued message's remaining recipients.",
            discussion: "With --bounce the sender gets a delivery status notification for them; without it they are dropped silently.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The queue id.") var id: Int64
        @Flag(help: "Tell the sender.") var bounce = false
        func run() async throws {
            let result = try await AdminConnection(global).call(Methods.queueRemove, QueueRemoveParams(id: id, bounce: bounce))
            print("\(result.changed) recipient\(result.changed == 1 ? "" : "s") removed\(bounce ? ", sender notified" : "")")
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The queue's size, its oldest message and the next attempt.")
        @OptionGroup var global: GlobalOptions
        @OptionGroup var output: OutputOptions
        func run() async throws {
            let status = try await AdminConnection(global).call(Methods.queueStatus, Empty())
            if output.json { return try printJSON(status) }
            print("messages:   \(status.messages)")
            print("recipients: \(status.recipients) waiting (\(status.deferred) deferred, \(status.leased) being delivered)")
            if let oldest = status.oldestAt { print("oldest:     \(QueueCommand.time(oldest)) (\(QueueCommand.age(since: oldest)) ago)") }
            if let next = status.nextDueAt { print("next due:   \(QueueCommand.time(next))") }
        }
    }

    static func time(_ seconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// How long ago, as `loft status` writes spans ("2h 5m").
    static func age(since seconds: Int64) -> String {
        StatusReport.span(Int64(Date().timeIntervalSince1970) - seconds)
    }
}
