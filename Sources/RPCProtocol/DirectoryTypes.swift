// Params and results of the directory methods (Protocol/README §16): the public fields of
// accounts, aliases and groups, for `loft ldap` (and web mail's address completion). Nothing
// secret is ever part of them: no password hash, no challenge-response secret, no quota, no
// session generation.

/// What kind of address a directory entry describes.
public enum DirectoryEntryKind: String, Codable, Sendable, Hashable, CaseIterable {
    case account
    case alias
    case group
}

/// One address of the directory with its public fields. Accounts that are disabled or hidden
/// from the directory are never listed, and their addresses never appear as an alias's target
/// or a group's member.
public struct DirectoryEntry: Codable, Sendable, Hashable {
    public var kind: DirectoryEntryKind
    /// Canonical (lower case); unique across accounts, aliases and groups.
    public var address: String
    /// An account's display name, or a group's name.
    public var displayName: String?
    /// An account's given name (inetOrgPerson `givenName`).
    public var givenName: String?
    /// An account's surname (`sn`).
    public var surname: String?
    /// An account's other addresses: the aliases whose only target is this account, sorted.
    public var aliases: [String]?
    /// An account's forwarding address, when it forwards.
    public var forwardTo: String?
    /// An alias's targets, or a group's members, sorted; hidden and disabled accounts left out.
    public var members: [String]?

    public init(
        kind: DirectoryEntryKind, address: String, displayName: String? = nil, givenName: String? = nil, surname: String? = nil,
        aliases: [String]? = nil, forwardTo: String? = nil, members: [String]? = nil
    ) {
        self.kind = kind
        self.address = address
        self.displayName = displayName
        self.givenName = givenName
        self.surname = surname
        self.aliases = aliases
        self.forwardTo = forwardTo
        self.members = members
    }
}

/// `directory.list`: one page, in address order, after `after` (the last address of the page
/// before). `limit` defaults to, and is capped at, `DirectoryListParams.maximumLimit`.
public struct DirectoryListParams: Codable, Sendable {
    public static let maximumLimit = 1000
    public var after: String?
    public var limit: Int?
    public init(after: String? = nil, limit: Int? = nil) {
        self.after = after
        self.limit = limit
    }
}

/// A page of the directory. `version` is the directory's version when the page was read: a
/// caller reading every page restarts when it changes between pages. `next` is absent on the
/// last page; otherwise pass it as `after`.
public struct DirectoryListResult: Codable, Sendable {
    public var version: String
    /// The local domains in the order they were added (the first one names the LDAP base DN
    /// unless the configuration sets one).
    public var domains: [String]
    public var entries: [DirectoryEntry]
    public var next: String?
    public init(version: String, domains: [String], entries: [DirectoryEntry], next: String? = nil) {
        self.version = version
        self.domains = domains
        self.entries = entries
        self.next = next
    }
}

/// `directory.lookup`: the entry whose address is `address` (any case), if it is listed.
public struct DirectoryLookupResult: Codable, Sendable {
    public var version: String
    public var entry: DirectoryEntry?
    public init(version: String, entry: DirectoryEntry?) {
        self.version = version
        self.entry = entry
    }
}

/// `directory.version`: an opaque string that changes whenever anything the directory shows may
/// have changed, the server-wide settings gateways follow included (and when the back-end
/// restarts); equal strings mean an unchanged directory.
public struct DirectoryVersionResult: Codable, Sendable, Equatable {
    public var version: String
    /// The server-wide message size limit as of `version` (`loft settings --max-message`):
    /// what `loft smtp` advertises with SIZE (RFC 1870) and enforces while a message arrives.
    public var maxMessageBytes: Int64?
    public init(version: String, maxMessageBytes: Int64? = nil) {
        self.version = version
        self.maxMessageBytes = maxMessageBytes
    }
}
