import NIOConcurrencyHelpers
import RPCProtocol
import RPCTransport
import Storage

/// The directory's version: a random part drawn at start-up (so a restarted back-end, which
/// may have been given a changed database, never repeats an old version) and a counter bumped
/// by every admin change that may alter what the directory shows. Kept in memory: only this
/// process writes the store, so nothing can change behind it.
final class DirectoryVersion: Sendable {
    private let epoch = String(UInt64.random(in: 1...UInt64.max), radix: 16)
    private let counter = NIOLockedValueBox<UInt64>(0)

    var current: String { "\(epoch)-\(counter.withLockedValue { $0 })" }

    func changed() { counter.withLockedValue { $0 += 1 } }
}

/// directory.list, directory.lookup, directory.version (Protocol/README §16): the public
/// fields of accounts, aliases and groups, for `loft ldap`.
extension Backend {
    func registerDirectory() {
        inline(Methods.directoryVersion) { _, _ in DirectoryVersionResult(version: self.directory.current) }
        blocking(Methods.directoryList) { _, p in
            let limit = p.limit ?? DirectoryListParams.maximumLimit
            guard (1...DirectoryListParams.maximumLimit).contains(limit) else {
                throw RPCError(.invalidParams, "limit must be 1…\(DirectoryListParams.maximumLimit)", field: "limit")
            }
            // Read before the page: a change committed while the page is read shows as a new
            // version on the next call, never as an old version with new data missed.
            let version = self.directory.current
            let page = try self.store.directoryPage(after: p.after?.lowercased(), limit: limit)
            return DirectoryListResult(
                version: version, domains: try self.store.domainsInOrderAdded(), entries: page.rows.map(Self.entry), next: page.last)
        }
        blocking(Methods.directoryLookup) { _, p in
            let version = self.directory.current
            let address = try Self.address(p.address).canonical
            return DirectoryLookupResult(version: version, entry: try self.store.directoryEntry(address: address).map(Self.entry))
        }
    }

    static func entry(_ row: DirectoryRow) -> DirectoryEntry {
        let kind: DirectoryEntryKind =
            switch row.kind {
            case .account: .account
            case .alias: .alias
            case .group: .group
            }
        return DirectoryEntry(
            kind: kind, address: row.address, displayName: row.displayName, givenName: row.givenName, surname: row.surname,
            aliases: row.kind == .account ? row.aliases : nil, forwardTo: row.forwardTo, members: row.kind == .account ? nil : row.members)
    }
}
