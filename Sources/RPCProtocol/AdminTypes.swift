// Params and results of the administration methods (admin.sock only).

public struct DomainParams: Codable, Sendable {
    public var name: String
    public init(name: String) { self.name = name }
}

public struct DomainInfo: Codable, Sendable, Equatable {
    public var name: String
    public var accounts: Int
    public init(name: String, accounts: Int) {
        self.name = name
        self.accounts = accounts
    }
}

public struct DomainListResult: Codable, Sendable {
    public var domains: [DomainInfo]
    public init(domains: [DomainInfo]) { self.domains = domains }
}

public struct AddressParams: Codable, Sendable {
    public var address: String
    public init(address: String) { self.address = address }
}

public struct ListParams: Codable, Sendable {
    public var domain: String?
    public init(domain: String? = nil) { self.domain = domain }
}

/// Every per-account setting of DESIGN §5. Sizes are bytes; 0 means "no limit" for the quota
/// and "the server's limit" for the message size.
public struct AccountInfo: Codable, Sendable, Equatable {
    public var address: String
    public var displayName: String?
    /// What the LDAP directory shows (issue 12): inetOrgPerson `givenName` and `sn`.
    public var givenName: String?
    public var surname: String?
    /// Kept out of the directory (the account still receives mail and logs in).
    public var hiddenFromDirectory: Bool?
    public var quotaBytes: Int64
    public var maxMessageBytes: Int64
    public var forwardTo: String?
    public var forwardKeepCopy: Bool
    public var apopEnabled: Bool
    public var mayManageMailboxes: Bool
    public var enabled: Bool
    public var usedBytes: Int64
    public var messages: Int64
    public var createdAt: Int64
    public init(
        address: String, displayName: String?, quotaBytes: Int64, maxMessageBytes: Int64, forwardTo: String?, forwardKeepCopy: Bool,
        apopEnabled: Bool, mayManageMailboxes: Bool, enabled: Bool, usedBytes: Int64, messages: Int64, createdAt: Int64
    ) {
        self.address = address
        self.displayName = displayName
        self.quotaBytes = quotaBytes
        self.maxMessageBytes = maxMessageBytes
        self.forwardTo = forwardTo
        self.forwardKeepCopy = forwardKeepCopy
        self.apopEnabled = apopEnabled
        self.mayManageMailboxes = mayManageMailboxes
        self.enabled = enabled
        self.usedBytes = usedBytes
        self.messages = messages
        self.createdAt = createdAt
    }
}

public struct AccountAddParams: Codable, Sendable {
    public var address: String
    public var password: String
    public var displayName: String?
    public var givenName: String?
    public var surname: String?
    public var hiddenFromDirectory: Bool?
    public var quotaBytes: Int64?
    public var maxMessageBytes: Int64?
    public var forwardTo: String?
    public var forwardKeepCopy: Bool?
    /// Setting a secret turns APOP and CRAM-MD5 on for the account. It must differ from the
    /// login password.
    public var apopSecret: String?
    public var mayManageMailboxes: Bool?
    public var enabled: Bool?
    public init(
        address: String, password: String, displayName: String? = nil, quotaBytes: Int64? = nil, maxMessageBytes: Int64? = nil,
        forwardTo: String? = nil, forwardKeepCopy: Bool? = nil, apopSecret: String? = nil, mayManageMailboxes: Bool? = nil,
        enabled: Bool? = nil
    ) {
        self.address = address
        self.password = password
        self.displayName = displayName
        self.quotaBytes = quotaBytes
        self.maxMessageBytes = maxMessageBytes
        self.forwardTo = forwardTo
        self.forwardKeepCopy = forwardKeepCopy
        self.apopSecret = apopSecret
        self.mayManageMailboxes = mayManageMailboxes
        self.enabled = enabled
    }
}

/// Only the fields present change. `forwardTo: ""` removes forwarding; `apopEnabled: false`
/// turns APOP off and erases the secret.
public struct AccountUpdateParams: Codable, Sendable {
    public var address: String
    public var password: String?
    public var displayName: String?
    public var givenName: String?
    public var surname: String?
    public var hiddenFromDirectory: Bool?
    public var quotaBytes: Int64?
    public var maxMessageBytes: Int64?
    public var forwardTo: String?
    public var forwardKeepCopy: Bool?
    public var apopSecret: String?
    public var apopEnabled: Bool?
    public var mayManageMailboxes: Bool?
    public var enabled: Bool?
    public init(
        address: String, password: String? = nil, displayName: String? = nil, quotaBytes: Int64? = nil, maxMessageBytes: Int64? = nil,
        forwardTo: String? = nil, forwardKeepCopy: Bool? = nil, apopSecret: String? = nil, apopEnabled: Bool? = nil,
        mayManageMailboxes: Bool? = nil, enabled: Bool? = nil
    ) {
        self.address = address
        self.password = password
        self.displayName = displayName
        self.quotaBytes = quotaBytes
        self.maxMessageBytes = maxMessageBytes
        self.forwardTo = forwardTo
        self.forwardKeepCopy = forwardKeepCopy
        self.apopSecret = apopSecret
        self.apopEnabled = apopEnabled
        self.mayManageMailboxes = mayManageMailboxes
        self.enabled = enabled
    }
}

public struct AccountListResult: Codable, Sendable {
    public var accounts: [AccountInfo]
    public init(accounts: [AccountInfo]) { self.accounts = accounts }
}

public struct AliasParams: Codable, Sendable {
    public var address: String
    /// Where mail to `address` goes: local or remote addresses. Added to any existing targets.
    public var targets: [String]
    public init(address: String, targets: [String]) {
        self.address = address
        self.targets = targets
    }
}

public struct AliasRemoveParams: Codable, Sendable {
    public var address: String
    /// Remove only this target; the whole alias when absent.
    public var target: String?
    public init(address: String, target: String? = nil) {
        self.address = address
        self.target = target
    }
}

public struct AliasInfo: Codable, Sendable, Equatable {
    public var address: String
    public var targets: [String]
    public init(address: String, targets: [String]) {
        self.address = address
        self.targets = targets
    }
}

public struct AliasListResult: Codable, Sendable {
    public var aliases: [AliasInfo]
    public init(aliases: [AliasInfo]) { self.aliases = aliases }
}

public struct GroupAddParams: Codable, Sendable {
    public var address: String
    public var name: String?
    public var members: [String]
    public init(address: String, name: String? = nil, members: [String] = []) {
        self.address = address
        self.name = name
        self.members = members
    }
}

public struct GroupMembersParams: Codable, Sendable {
    public var address: String
    public var add: [String]?
    public var remove: [String]?
    public init(address: String, add: [String]? = nil, remove: [String]? = nil) {
        self.address = address
        self.add = add
        self.remove = remove
    }
}

public struct GroupInfo: Codable, Sendable, Equatable {
    public var address: String
    public var name: String?
    public var members: [String]
    public init(address: String, name: String?, members: [String]) {
        self.address = address
        self.name = name
        self.members = members
    }
}

public struct GroupListResult: Codable, Sendable {
    public var groups: [GroupInfo]
    public init(groups: [GroupInfo]) { self.groups = groups }
}

public struct ServerSettings: Codable, Sendable, Equatable {
    /// The largest message the server accepts from anyone, in bytes.
    public var maxMessageBytes: Int64
    public init(maxMessageBytes: Int64) { self.maxMessageBytes = maxMessageBytes }
}

public struct ServerSettingsUpdate: Codable, Sendable {
    public var maxMessageBytes: Int64?
    public init(maxMessageBytes: Int64? = nil) { self.maxMessageBytes = maxMessageBytes }
}

/// `server.status`: what the back-end knows of itself and its store, for `loft status`.
public struct ServerStatusResult: Codable, Sendable, Equatable {
    /// The back-end's process and when it started (seconds since 1970).
    public var pid: Int32
    public var startedAt: Int64
    public var domains: Int64
    public var accounts: Int64
    public var messages: Int64
    /// What the accounts are charged: each copy of a message counted.
    public var messageBytes: Int64
    /// Distinct bodies and their bytes (one body shared by many copies counts once), and of
    /// those the ones kept as files.
    public var bodies: Int64
    public var bodyBytes: Int64
    public var fileBodies: Int64
    public var fileBodyBytes: Int64
    /// The metadata database's files.
    public var databaseBytes: Int64
    /// Free space for the store; absent when it cannot tell. Below `minFreeBytes` new mail is
    /// refused as a temporary failure.
    public var freeBytes: Int64?
    public var minFreeBytes: Int64
    /// The server-wide message size limit.
    public var maxMessageBytes: Int64
    public var queue: QueueStatusResult
    /// What needs the administrator, one sentence each; empty when all is well.
    public var problems: [String]
    public init(
        pid: Int32, startedAt: Int64, domains: Int64, accounts: Int64, messages: Int64, messageBytes: Int64, bodies: Int64,
        bodyBytes: Int64, fileBodies: Int64, fileBodyBytes: Int64, databaseBytes: Int64, freeBytes: Int64?, minFreeBytes: Int64,
        maxMessageBytes: Int64, queue: QueueStatusResult, problems: [String]
    ) {
        self.pid = pid
        self.startedAt = startedAt
        self.domains = domains
        self.accounts = accounts
        self.messages = messages
        self.messageBytes = messageBytes
        self.bodies = bodies
        self.bodyBytes = bodyBytes
        self.fileBodies = fileBodies
        self.fileBodyBytes = fileBodyBytes
        self.databaseBytes = databaseBytes
        self.freeBytes = freeBytes
        self.minFreeBytes = minFreeBytes
        self.maxMessageBytes = maxMessageBytes
        self.queue = queue
        self.problems = problems
    }
}

/// `store.backup`: a directory for the snapshot, absolute, that does not exist or is empty;
/// the back-end creates it (mode 0700) and must be able to write there.
public struct StoreBackupParams: Codable, Sendable {
    public var directory: String
    public init(directory: String) { self.directory = directory }
}

/// What `store.backup` wrote (also in the snapshot's `backup.json`).
public struct StoreBackupResult: Codable, Sendable, Equatable {
    public var directory: String
    /// The instant the snapshot shows, seconds since 1970: mail acknowledged before it is in.
    public var createdAt: Int64
    public var messages: Int64
    public var bodies: Int64
    public var fileBodies: Int64
    public var bytes: Int64
    public init(directory: String, createdAt: Int64, messages: Int64, bodies: Int64, fileBodies: Int64, bytes: Int64) {
        self.directory = directory
        self.createdAt = createdAt
        self.messages = messages
        self.bodies = bodies
        self.fileBodies = fileBodies
        self.bytes = bytes
    }
}

/// `store.verify`: `deep` also runs SQLite's page-by-page check and re-hashes every body
/// (reads the whole store; minutes on a large one).
public struct StoreVerifyParams: Codable, Sendable {
    public var deep: Bool?
    public init(deep: Bool? = nil) { self.deep = deep }
}

/// What `store.verify` found: an empty list means the database and the body files agree.
public struct StoreVerifyResult: Codable, Sendable {
    public var problems: [String]
    public var messages: Int64
    public var bodies: Int64
    public init(problems: [String], messages: Int64, bodies: Int64) {
        self.problems = problems
        self.messages = messages
        self.bodies = bodies
    }
}
