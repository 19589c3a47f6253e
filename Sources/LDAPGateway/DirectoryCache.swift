import GatewayKit
import Logging
import NIOCore
import RPCProtocol
import RPCTransport
import Synchronization

/// The gateway's copy of the directory (Protocol/README §16), shared by every connection.
///
/// The cache watches the back-end's directory (`directory.watch`): the back-end sends
/// `directory.changed` after every change, before it answers the change's caller. While the
/// watch is live and no change has been announced since the copy was checked, `fresh()` hands
/// the copy out at once, so a search costs no back-end call and no hop between threads. Any
/// other time (at start, after an announced change, while the back-end connection is down) a
/// search asks `current(on:)`, which answers only after a `directory.watch` call that began
/// after the search arrived, reading the whole listing again (page by page; a version change
/// between pages starts over) when the version changed. Searches that arrive while a check is
/// in flight wait for the next one together. While the back-end cannot be reached, the last
/// directory read is used.
final class DirectoryCache: Sendable {
    let client: RPCClient
    let configuration: LDAPDirectoryConfiguration
    let logger: Logger
    /// Where the reload's steps run.
    let loop: any EventLoop
    private let state = Mutex(State())

    private struct State: ~Copyable {
        var directory: LDAPDirectory?
        var checking = false
        /// Searches waiting for the next check (not the one in flight: it may have begun before them).
        var waiting: [EventLoopPromise<LDAPDirectory>] = []
        /// `directory.changed` notifications received so far.
        var changes = 0
        /// The value of `changes` as of which `directory` is known to be current, while the
        /// watch is live: set by a check that began at that count and saw no notification.
        var currentAt: Int?
        /// Counts lost back-end connections; a watch made on an earlier one is gone.
        var generation = 0
        /// A change was announced while a check ran: check again when it ends.
        var recheck = false
    }

    /// Pages read per reload; a version change during a reload makes it start over, at most this often.
    static let maximumReloadAttempts = 5

    init(client: RPCClient, events: EventRouter, configuration: LDAPDirectoryConfiguration, loop: any EventLoop, logger: Logger) {
        self.client = client
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
        events.observe(Methods.directoryChangedNotification) { [weak self] _ in self?.changed() }
        client.observeConnection { [weak self] connected in
            guard !connected else { return }
            self?.state.withLock { state in
                state.generation += 1
                state.currentAt = nil
            }
        }
    }

    /// The copy, when it is known to be current (see above); nil when a search must wait for
    /// `current(on:)`.
    func fresh() -> LDAPDirectory? {
        state.withLock { state in state.currentAt == state.changes ? state.directory : nil }
    }

    /// The directory as of now, on `loop`.
    func current(on loop: any EventLoop) -> EventLoopFuture<LDAPDirectory> {
        if let directory = fresh() { return loop.makeSucceededFuture(directory) }
        let promise = loop.makePromise(of: LDAPDirectory.self)
        let start = state.withLock { state -> Bool in
            state.waiting.append(promise)
            guard !state.checking else { return false }
            state.checking = true
            return true
        }
        if start { check() }
        return promise.futureResult
    }

    /// A `directory.changed` notification: the copy is stale; read the new one now rather than
    /// at the next search.
    private func changed() {
        let start = state.withLock { state -> Bool in
            state.changes += 1
            state.currentAt = nil
            guard !state.checking else {
                state.recheck = true
                return false
            }
            state.checking = true
            return true
        }
        if start { check() }
    }

    private func check() {
        let (waiters, known, changes, generation) = state.withLock { state in
            let waiters = state.waiting
            state.waiting = []
            state.recheck = false
            return (waiters, state.directory, state.changes, state.generation)
        }
        client.callFuture(Methods.directoryWatch, Empty()).flatMap { answer -> EventLoopFuture<LDAPDirectory> in
            if let known, known.version == answer.version { return self.loop.makeSucceededFuture(known) }
            return self.reload(attempt: 1)
        }.whenComplete { result in
            let next = self.state.withLock { state -> Bool in
                if case .success(let directory) = result {
                    state.directory = directory
                    // A change announced since the watch call was sent may be missing from it.
                    if state.generation == generation, state.changes == changes { state.currentAt = changes }
                }
                guard !state.waiting.isEmpty || state.recheck else {
                    state.checking = false
                    return false
                }
                return true
            }
            switch result {
            case .success(let directory):
                for waiter in waiters { waiter.succeed(directory) }
            case .failure(let error):
                if let known {
                    self.logger.warning("directory: the back-end did not answer (\(error)); searching the copy of version \(known.version)")
                    for waiter in waiters { waiter.succeed(known) }
                } else {
                    for waiter in waiters { waiter.fail(error) }
                }
            }
            if next { self.check() }
        }
    }

    /// Reads every page of `directory.list`; starts over when the version changes between pages.
    private func reload(attempt: Int) -> EventLoopFuture<LDAPDirectory> {
        readPages(after: nil, version: nil, domains: [], entries: []).flatMap { outcome in
            switch outcome {
            case .complete(let version, let domains, let entries):
                let directory = LDAPDirectory(entries: entries, domains: domains, version: version, configuration: self.configuration)
                self.logger.info("directory: read version \(version), \(entries.count) entries")
                return self.loop.makeSucceededFuture(directory)
            case .changed:
                guard attempt < Self.maximumReloadAttempts else {
                    return self.loop.makeFailedFuture(RPCError(.unavailable, "the directory kept changing while it was read"))
                }
                return self.reload(attempt: attempt + 1)
            }
        }
    }

    private enum PageOutcome {
        case complete(version: String, domains: [String], entries: [DirectoryEntry])
        case changed
    }

    private func readPages(after: String?, version: String?, domains: [String], entries: [DirectoryEntry]) -> EventLoopFuture<PageOutcome> {
        client.callFuture(Methods.directoryList, DirectoryListParams(after: after, limit: DirectoryListParams.maximumLimit)).flatMap {
            page in
            if let version, version != page.version { return self.loop.makeSucceededFuture(.changed) }
            let entries = entries + page.entries
            guard let next = page.next else {
                return self.loop.makeSucceededFuture(.complete(version: page.version, domains: page.domains, entries: entries))
            }
            return self.readPages(after: next, version: page.version, domains: page.domains, entries: entries)
        }
    }
}
