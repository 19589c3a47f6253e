import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RPCProtocol
import RPCTransport
import Storage

/// The directory's version: a random part drawn at start-up (so a restarted back-end, which
/// may have been given a changed database, never repeats an old version) and a counter bumped
/// by every admin change that may alter what the directory shows. Kept in memory: only this
/// process writes the store, so nothing can change behind it.
///
/// It also carries the server-wide message size limit (`settings.set` bumps the version), so
/// `loft smtp` advertises with SIZE the limit the back-end enforces.
///
/// Connections that called `directory.watch` hear `directory.changed` at every bump, sent
/// before the change's own caller is answered (the admin methods bump in a `defer`), so a
/// gateway needs no call per search to stay current. A notification that finds a watcher not
/// reading is dropped; the watcher hears the version then current once it drains.
final class DirectoryVersion: Sendable {
    private let epoch = String(UInt64.random(in: 1...UInt64.max), radix: 16)
    private struct State {
        var counter: UInt64 = 0
        var maxMessageBytes: Int64
        /// Each watching connection, and whether it lost a notification.
        var watchers: [RPCConnection: Bool] = [:]
    }
    private let state: NIOLockedValueBox<State>

    init(maxMessageBytes: Int64) { state = NIOLockedValueBox(State(maxMessageBytes: maxMessageBytes)) }

    var current: DirectoryVersionResult { state.withLockedValue { result($0) } }

    /// The server-wide message size limit, read on every delivery.
    var maxMessageBytes: Int64 { state.withLockedValue { $0.maxMessageBytes } }

    private func result(_ s: State) -> DirectoryVersionResult {
        DirectoryVersionResult(version: version(s.counter), maxMessageBytes: s.maxMessageBytes)
    }

    private func version(_ counter: UInt64) -> String { "\(epoch)-\(counter)" }

    /// Bumps the version and tells every watcher. Called from the admin methods' worker
    /// threads, it returns once each notification has been handed to its socket (a quick step
    /// on that connection's event loop), so the change's caller is answered after the gateways
    /// were told. A watcher that is not reading loses it and hears later, when it drains.
    func changed(maxMessageBytes: Int64? = nil) {
        let (version, watchers) = state.withLockedValue { s in
            s.counter += 1
            if let maxMessageBytes { s.maxMessageBytes = maxMessageBytes }
            return (result(s), Array(s.watchers.keys))
        }
        let sent = watchers.map { send(version, to: $0) }
        // Never block an event loop (a caller there gets the notifications queued, not waited for).
        guard MultiThreadedEventLoopGroup.currentEventLoop == nil else { return }
        for future in sent { _ = try? future.wait() }
    }

    /// Adds `connection` to the watchers (once however often it asks); answers the version
    /// read after it was added, so any later change reaches it as a notification.
    func watch(_ connection: RPCConnection) -> DirectoryVersionResult {
        let (first, version) = state.withLockedValue { s in
            let first = s.watchers[connection] == nil
            if first { s.watchers[connection] = false }
            return (first, result(s))
        }
        if first {
            connection.onClose { [weak self] in self?.state.withLockedValue { _ = $0.watchers.removeValue(forKey: connection) } }
            connection.onWritable { [weak self] in self?.drained(connection) }
        }
        return version
    }

    @discardableResult
    private func send(_ version: DirectoryVersionResult, to connection: RPCConnection) -> EventLoopFuture<Void> {
        connection.notify(method: Methods.directoryChangedNotification, params: [version]) {
            [weak self] _ in
            self?.state.withLockedValue { s in
                if s.watchers[connection] != nil { s.watchers[connection] = true }
            }
        }
    }

    private func drained(_ connection: RPCConnection) {
        let lost = state.withLockedValue { s -> Bool in
            guard s.watchers[connection] == true else { return false }
            s.watchers[connection] = false
            return true
        }
        if lost { send(current, to: connection) }
    }
}

/// directory.list, directory.lookup, directory.version (Protocol/README §16): the public
/// fields of accounts, aliases and groups, for `loft ldap`.
extension Backend {
    func registerDirectory() {
        inline(Methods.directoryVersion) { _, _ in self.directory.current }
        inline(Methods.directoryWatch) { connection, _ in self.directory.watch(connection) }
        blocking(Methods.directoryList) { _, p in
            let limit = p.limit ?? DirectoryListParams.maximumLimit
            guard (1...DirectoryListParams.maximumLimit).contains(limit) else {
                throw RPCError(.invalidParams, "limit must be 1…\(DirectoryListParams.maximumLimit)", field: "limit")
            }
            // Read before the page: a change committed while the page is read shows as a new
            // version on the next call, never as an old version with new data missed.
            let version = self.directory.current.version
            let page = try self.store.directoryPage(after: p.after?.lowercased(), limit: limit)
            return DirectoryListResult(
                version: version, domains: try self.store.domainsInOrderAdded(), entries: page.rows.map(Self.entry), next: page.last)
        }
        blocking(Methods.directoryLookup) { _, p in
            let version = self.directory.current.version
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
