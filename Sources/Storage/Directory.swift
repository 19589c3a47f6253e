import Foundation
import GRDB

/// An account's stored row. `address` is canonical (lower case).
public struct AccountRecord: Sendable, Equatable {
    public var id: Int64
    public var address: String
    public var displayName: String?
    public var givenName: String?
    public var surname: String?
    public var hiddenFromDirectory = false
    public var passwordHash: String
    public var scramSHA256: String?
    public var quotaBytes: Int64
    public var maxMessageBytes: Int64
    public var forwardTo: String?
    public var forwardKeepCopy: Bool
    public var apopSecret: [UInt8]?
    public var mayManageMailboxes: Bool
    public var enabled: Bool
    public var sessionGeneration: Int64 = 0
    public var usedBytes: Int64
    public var messageCount: Int64
    public var createdAt: Int64

    public init(
        id: Int64, address: String, displayName: String?, passwordHash: String, scramSHA256: String?, quotaBytes: Int64,
        maxMessageBytes: Int64, forwardTo: String?, forwardKeepCopy: Bool, apopSecret: [UInt8]?, mayManageMailboxes: Bool,
        enabled: Bool, usedBytes: Int64, messageCount: Int64, createdAt: Int64
    ) {
        self.id = id
        self.address = address
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.scramSHA256 = scramSHA256
        self.quotaBytes = quotaBytes
        self.maxMessageBytes = maxMessageBytes
        self.forwardTo = forwardTo
        self.forwardKeepCopy = forwardKeepCopy
        self.apopSecret = apopSecret
        self.mayManageMailboxes = mayManageMailboxes
        self.enabled = enabled
        self.usedBytes = usedBytes
        self.messageCount = messageCount
        self.createdAt = createdAt
    }

    init(row: Row) {
        id = row["id"]
        address = row["address"]
        displayName = row["display_name"]
        givenName = row["given_name"]
        surname = row["surname"]
        hiddenFromDirectory = row["directory_hidden"]
        passwordHash = row["password_hash"]
        scramSHA256 = row["scram_sha256"]
        quotaBytes = row["quota_bytes"]
        maxMessageBytes = row["max_message_bytes"]
        forwardTo = row["forward_to"]
        forwardKeepCopy = row["forward_keep_copy"]
        apopSecret = (row["apop_secret"] as Data?).map { [UInt8]($0) }
        mayManageMailboxes = row["may_manage_mailboxes"]
        enabled = row["enabled"]
        sessionGeneration = row["session_generation"]
        usedBytes = row["used_bytes"]
        messageCount = row["message_count"]
        createdAt = row["created_at"]
    }
}

/// The fields an account is created with; the store fills in the rest.
public struct NewAccount: Sendable {
    public var address: String
    public var domain: String
    public var displayName: String?
    public var passwordHash: String
    public var scramSHA256: String?
    public var quotaBytes: Int64
    public var maxMessageBytes: Int64
    public var forwardTo: String?
    public var forwardKeepCopy: Bool
    public var apopSecret: [UInt8]?
    public var mayManageMailboxes: Bool
    public var enabled: Bool
    public var givenName: String?
    public var surname: String?
    public var hiddenFromDirectory: Bool
    public init(
        address: String, domain: String, displayName: String?, passwordHash: String, scramSHA256: String?, quotaBytes: Int64,
        maxMessageBytes: Int64, forwardTo: String?, forwardKeepCopy: Bool, apopSecret: [UInt8]?, mayManageMailboxes: Bool, enabled: Bool,
        givenName: String? = nil, surname: String? = nil, hiddenFromDirectory: Bool = false
    ) {
        self.givenName = givenName
        self.surname = surname
        self.hiddenFromDirectory = hiddenFromDirectory
        self.address = address
        self.domain = domain
        self.displayName = displayName
        self.passwordHash = passwordHash
        self.scramSHA256 = scramSHA256
        self.quotaBytes = quotaBytes
        self.maxMessageBytes = maxMessageBytes
        self.forwardTo = forwardTo
        self.forwardKeepCopy = forwardKeepCopy
        self.apopSecret = apopSecret
        self.mayManageMailboxes = mayManageMailboxes
        self.enabled = enabled
    }
}

/// A change to an account: nil leaves a field alone; `.some(nil)` clears an optional one.
public struct AccountChange: Sendable {
    public var displayName: String??
    public var givenName: String??
    public var surname: String??
    public var hiddenFromDirectory: Bool?
    public var passwordHash: String?
    public var scramSHA256: String??
    public var quotaBytes: Int64?
    public var maxMessageBytes: Int64?
    public var forwardTo: String??
    public var forwardKeepCopy: Bool?
    public var apopSecret: [UInt8]??
    public var mayManageMailboxes: Bool?
    public var enabled: Bool?
    public init() {}
}

/// What an address names locally, in the order routing looks: an account, an alias, a group.
public enum LocalAddress: Sendable, Equatable {
    case account(AccountRecord)
    case alias(targets: [String])
    case group(members: [String])
    case none
}

public struct DomainRecord: Sendable, Equatable {
    public var name: String
    public var accounts: Int
}

public struct GroupRecord: Sendable, Equatable {
    public var address: String
    public var name: String?
    public var members: [String]
}

/// Domains, accounts, aliases, groups and server settings.
extension SQLiteStore {
    // MARK: Domains

    public func addDomain(_ name: String) throws -> DomainRecord {
        try write { db in
            if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM domain WHERE name = ?"), arguments: [name]) != nil {
                throw StorageError(.domainExists, "domain \(name) already exists")
            }
            try db.cachedStatement(sql: "INSERT INTO domain (name, created_at) VALUES (?, ?)").execute(arguments: [name, Self.now()])
            return DomainRecord(name: name, accounts: 0)
        }
    }

    public func domains() throws -> [DomainRecord] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT d.name, (SELECT count(*) FROM account a WHERE a.domain_id = d.id) AS n
                    FROM domain d ORDER BY d.name
                    """
            ).map { DomainRecord(name: $0["name"], accounts: $0["n"]) }
        }
    }

    public func isLocalDomain(_ name: String) throws -> Bool {
        try read { db in
            try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM domain WHERE name = ?"), arguments: [name]) != nil
        }
    }

    /// Removes a domain that has no accounts, aliases or groups left.
    public func removeDomain(_ name: String) throws {
        try write { db in
            guard let id = try Int64.fetchOne(try db.cachedStatement(sql: "SELECT id FROM domain WHERE name = ?"), arguments: [name]) else {
                throw StorageError(.noSuchDomain, "no domain \(name)")
            }
            let used =
                try Int.fetchOne(try db.cachedStatement(sql: "SELECT count(*) FROM account WHERE domain_id = ?"), arguments: [id])! > 0
                || Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM alias WHERE \(Self.inDomain)"), arguments: [name]) != nil
                || Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM mail_group WHERE \(Self.inDomain)"), arguments: [name]) != nil
            if used {
                throw StorageError(.domainNotEmpty, "domain \(name) still has accounts, aliases or groups; remove them first")
            }
            try db.cachedStatement(sql: "DELETE FROM domain WHERE id = ?").execute(arguments: [id])
        }
    }

    /// SQL for "`address` is in the domain given as ?1": it ends in `@` and the domain. Not
    /// `LIKE '%@' || ?1`: domain labels may hold `_`, which LIKE takes for any character.
    static let inDomain = "substr(address, -length(?1) - 1) = '@' || ?1"

    // MARK: Accounts

    /// Creates the account and its INBOX in one transaction.
    public func addAccount(_ new: NewAccount) throws -> AccountRecord {
        try write { db in
            guard
                let domainID = try Int64.fetchOne(
                    try db.cachedStatement(sql: "SELECT id FROM domain WHERE name = ?"), arguments: [new.domain])
            else {
                throw StorageError(.noSuchDomain, "\(new.domain) is not a local domain; add it with `loft domain add \(new.domain)`")
            }
            try ensureAddressFree(db, new.address)
            try db.cachedStatement(
                sql: """
                    INSERT INTO account (domain_id, address, display_name, password_hash, scram_sha256, quota_bytes,
                        max_message_bytes, forward_to, forward_keep_copy, apop_secret, may_manage_mailboxes, enabled, created_at,
                        session_generation, given_name, surname, directory_hidden)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                domainID, new.address, new.displayName, new.passwordHash, new.scramSHA256, new.quotaBytes,
                new.maxMessageBytes, new.forwardTo, new.forwardKeepCopy, new.apopSecret.map { Data($0) },
                new.mayManageMailboxes, new.enabled, Self.now(),
                // Random, not 0: SQLite may give a new account the id of one removed before
                // (no AUTOINCREMENT), and the removed account's unexpired session tokens name
                // that id and its generation; they must not open the new account.
                Int64.random(in: 1..<(1 << 52)), new.givenName, new.surname, new.hiddenFromDirectory,
            ])
            let id = db.lastInsertedRowID
            try createMailboxRow(db, accountID: id, name: "INBOX", specialUse: nil)
            for box in options.defaultMailboxes { try createMailboxRow(db, accountID: id, name: box.name, specialUse: box.specialUse) }
            return try fetchAccount(db, id: id)!
        }
    }

    func ensureAddressFree(_ db: Database, _ address: String) throws {
        if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM account WHERE address = ?"), arguments: [address]) != nil {
            throw StorageError(.accountExists, "\(address) is already an account")
        }
        if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM alias WHERE address = ?"), arguments: [address]) != nil {
            throw StorageError(.addressInUse, "\(address) is already an alias")
        }
        if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM mail_group WHERE address = ?"), arguments: [address]) != nil {
            throw StorageError(.addressInUse, "\(address) is already a group")
        }
    }

    func fetchAccount(_ db: Database, id: Int64) throws -> AccountRecord? {
        try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM account WHERE id = ?"), arguments: [id]).map(AccountRecord.init(row:))
    }

    public func account(address: String) throws -> AccountRecord? {
        try read { db in
            try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM account WHERE address = ?"), arguments: [address]).map(
                AccountRecord.init(row:))
        }
    }

    public func account(id: Int64) throws -> AccountRecord? {
        try read { db in try fetchAccount(db, id: id) }
    }

    /// Whether any enabled account has an APOP/CRAM-MD5 secret, so challenge-response can work
    /// for someone. The back-end keeps the answer in memory and asks again after a change.
    public func anyChallengeResponseAccount() throws -> Bool {
        try read { db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM account WHERE enabled = 1 AND apop_secret IS NOT NULL)") ?? false
        }
    }

    public func accounts(domain: String?) throws -> [AccountRecord] {
        try read { db in
            if let domain {
                return try Row.fetchAll(
                    try db.cachedStatement(
                        sql: "SELECT a.* FROM account a JOIN domain d ON d.id = a.domain_id WHERE d.name = ? ORDER BY a.address"),
                    arguments: [domain]
                ).map(AccountRecord.init(row:))
            }
            return try Row.fetchAll(try db.cachedStatement(sql: "SELECT * FROM account ORDER BY address")).map(AccountRecord.init(row:))
        }
    }

    public func updateAccount(address: String, _ change: AccountChange) throws -> AccountRecord {
        try write { db in
            guard let id = try Int64.fetchOne(try db.cachedStatement(sql: "SELECT id FROM account WHERE address = ?"), arguments: [address])
            else {
                throw StorageError(.noSuchAccount, "no account \(address)")
            }
            var sets: [String] = []
            var args: [(any DatabaseValueConvertible)?] = []
            func set(_ column: String, _ value: (any DatabaseValueConvertible)?) {
                sets.append("\(column) = ?")
                args.append(value)
            }
            if let v = change.displayName { set("display_name", v) }
            if let v = change.givenName { set("given_name", v) }
            if let v = change.surname { set("surname", v) }
            if let v = change.hiddenFromDirectory { set("directory_hidden", v) }
            if let v = change.passwordHash { set("password_hash", v) }
            if let v = change.scramSHA256 { set("scram_sha256", v) }
            if let v = change.quotaBytes { set("quota_bytes", v) }
            if let v = change.maxMessageBytes { set("max_message_bytes", v) }
            if let v = change.forwardTo { set("forward_to", v) }
            if let v = change.forwardKeepCopy { set("forward_keep_copy", v) }
            if let v = change.apopSecret { set("apop_secret", v.map { Data($0) }) }
            if let v = change.mayManageMailboxes { set("may_manage_mailboxes", v) }
            if let v = change.enabled { set("enabled", v) }
            // A new password or a disabled account ends every session issued before.
            if change.passwordHash != nil || change.enabled == false { sets.append("session_generation = session_generation + 1") }
            if !sets.isEmpty {
                args.append(id)
                try db.execute(sql: "UPDATE account SET \(sets.joined(separator: ", ")) WHERE id = ?", arguments: StatementArguments(args))
            }
            return try fetchAccount(db, id: id)!
        }
    }

    /// Deletes the account with all its mailboxes and messages; bodies no longer used go too.
    public func removeAccount(address: String) throws {
        try writeWithoutTransaction { db in
            var unused: [BodyDigest] = []
            try db.inTransaction {
                guard
                    let id = try Int64.fetchOne(
                        try db.cachedStatement(sql: "SELECT id FROM account WHERE address = ?"), arguments: [address])
                else {
                    throw StorageError(.noSuchAccount, "no account \(address)")
                }
                let bodies = try Int64.fetchAll(
                    try db.cachedStatement(
                        sql: "SELECT m.blob_id FROM message m JOIN mailbox b ON b.id = m.mailbox_id WHERE b.account_id = ?"),
                    arguments: [id])
                try db.cachedStatement(sql: "DELETE FROM account WHERE id = ?").execute(arguments: [id])
                unused = try release(db, bodies)
                return .commit
            }
            files.remove(unused)
        }
    }

    /// Drops one reference from each body (a body listed n times loses n); deletes those nobody
    /// references any more, inline bytes with them, and returns the files among them, which the
    /// caller removes after the commit, still on the writer.
    func release(_ db: Database, _ blobIDs: [Int64]) throws -> [BodyDigest] {
        var counts: [Int64: Int] = [:]
        for id in blobIDs { counts[id, default: 0] += 1 }
        var unused: [BodyDigest] = []
        for (id, n) in counts {
            try db.cachedStatement(sql: "UPDATE blob SET refs = refs - ? WHERE id = ?").execute(arguments: [n, id])
            if let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT refs, inline, sha256 FROM blob WHERE id = ?"), arguments: [id]),
                (row["refs"] as Int) <= 0
            {
                try db.cachedStatement(sql: "DELETE FROM blob WHERE id = ?").execute(arguments: [id])
                if !(row["inline"] as Bool) { unused.append(BodyDigest(row["sha256"] as Data)) }
            }
        }
        return unused
    }

    // MARK: Address lookup

    /// What `address` (canonical) is locally.
    public func lookup(_ address: String) throws -> LocalAddress {
        try read { db in try lookup(db, address) }
    }

    func lookup(_ db: Database, _ address: String) throws -> LocalAddress {
        if let row = try Row.fetchOne(try db.cachedStatement(sql: "SELECT * FROM account WHERE address = ?"), arguments: [address]) {
            return .account(AccountRecord(row: row))
        }
        let targets = try String.fetchAll(
            try db.cachedStatement(sql: "SELECT target FROM alias WHERE address = ? ORDER BY target"), arguments: [address])
        if !targets.isEmpty { return .alias(targets: targets) }
        if let gid = try Int64.fetchOne(try db.cachedStatement(sql: "SELECT id FROM mail_group WHERE address = ?"), arguments: [address]) {
            return .group(
                members: try String.fetchAll(
                    try db.cachedStatement(sql: "SELECT member FROM group_member WHERE group_id = ? ORDER BY member"), arguments: [gid]))
        }
        return .none
    }

    // MARK: Aliases

    public func addAlias(address: String, domain: String, targets: [String]) throws -> [String] {
        try write { db in
            guard try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM domain WHERE name = ?"), arguments: [domain]) != nil else {
                throw StorageError(.noSuchDomain, "\(domain) is not a local domain")
            }
            if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM account WHERE address = ?"), arguments: [address]) != nil {
                throw StorageError(.addressInUse, "\(address) is an account")
            }
            if try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM mail_group WHERE address = ?"), arguments: [address]) != nil {
                throw StorageError(.addressInUse, "\(address) is a group")
            }
            for target in targets {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO alias (address, target) VALUES (?, ?)").execute(arguments: [
                    address, target,
                ])
            }
            return try String.fetchAll(
                try db.cachedStatement(sql: "SELECT target FROM alias WHERE address = ? ORDER BY target"), arguments: [address])
        }
    }

    public func removeAlias(address: String, target: String?) throws {
        try write { db in
            if let target {
                try db.cachedStatement(sql: "DELETE FROM alias WHERE address = ? AND target = ?").execute(arguments: [address, target])
            } else {
                try db.cachedStatement(sql: "DELETE FROM alias WHERE address = ?").execute(arguments: [address])
            }
            if db.changesCount == 0 { throw StorageError(.noSuchAlias, "no alias \(address)\(target.map { " → \($0)" } ?? "")") }
        }
    }

    public func aliases(domain: String?) throws -> [(address: String, targets: [String])] {
        try read { db in
            let rows = try Row.fetchAll(
                try db.cachedStatement(
                    sql: "SELECT address, target FROM alias WHERE ?1 IS NULL OR \(Self.inDomain) ORDER BY address, target"),
                arguments: [domain])
            var result: [(address: String, targets: [String])] = []
            for row in rows {
                let address: String = row["address"]
                if result.last?.address == address {
                    result[result.count - 1].targets.append(row["target"])
                } else {
                    result.append((address, [row["target"]]))
                }
            }
            return result
        }
    }

    // MARK: Groups

    public func addGroup(address: String, domain: String, name: String?, members: [String]) throws -> GroupRecord {
        try write { db in
            guard try Bool.fetchOne(try db.cachedStatement(sql: "SELECT 1 FROM domain WHERE name = ?"), arguments: [domain]) != nil else {
                throw StorageError(.noSuchDomain, "\(domain) is not a local domain")
            }
            try ensureAddressFree(db, address)
            try db.cachedStatement(sql: "INSERT INTO mail_group (address, name, created_at) VALUES (?, ?, ?)").execute(arguments: [
                address, name, Self.now(),
            ])
            let id = db.lastInsertedRowID
            for m in members {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO group_member (group_id, member) VALUES (?, ?)").execute(arguments: [
                    id, m,
                ])
            }
            return try fetchGroup(db, address)!
        }
    }

    public func changeGroupMembers(address: String, add: [String], remove: [String]) throws -> GroupRecord {
        try write { db in
            guard
                let id = try Int64.fetchOne(
                    try db.cachedStatement(sql: "SELECT id FROM mail_group WHERE address = ?"), arguments: [address])
            else {
                throw StorageError(.noSuchGroup, "no group \(address)")
            }
            for m in add {
                try db.cachedStatement(sql: "INSERT OR IGNORE INTO group_member (group_id, member) VALUES (?, ?)").execute(arguments: [
                    id, m,
                ])
            }
            for m in remove {
                try db.cachedStatement(sql: "DELETE FROM group_member WHERE group_id = ? AND member = ?").execute(arguments: [id, m])
            }
            return try fetchGroup(db, address)!
        }
    }

    public func removeGroup(address: String) throws {
        try write { db in
            try db.cachedStatement(sql: "DELETE FROM mail_group WHERE address = ?").execute(arguments: [address])
            if db.changesCount == 0 { throw StorageError(.noSuchGroup, "no group \(address)") }
        }
    }

    public func groups(domain: String?) throws -> [GroupRecord] {
        try read { db in
            try String.fetchAll(
                try db.cachedStatement(sql: "SELECT address FROM mail_group WHERE ?1 IS NULL OR \(Self.inDomain) ORDER BY address"),
                arguments: [domain]
            ).compactMap { try fetchGroup(db, $0) }
        }
    }

    public func group(address: String) throws -> GroupRecord? {
        try read { db in try fetchGroup(db, address) }
    }

    func fetchGroup(_ db: Database, _ address: String) throws -> GroupRecord? {
        guard
            let row = try Row.fetchOne(
                try db.cachedStatement(sql: "SELECT id, name FROM mail_group WHERE address = ?"), arguments: [address])
        else {
            return nil
        }
        let id: Int64 = row["id"]
        let members = try String.fetchAll(
            try db.cachedStatement(sql: "SELECT member FROM group_member WHERE group_id = ? ORDER BY member"), arguments: [id])
        return GroupRecord(address: address, name: row["name"], members: members)
    }

    // MARK: Settings

    public func setting(_ key: String) throws -> String? {
        try read { db in try String.fetchOne(try db.cachedStatement(sql: "SELECT value FROM setting WHERE key = ?"), arguments: [key])
        }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try write { db in
            try db.cachedStatement(
                sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"
            ).execute(arguments: [key, value])
        }
    }
}
