import Foundation
public import Logging
import MailCore
public import RPCProtocol
import RPCTransport
import Storage

/// domain.*, account.*, alias.*, group.*, settings.*, queue.list: the admin socket's methods.
extension Backend {
    func registerAdmin() {
        registerVerify()
        blocking(Methods.domainAdd) { _, p in
            defer { self.directory.changed() }
            guard let domain = DomainName(p.name), !domain.name.hasPrefix("[") else {
                throw RPCError(.invalidParams, "not a valid domain name: \(p.name.debugDescription)", field: "name")
            }
            let record = try self.store.addDomain(domain.name)
            self.audit("domain.add", record.name, "domain \(record.name) added")
            return DomainInfo(name: record.name, accounts: record.accounts)
        }
        blocking(Methods.domainList) { _, _ in
            DomainListResult(domains: try self.store.domains().map { DomainInfo(name: $0.name, accounts: $0.accounts) })
        }
        blocking(Methods.domainRemove) { _, p in
            defer { self.directory.changed() }
            try self.store.removeDomain(DomainName(p.name)?.name ?? p.name)
            self.audit("domain.remove", p.name, "domain \(p.name) removed")
            return Empty()
        }

        blocking(Methods.accountAdd) { _, p in
            defer { self.directory.changed() }
            let address = try Self.address(p.address)
            try self.checkNewPassword(p.password, for: address)
            if let secret = p.apopSecret {
                try Self.checkSecret(secret, password: p.password)
            }
            let forward = try p.forwardTo.flatMap { $0.isEmpty ? nil : try Self.address($0, field: "forwardTo").description }
            try Self.checkSizes(quota: p.quotaBytes, maxMessage: p.maxMessageBytes)
            let record = try self.store.addAccount(
                NewAccount(
                    address: address.canonical, domain: address.domain.name, displayName: p.displayName,
                    passwordHash: try self.credentials.hashPassword(p.password),
                    scramSHA256: try self.credentials.scramVerifier(p.password),
                    quotaBytes: p.quotaBytes ?? 0, maxMessageBytes: p.maxMessageBytes ?? 0,
                    forwardTo: forward, forwardKeepCopy: p.forwardKeepCopy ?? false,
                    apopSecret: try p.apopSecret.map { try self.credentials.seal($0) },
                    mayManageMailboxes: p.mayManageMailboxes ?? true, enabled: p.enabled ?? true, givenName: Self.name(p.givenName),
                    surname: Self.name(p.surname), hiddenFromDirectory: p.hiddenFromDirectory ?? false))
            self.forgetChallengeResponseAvailability()
            self.audit("account.add", record.address, "account \(record.address) added")
            return Self.info(record)
        }
        blocking(Methods.accountGet) { _, p in
            guard let record = try self.store.account(address: try Self.address(p.address).canonical) else {
                throw RPCError(.noSuchAccount, "no account \(p.address)")
            }
            return Self.info(record)
        }
        blocking(Methods.accountList) { _, p in
            AccountListResult(accounts: try self.store.accounts(domain: p.domain.map { $0.lowercased() }).map(Self.info))
        }
        blocking(Methods.accountUpdate) { _, p in
            defer { self.directory.changed() }
            let address = try Self.address(p.address)
            var change = AccountChange()
            if let password = p.password {
                try self.checkNewPassword(password, for: address)
                change.passwordHash = try self.credentials.hashPassword(password)
                change.scramSHA256 = .some(try self.credentials.scramVerifier(password))
            }
            if let name = p.displayName { change.displayName = .some(Self.name(name)) }
            if let name = p.givenName { change.givenName = .some(Self.name(name)) }
            if let name = p.surname { change.surname = .some(Self.name(name)) }
            change.hiddenFromDirectory = p.hiddenFromDirectory
            try Self.checkSizes(quota: p.quotaBytes, maxMessage: p.maxMessageBytes)
            change.quotaBytes = p.quotaBytes
            change.maxMessageBytes = p.maxMessageBytes
            if let forward = p.forwardTo {
                change.forwardTo = .some(forward.isEmpty ? nil : try Self.address(forward, field: "forwardTo").description)
            }
            change.forwardKeepCopy = p.forwardKeepCopy
            if let secret = p.apopSecret {
                try Self.checkSecret(secret, password: p.password)
                change.apopSecret = .some(try self.credentials.seal(secret))
            } else if p.apopEnabled == true {
                guard let current = try self.store.account(address: address.canonical) else {
                    throw RPCError(.noSuchAccount, "no account \(address)")
                }
                if current.apopSecret == nil {
                    throw RPCError(.invalidParams, "turning APOP on needs an apopSecret", field: "apopSecret")
                }
            }
            if p.apopEnabled == false { change.apopSecret = .some(nil) }
            change.mayManageMailboxes = p.mayManageMailboxes
            change.enabled = p.enabled
            let updated = try self.store.updateAccount(address: address.canonical, change)
            self.forgetSessionState(updated.id)
            let fields = Self.changedFields(p)
            self.audit(
                "account.update", updated.address, "account \(updated.address) changed: \(fields.joined(separator: ", "))",
                ["fields": .string(fields.joined(separator: ","))])
            return Self.info(updated)
        }
        blocking(Methods.accountRemove) { _, p in
            defer { self.directory.changed() }
            let canonical = try Self.address(p.address).canonical
            let id = try self.store.account(address: canonical)?.id
            try self.store.removeAccount(address: canonical)
            if let id { self.forgetSessionState(id) }
            self.audit("account.remove", canonical, "account \(canonical) removed with its mail")
            return Empty()
        }

        blocking(Methods.aliasAdd) { _, p in
            defer { self.directory.changed() }
            let address = try Self.address(p.address)
            guard !p.targets.isEmpty else { throw RPCError(.invalidParams, "an alias needs at least one target", field: "targets") }
            let targets = try p.targets.enumerated().map { try Self.address($1, field: "targets.\($0)").description }
            if targets.contains(where: { EmailAddress($0)?.canonical == address.canonical }) {
                throw RPCError(.loopDetected, "an alias cannot point at itself")
            }
            let all = try self.store.addAlias(address: address.canonical, domain: address.domain.name, targets: targets)
            self.audit(
                "alias.add", address.canonical, "alias \(address.canonical) → \(targets.joined(separator: ", "))",
                ["targets": .string(targets.joined(separator: ","))])
            return AliasInfo(address: address.canonical, targets: all)
        }
        blocking(Methods.aliasRemove) { _, p in
            defer { self.directory.changed() }
            let alias = try Self.address(p.address).canonical
            try self.store.removeAlias(address: alias, target: p.target)
            self.audit("alias.remove", alias, "alias \(alias) removed" + (p.target.map { " (target \($0))" } ?? ""))
            return Empty()
        }
        blocking(Methods.aliasList) { _, p in
            AliasListResult(
                aliases: try self.store.aliases(domain: p.domain?.lowercased()).map { AliasInfo(address: $0.address, targets: $0.targets) })
        }

        blocking(Methods.groupAdd) { _, p in
            defer { self.directory.changed() }
            let address = try Self.address(p.address)
            let members = try p.members.enumerated().map { try Self.address($1, field: "members.\($0)").description }
            let g = try self.store.addGroup(address: address.canonical, domain: address.domain.name, name: p.name, members: members)
            self.audit("group.add", g.address, "group \(g.address) added with \(g.members.count) members")
            return GroupInfo(address: g.address, name: g.name, members: g.members)
        }
        blocking(Methods.groupMembers) { _, p in
            // Without add or remove it only reads (`loft group members`, `loft group show`).
            defer { if !(p.add ?? []).isEmpty || !(p.remove ?? []).isEmpty { self.directory.changed() } }
            let add = try (p.add ?? []).enumerated().map { try Self.address($1, field: "add.\($0)").description }
            let g = try self.store.changeGroupMembers(address: try Self.address(p.address).canonical, add: add, remove: p.remove ?? [])
            if !add.isEmpty || !(p.remove ?? []).isEmpty {
                self.audit(
                    "group.members", g.address, "group \(g.address): \(add.count) members added, \((p.remove ?? []).count) removed",
                    ["added": .string(add.joined(separator: ",")), "removed": .string((p.remove ?? []).joined(separator: ","))])
            }
            return GroupInfo(address: g.address, name: g.name, members: g.members)
        }
        blocking(Methods.groupRemove) { _, p in
            defer { self.directory.changed() }
            let group = try Self.address(p.address).canonical
            try self.store.removeGroup(address: group)
            self.audit("group.remove", group, "group \(group) removed")
            return Empty()
        }
        blocking(Methods.groupList) { _, p in
            GroupListResult(
                groups: try self.store.groups(domain: p.domain?.lowercased()).map {
                    GroupInfo(address: $0.address, name: $0.name, members: $0.members)
                })
        }

        blocking(Methods.settingsGet) { _, _ in ServerSettings(maxMessageBytes: self.serverMaxMessageBytes) }
        blocking(Methods.settingsSet) { _, p in
            if let max = p.maxMessageBytes {
                guard max >= 1024 else { throw RPCError(.invalidParams, "maxMessageBytes must be at least 1024", field: "maxMessageBytes") }
                try self.store.setSetting("max_message_bytes", String(max))
                // Tells the gateways (SMTP's SIZE) before the caller is answered.
                self.directory.changed(maxMessageBytes: max)
                self.audit("settings.set", "maxMessageBytes", "server-wide message size limit set to \(max) bytes")
            }
            return ServerSettings(maxMessageBytes: self.serverMaxMessageBytes)
        }
    }

    func registerVerify() {
        blocking(Methods.storeVerify) { _, p in
            let problems = try self.store.verify(deep: p.deep ?? false)
            let counts = try self.store.counts()
            return StoreVerifyResult(problems: problems, messages: counts.messages, bodies: counts.bodies)
        }
        blocking(Methods.serverStatus) { _, _ in try self.status() }
        blocking(Methods.storeBackup) { _, p in
            let started = Date()
            let m = try self.store.snapshot(to: p.directory, extraFiles: Self.backedUpFiles)
            self.audit(
                "store.backup", p.directory,
                "backup to \(p.directory): \(m.messages) messages, \(m.bodies) bodies (\(m.fileBodies) files), \(ByteSize.approximate(m.bytes)) in \(String(format: "%.1f", Date().timeIntervalSince(started))) s"
            )
            return StoreBackupResult(
                directory: p.directory, createdAt: m.createdAt, messages: m.messages, bodies: m.bodies, fileBodies: m.fileBodies,
                bytes: m.bytes)
        }
    }

    /// One line per change an administrator makes (issue 14): `event=admin action=account.update
    /// target=alice@example.org fields=quota,password`, at notice. Never a password or secret.
    func audit(_ action: String, _ target: String, _ message: String, _ details: Logger.Metadata = [:]) {
        var metadata: Logger.Metadata = ["event": "admin", "action": .string(action), "target": .string(target)]
        metadata.merge(details) { $1 }
        logger.notice("\(message)", metadata: metadata)
    }

    /// The settings an `account.update` changes, by name (never their values).
    static func changedFields(_ p: AccountUpdateParams) -> [String] {
        var out: [String] = []
        if p.password != nil { out.append("password") }
        if p.displayName != nil { out.append("displayName") }
        if p.givenName != nil { out.append("givenName") }
        if p.surname != nil { out.append("surname") }
        if p.hiddenFromDirectory != nil { out.append("hiddenFromDirectory") }
        if p.quotaBytes != nil { out.append("quotaBytes") }
        if p.maxMessageBytes != nil { out.append("maxMessageBytes") }
        if p.forwardTo != nil { out.append("forwardTo") }
        if p.forwardKeepCopy != nil { out.append("forwardKeepCopy") }
        if p.apopSecret != nil { out.append("apopSecret") }
        if let on = p.apopEnabled { out.append(on ? "apopEnabled" : "apopDisabled") }
        if p.mayManageMailboxes != nil { out.append("mayManageMailboxes") }
        if let enabled = p.enabled { out.append(enabled ? "enabled" : "disabled") }
        return out
    }

    /// Files of the data directory a backup carries besides the store: the key that seals
    /// challenge-response secrets and signs sessions (without it a restored store's APOP and
    /// CRAM-MD5 secrets are unreadable), and the self-signed TLS pair `loft serve` made.
    static let backedUpFiles = [Credentials.keyFile, "tls/cert.pem", "tls/key.pem"]

    /// `loft backend --check`: what starting on `dataDirectory` would migrate, changing
    /// nothing. `pending` as (migration, what it does).
    public static func migrationCheck(
        dataDirectory: String
    ) throws -> (
        exists: Bool, applied: [String], pending: [(id: String, summary: String)], unknown: [String], current: String
    ) {
        let plan = try SQLiteStore.migrationPlan(directory: dataDirectory)
        return (plan.exists, plan.applied, plan.pending.map { ($0.id, $0.summary) }, plan.unknown, plan.current)
    }

    /// `loft restore`: a backup brought back into an empty data directory, checked page by
    /// page with every body re-hashed; what it holds and the problems found (none when whole).
    public static func restore(backup: String, dataDirectory: String, logger: Logger) throws -> (StoreBackupResult, [String]) {
        let (m, problems) = try SQLiteStore.restore(from: backup, into: dataDirectory, logger: logger)
        return (
            StoreBackupResult(
                directory: dataDirectory, createdAt: m.createdAt, messages: m.messages, bodies: m.bodies, fileBodies: m.fileBodies,
                bytes: m.bytes),
            problems
        )
    }

    /// `server.status`: the store's size, free space, the queue, and what needs the
    /// administrator (space running low: the point where new mail is refused, or within twice
    /// that distance of it).
    func status() throws -> ServerStatusResult {
        let s = try store.summary()
        let free = store.availableBytes()
        var problems: [String] = []
        if let free, free < config.minFreeBytes {
            problems.append(
                "disk space: \(ByteSize.approximate(free)) free, below backend.min_free_space (\(ByteSize.approximate(config.minFreeBytes))); new mail is refused until space is freed"
            )
        } else if let free, free < 2 * config.minFreeBytes {
            problems.append(
                "disk space: only \(ByteSize.approximate(free)) free; below \(ByteSize.approximate(config.minFreeBytes)) (backend.min_free_space) new mail is refused"
            )
        }
        return ServerStatusResult(
            pid: getpid(), startedAt: startedAt, domains: s.domains, accounts: s.accounts, messages: s.messages,
            messageBytes: s.messageBytes, bodies: s.bodies, bodyBytes: s.bodyBytes, fileBodies: s.fileBodies,
            fileBodyBytes: s.fileBodyBytes, databaseBytes: s.databaseBytes, freeBytes: free, minFreeBytes: config.minFreeBytes,
            maxMessageBytes: serverMaxMessageBytes,
            queue: try queueStatus(), problems: problems)
    }

    static func info(_ a: AccountRecord) -> AccountInfo {
        var info = AccountInfo(
            address: a.address, displayName: a.displayName, quotaBytes: a.quotaBytes, maxMessageBytes: a.maxMessageBytes,
            forwardTo: a.forwardTo, forwardKeepCopy: a.forwardKeepCopy, apopEnabled: a.apopSecret != nil,
            mayManageMailboxes: a.mayManageMailboxes, enabled: a.enabled, usedBytes: a.usedBytes, messages: a.messageCount,
            createdAt: a.createdAt)
        info.givenName = a.givenName
        info.surname = a.surname
        info.hiddenFromDirectory = a.hiddenFromDirectory
        return info
    }

    /// A person's name as given: surrounding spaces dropped, empty meaning none.
    static func name(_ text: String?) -> String? {
        guard let trimmed = text?.trimmingCharacters(in: .whitespaces), !trimmed.isEmpty else { return nil }
        return trimmed
    }

    static let maxPasswordBytes = 1024

    static func checkPassword(_ password: String) throws {
        guard !password.isEmpty else { throw RPCError(.invalidParams, "the password must not be empty", field: "password") }
        guard password.utf8.count <= maxPasswordBytes else {
            throw RPCError(.invalidParams, "the password is longer than \(maxPasswordBytes) bytes", field: "password")
        }
        guard !password.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) else {
            throw RPCError(.invalidParams, "the password contains control characters", field: "password")
        }
    }

    /// A password an administrator sets: well formed, at least `minPasswordLength` characters,
    /// and not the address or its local part, whatever the case (the first guesses anyone makes).
    func checkNewPassword(_ password: String, for address: EmailAddress) throws {
        try Self.checkPassword(password)
        let length = password.unicodeScalars.count
        guard length >= config.minPasswordLength else {
            throw RPCError(
                .invalidParams, "the password is \(length) characters long; at least \(config.minPasswordLength) are required",
                field: "password")
        }
        let lowered = password.lowercased()
        guard lowered != address.localPart.lowercased(), lowered != address.canonical.lowercased() else {
            throw RPCError(.invalidParams, "the password must not be the account's address or its local part", field: "password")
        }
    }

    /// The APOP secret is a second secret (DESIGN §5): not empty, and not the login password.
    static func checkSecret(_ secret: String, password: String?) throws {
        try checkPassword(secret)
        if let password, password == secret {
            throw RPCError(.invalidParams, "the APOP secret must differ from the login password", field: "apopSecret")
        }
    }

    static func checkSizes(quota: Int64?, maxMessage: Int64?) throws {
        if let q = quota, q < 0 { throw RPCError(.invalidParams, "quotaBytes must be 0 (no limit) or positive", field: "quotaBytes") }
        if let m = maxMessage, m < 0 {
            throw RPCError(.invalidParams, "maxMessageBytes must be 0 (server limit) or positive", field: "maxMessageBytes")
        }
    }
}
