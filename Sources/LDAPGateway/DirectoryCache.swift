import Logging
import NIOCore
import RPCProtocol
import RPCTransport
import Synchronization

/// The gateway's copy of the directory (Protocol/README §16), shared by every connection.
///
/// Each search asks `current(on:)`, which answers only after a `directory.version` call that
/// began after the search arrived: a change committed before the search (an account added with
/// `loft account add`) is always seen. Searches that arrive while a check is in flight wait for
/// the next one together, so under load one check serves many searches. When the version has
/// changed, the whole listing is read again, page by page (a version change between pages
/// starts over). While the back-end cannot be reached, the last directory read is used.
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
    }

    /// Pages read per reload; a version change during a reload makes it start over, at most this often.
    static let maximumReloadAttempts = 5

    init(client: RPCClient, configuration: LDAPDirectoryConfiguration, loop: any EventLoop, logger: Logger) {
        self.client = client
        self.loop = loop
        self.configuration = configuration
        self.logger = logger
    }

    /// The directory as of now, on `loop`.
    func current(on loop: any EventLoop) -> EventLoopFuture<LDAPDirectory> {
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

    private func check() {
        let (waiters, known) = state.withLock { state in
            let waiters = state.waiting
            state.waiting = []
            return (waiters, state.directory)
        }
        client.callFuture(Methods.directoryVersion, Empty()).flatMap { answer -> EventLoopFuture<LDAPDirectory> in
            if let known, known.version == answer.version { return self.loop.makeSucceededFuture(known) }
            return self.reload(attempt: 1)
        }.whenComplete { result in
            let next = self.state.withLock { state -> Bool in
                if case .success(let directory) = result { state.directory = directory }
                guard !state.waiting.isEmpty else {
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
