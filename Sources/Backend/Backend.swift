public import Foundation
public import Logging
import MailCore
import NIOConcurrencyHelpers
public import NIOCore
public import NIOPosix
import RPCProtocol
import RPCTransport
import Storage

/// The running back-end: the store, both sockets, and the method table. `start` opens the data
/// directory and binds `gateway.sock` and `admin.sock` inside it; `shutdown` stops accepting,
/// lets the group committer finish and closes the database.
public final class Backend: Sendable {
    public let config: BackendConfig
    let store: any MailStorage
    let credentials: Credentials
    let workers: NIOThreadPool
    /// Password checks only (`passwordThreads`), with the number queued or running on it.
    let passwordWorkers: NIOThreadPool
    let passwordJobs = NIOLockedValueBox(0)
    let authCache: NIOLockedValueBox<AuthCache>
    /// IMAP BINARY's decoded parts, so that a large part read in chunks is decoded once.
    let decodedParts: DecodedParts
    let challenges: NIOLockedValueBox<IssuedChallenges>
    /// `auth.mechanisms`' answer, nil until asked or after an account changed; the epoch counts
    /// changes, so an answer read before one is not kept after it.
    let challengeResponseAvailable = NIOLockedValueBox<(epoch: Int64, value: Bool?)>((0, nil))
    let committer: GroupCommitter
    let events = EventHub()
    let uploads = UploadRegistry()
    let deliveriesInFlight = InFlightDeliveries()
    let locks = LockTable()
    let throttle: NIOLockedValueBox<LoginThrottle>
    let clock: @Sendable () -> Int64
    let logger: Logger
    let servers = NIOLockedValueBox<[RPCServer]>([])
    /// The queue's scheduler round (`startQueueTicks`), cancelled at shutdown.
    let queueTicks = NIOLockedValueBox<RepeatedTask?>(nil)
    let metricsTicks = NIOLockedValueBox<RepeatedTask?>(nil)
    /// Relays waiting in `queue.lease` for mail to be queued.
    let leaseWaiters = LeaseWaiters()
    /// `directory.version` (issue 12): what the LDAP gateways compare before each search, and
    /// the server-wide message size limit `loft smtp` advertises.
    let directory: DirectoryVersion
    /// When this back-end started, seconds since 1970 (`server.status`).
    let startedAt: Int64
    let handlers = NIOLockedValueBox<[String: Handler]>([:])
    /// Cached session states, and a count of invalidations so a lookup that raced with a change
    /// does not put the old state back.
    let scramExchanges = NIOLockedValueBox<[String: SCRAMExchange]>([:])
    let sessionStates = NIOLockedValueBox<(epoch: Int64, states: [Int64: SessionState])>((0, [:]))
    /// Tokens whose MAC was checked, with what they claim: a gateway sends the same token with
    /// every call of a session, and the HMAC and its base64 were an eighth of a `message.read`.
    /// Expiry, generation and enabled are still checked on every call. Bounded: emptied when full.
    let verifiedTokens = NIOLockedValueBox<[String: Credentials.SessionClaims]>([:])
    static let maxVerifiedTokens = 10_000

    typealias Handler = @Sendable (RPCRequest, RPCConnection, RPCResponder) -> Void

    public static let gatewaySocket = "gateway.sock"
    public static let adminSocket = "admin.sock"
    /// The outbound relay's: lease, read, renew and report queued mail, nothing else.
    public static let relaySocket = "relay.sock"

    /// - Parameter clock: milliseconds since 1970; tests inject their own to drive throttling
    ///   and lock leases without sleeping.
    public init(
        config: BackendConfig, logger: Logger = Logger(label: "loft.backend"),
        clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    ) throws {
        self.config = config
        self.logger = logger
        self.clock = clock
        self.startedAt = clock() / 1000
        var options = StoreOptions()
        options.inlineBodyLimit = config.inlineBodyLimit
        options.pageSize = config.storePageSize
        options.defaultMailboxes = config.defaultMailboxes.map { DefaultMailbox($0.name, $0.specialUse) }
        self.store = try SQLiteStore(directory: config.dataDirectory, options: options, logger: logger)
        // Kept in memory, written through by settings.set: read on every delivery.
        self.directory = DirectoryVersion(
            maxMessageBytes: try store.setting("max_message_bytes").flatMap { Int64($0) } ?? config.defaultMaxMessageBytes)
        self.decodedParts = DecodedParts(directory: config.dataDirectory + "/decoded")
        self.credentials = try Credentials(
            dataDirectory: config.dataDirectory, log2Cost: config.passwordHashLog2Cost, scramIterations: config.scramIterations)
        self.workers = NIOThreadPool(numberOfThreads: config.workerThreads)
        self.passwordWorkers = NIOThreadPool(numberOfThreads: max(1, config.passwordThreads))
        self.authCache = NIOLockedValueBox(
            AuthCache(policy: AuthCache.Policy(lifetimeMs: config.authCacheLifetimeMs, maxEntries: config.authCacheEntries)))
        self.challenges = NIOLockedValueBox(IssuedChallenges(policy: IssuedChallenges.Policy()))
        self.committer = GroupCommitter(store: store, now: { clock() / 1000 })
        self.throttle = NIOLockedValueBox(LoginThrottle(policy: config.throttle))
        workers.start()
        passwordWorkers.start()
        registerMethods()
    }

    /// Binds both sockets in the data directory.
    public func listen(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws {
        let identity = RPCServerIdentity(server: "loft-backend", capabilities: ["events", "uploads", "locks", "sections"])
        let dispatcher = Dispatcher(backend: self, handlers: handlers.withLockedValue { $0 })
        if mkdir(config.socketDirectory, 0o750) != 0 && errno != EEXIST {
            throw RPCError(
                .internalError, "cannot create the socket directory \(config.socketDirectory): \(String(cString: strerror(errno)))")
        }
        for (name, role) in [(Self.gatewaySocket, RPCRole.gateway), (Self.adminSocket, RPCRole.admin), (Self.relaySocket, RPCRole.relay)] {
            let server = try await RPCServer.bind(
                path: config.socketDirectory + "/" + name, role: role, group: group, dispatcher: dispatcher, identity: identity,
                logger: logger)
            servers.withLockedValue { $0.append(server) }
        }
        logger.info("back-end listening on \(config.socketDirectory)/\(Self.gatewaySocket), \(Self.adminSocket) and \(Self.relaySocket)")
        startQueueTicks(group: group)
        if config.refreshesGauges { startMetricsGauges(group: group) }
    }

    public func shutdown() async {
        for server in servers.withLockedValue({ $0 }) { await server.close() }
        queueTicks.withLockedValue { $0?.cancel() }
        metricsTicks.withLockedValue { $0?.cancel() }
        // Wait for the committer: a queued store either commits or its caller hears it failed.
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in committer.queue.async { c.resume() } }
        try? await workers.shutdownGracefully()
        try? await passwordWorkers.shutdownGracefully()
        try? store.close()
    }

    /// Looks methods up in a table fixed at start-up, so dispatch takes no lock.
    struct Dispatcher: RPCDispatcher {
        let backend: Backend
        let handlers: [String: Handler]
        func dispatch(_ request: RPCRequest, connection: RPCConnection, responder: RPCResponder) {
            guard let handler = handlers[request.method] else {
                return responder.fail(RPCError(.methodNotFound, "method \(request.method) is not implemented"))
            }
            handler(request, connection, responder)
        }
    }

    // MARK: Registering handlers

    /// A method answered on the event loop: for work that never blocks (no disk, no hashing).
    func inline<P, R>(_ method: RPCMethod<P, R>, _ body: @escaping @Sendable (RPCConnection, P) throws -> R) {
        deferred(method) { connection, params, done in done(Result { try body(connection, params) }) }
    }

    /// A method run on the worker pool: anything that touches SQLite, files or hashes.
    func blocking<P, R>(_ method: RPCMethod<P, R>, _ body: @escaping @Sendable (RPCConnection, P) throws -> R) {
        deferred(method) { connection, params, done in
            self.workers.submit { state in
                guard case .active = state else {
                    return done(.failure(RPCError(.unavailable, "the back-end is shutting down", temporary: true)))
                }
                done(Result { try body(connection, params) })
            }
        }
    }

    /// A method run on the password pool: password checks, which cost an scrypt each. At most
    /// `passwordQueueLimit` wait or run there; one more is refused at once, `overloaded` and
    /// temporary, so that a burst of logins is bounded in memory and in the delay it adds.
    func hashing<P, R>(_ method: RPCMethod<P, R>, _ body: @escaping @Sendable (RPCConnection, P) throws -> R) {
        deferred(method) { connection, params, done in
            let admitted = self.passwordJobs.withLockedValue { jobs in
                guard jobs < max(1, self.config.passwordQueueLimit) else { return false }
                jobs += 1
                return true
            }
            guard admitted else {
                return done(.failure(RPCError(.overloaded, "too many logins in progress; try again shortly", temporary: true)))
            }
            self.passwordWorkers.submit { state in
                defer { self.passwordJobs.withLockedValue { $0 -= 1 } }
                guard case .active = state else {
                    return done(.failure(RPCError(.unavailable, "the back-end is shutting down", temporary: true)))
                }
                done(Result { try body(connection, params) })
            }
        }
    }

    /// A method that answers later, from wherever its work completes. Params are decoded here,
    /// once for every kind of method, and every failure goes through `rpcError`.
    func deferred<P, R>(
        _ method: RPCMethod<P, R>,
        _ body: @escaping @Sendable (RPCConnection, P, @escaping @Sendable (Result<R, any Error>) -> Void) -> Void
    ) {
        handlers.withLockedValue {
            $0[method.name] = { request, connection, responder in
                let params: P
                do {
                    params = try request.params(P.self)
                } catch {
                    return responder.fail(self.rpcError(error, method: method.name))
                }
                let started = DispatchTime.now().uptimeNanoseconds
                body(connection, params) { result in
                    let took = Int64(DispatchTime.now().uptimeNanoseconds - started)
                    switch result {
                    case .success(let r):
                        BackendMetrics.call(method.name, result: "ok", nanoseconds: took)
                        responder.succeed(r)
                    case .failure(let e):
                        let error = self.rpcError(e, method: method.name)
                        BackendMetrics.call(method.name, result: error.kind, nanoseconds: took)
                        responder.fail(error)
                    }
                }
            }
        }
    }

    /// The one place where failures become RPC errors (STYLE §8).
    func rpcError(_ error: any Error, method: String) -> RPCError {
        if let error = error as? RPCError { return error }
        if let error = error as? StorageError {
            switch error.kind {
            case .noSuchDomain: return RPCError(.noSuchDomain, error.message)
            case .domainExists: return RPCError(.domainExists, error.message)
            case .domainNotEmpty: return RPCError(.notEmpty, error.message)
            case .noSuchAccount: return RPCError(.noSuchAccount, error.message)
            case .accountExists: return RPCError(.accountExists, error.message)
            case .addressInUse: return RPCError(.addressInUse, error.message)
            case .noSuchAlias: return RPCError(.noSuchAlias, error.message)
            case .noSuchGroup: return RPCError(.noSuchGroup, error.message)
            case .noSuchMailbox: return RPCError(.noSuchMailbox, error.message)
            case .mailboxExists: return RPCError(.mailboxExists, error.message)
            case .mailboxNotEmpty: return RPCError(.notEmpty, error.message)
            case .permissionDenied: return RPCError(.permissionDenied, error.message)
            case .mailboxIsInbox: return RPCError(.mailboxIsInbox, error.message)
            case .invalidRename: return RPCError(.invalidRename, error.message)
            case .notSelectable: return RPCError(.notSelectable, error.message)
            case .tooManyMailboxes: return RPCError(.tooManyMailboxes, error.message)
            case .noSuchMessage: return RPCError(.noSuchMessage, error.message)
            case .noSuchLease: return RPCError(.noSuchLease, error.message)
            case .noSuchQueueEntry: return RPCError(.noSuchQueueEntry, error.message)
            case .quotaExceeded: return RPCError(.quotaExceeded, error.message, temporary: true)
            case .tooBig: return RPCError(.tooBig, error.message)
            case .limitExceeded: return RPCError(.limitExceeded, error.message)
            case .storageFull:
                logger.warning("\(method): \(error.message)")
                return RPCError(.storageFull, "the server's storage is full; try again later", temporary: true)
            case .ioFailure:
                logger.error("\(method): storage failure: \(error.message)")
                return RPCError(.internalError, "internal error (see the back-end log)", temporary: true)
            case .corrupt:
                logger.error("\(method): storage inconsistency: \(error.message)")
                return RPCError(.internalError, "internal error (see the back-end log)")
            case .unusableDirectory: return RPCError(.invalidParams, error.message, field: "directory")
            }
        }
        logger.error("\(method) failed: \(error)")
        return RPCError(.internalError, "internal error (see the back-end log)", temporary: true)
    }

    // MARK: Shared checks

    var nowSeconds: Int64 { clock() / 1000 }

    /// What a session check needs to know of an account, kept in memory: every change to an
    /// account goes through this process, which updates the entry (`forgetSessionState`), so a
    /// call with a session costs no database read.
    struct SessionState: Sendable {
        var generation: Int64
        var enabled: Bool
    }

    /// The account id a session token names, if the token is valid, issued for the account's
    /// current password, and the account still enabled.
    func accountID(session: String) throws -> Int64 {
        let now = nowSeconds
        var claims = verifiedTokens.withLockedValue { $0[session] }
        if claims == nil, let verified = credentials.verifySession(session, now: now) {
            claims = verified
            verifiedTokens.withLockedValue {
                if $0.count >= Self.maxVerifiedTokens { $0.removeAll(keepingCapacity: true) }
                $0[session] = verified
            }
        }
        guard let claims, claims.expiresAt > now else {
            throw RPCError(.sessionInvalid, "the session is invalid or has expired; log in again")
        }
        let (epoch, cached) = sessionStates.withLockedValue { ($0.epoch, $0.states[claims.accountID]) }
        var state = cached
        if state == nil, let account = try store.account(id: claims.accountID) {
            let loaded = SessionState(generation: account.sessionGeneration, enabled: account.enabled)
            state = loaded
            sessionStates.withLockedValue { if $0.epoch == epoch { $0.states[claims.accountID] = loaded } }
        }
        guard let state, state.generation == claims.generation else {
            throw RPCError(.sessionInvalid, "the session has ended (the account changed); log in again")
        }
        guard state.enabled else { throw RPCError(.accountDisabled, "the account is disabled") }
        return claims.accountID
    }

    /// The account a valid session names, read fresh (for quota and settings).
    func account(session: String) throws -> AccountRecord {
        let id = try accountID(session: session)
        guard let account = try store.account(id: id) else {
            throw RPCError(.sessionInvalid, "the session's account no longer exists")
        }
        return account
    }

    /// Drops the cached session state of an account after it changed or went away.
    /// Also drops its remembered password checks, and the count of challenge-response accounts.
    func forgetSessionState(_ accountID: Int64) {
        sessionStates.withLockedValue {
            $0.epoch += 1
            $0.states[accountID] = nil
        }
        authCache.withLockedValue { $0.forget(accountID: accountID) }
        forgetChallengeResponseAvailability()
    }

    func forgetChallengeResponseAvailability() {
        challengeResponseAvailable.withLockedValue { $0 = ($0.epoch + 1, nil) }
    }

    static func mailboxName(_ text: String, field: String = "mailbox") throws -> MailboxName {
        guard let name = MailboxName(text) else {
            throw RPCError(.invalidMailboxName, "invalid mailbox name: \(text.debugDescription)", field: field)
        }
        return name
    }

    static func address(_ text: String, field: String = "address") throws -> EmailAddress {
        guard let address = EmailAddress(text) else {
            throw RPCError(.invalidAddress, "not a valid email address: \(text.debugDescription)", field: field)
        }
        return address
    }

    /// Refuses, temporarily, a message of `size` bytes (0 when not announced) while the data
    /// directory's file system has less than `minFreeBytes` free after it (Protocol §5
    /// `storage_full`): SMTP clients hear 452 4.3.1 at RCPT and try later, and deleting mail
    /// still has room to work.
    func checkFreeSpace(for size: Int64) throws {
        guard let free = store.availableBytes(), free < config.minFreeBytes + size else { return }
        throw RPCError(.storageFull, "the server's storage is full; try again later", temporary: true)
    }

    /// The server-wide message size limit (`settings.set`, default `backend.max_message_size`).
    var serverMaxMessageBytes: Int64 { directory.maxMessageBytes }

    func registerMethods() {
        inline(Methods.ping) { _, _ in Empty() }
        registerAuth()
        registerSCRAM()
        registerAdmin()
        registerMailboxes()
        registerMessages()
        registerSorting()
        registerDelivery()
        registerEventsAndLocks()
        registerQueue()
        registerDirectory()
    }
}
