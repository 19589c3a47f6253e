import GatewayKit
import LDAPCodec
import Logging
import NIOCore
import RPCProtocol

/// `LDAPSession` with its framer, as the connection driver runs it. While a bind is with the
/// back-end, or `maximumOutstandingSearches` searches are, nothing more is read (RFC 4511
/// §4.2.1: no request is processed during a bind), so a pipelining client cannot grow memory.
struct LDAPDrivenSession: DrivenSession {
    var session: LDAPSession
    var framer: LDAPFramer
    var binding = false
    static let maximumOutstandingSearches = 16

    init(configuration: LDAPSessionConfiguration) {
        session = LDAPSession(configuration: configuration)
        framer = LDAPFramer(limits: configuration.limits)
    }

    mutating func nextEvent(from inbound: inout ByteBuffer) -> LDAPSessionEvent? {
        do {
            if inbound.readableBytes > 0 {
                try framer.append(inbound)
                inbound.clear()
            }
            return try framer.nextMessage().map { .received($0) }
        } catch {
            inbound.clear()
            return .framingFailed(error)
        }
    }

    mutating func receive(_ event: LDAPSessionEvent) -> [LDAPSessionAction] {
        if case .bindCompleted = event { binding = false }
        let actions = session.receive(event)
        for case .authenticate in actions { binding = true }
        return actions
    }

    var isWaiting: Bool { binding || session.outstandingSearches.count >= Self.maximumOutstandingSearches }

    /// A timeout ends the connection as a client's close does (slapd closes idle connections
    /// without a notice).
    func event(for signal: ConnectionSignal) -> LDAPSessionEvent? {
        switch signal {
        case .timeout, .peerClosed: .peerClosed
        case .tlsEstablished: .tlsEstablished
        }
    }

    func hasPartialInput(_ inbound: ByteBuffer) -> Bool { inbound.readableBytes > 0 || framer.bufferedByteCount > 0 }

    var isAuthenticated: Bool { session.bindState != .anonymous }

    /// RFC 4511 §4.14.1: octets after the StartTLS request came in the clear; a new framer.
    mutating func discardBufferedInput() {
        framer = LDAPFramer(limits: session.configuration.limits)
    }
}

/// One LDAP connection's back-end side: binds through `auth.login` (the back-end throttles),
/// searches against the shared `DirectoryCache`, and the access rules the directory itself
/// does not know (where anonymous clients may search from, how often).
final class LDAPConnection: ConnectionAdapter {
    typealias Session = LDAPDrivenSession
    typealias Driver = ConnectionDriver<LDAPConnection>

    let configuration: LDAPGatewayConfiguration
    let info: ConnectionInfo
    let backend: BackendSession
    let directory: DirectoryCache
    let rateLimit: AnonymousSearchRate
    let eventLoop: any EventLoop
    let logger: Logger
    /// The account of the last successful bind (any bind starts from anonymous again).
    var boundAccount: String?

    init(
        configuration: LDAPGatewayConfiguration, info: ConnectionInfo, backend: BackendSession, directory: DirectoryCache,
        rateLimit: AnonymousSearchRate, eventLoop: any EventLoop, logger: Logger
    ) {
        self.configuration = configuration
        self.info = info
        self.backend = backend
        self.directory = directory
        self.rateLimit = rateLimit
        self.eventLoop = eventLoop
        var logger = logger
        logger[metadataKey: "client"] = "\(info.clientAddress)"
        self.logger = logger
    }

    func connectionOpened(_ driver: Driver) {}

    func perform(_ action: LDAPSessionAction, _ driver: Driver) {
        switch action {
        case .send(let message):
            if let result = Self.result(of: message.protocolOp) {
                // `noSuchObject (32)` → `noSuchObject`.
                CommandMetrics.reply("ldap", result: result == .success ? "ok" : String(result.description.prefix { $0 != " " }))
            }
            var buffer = driver.allocator.buffer(capacity: 64)
            message.write(into: &buffer)
            driver.write(buffer)
        case .authenticate(let messageID, let name, let password):
            bind(messageID, name: name, password: password, driver)
        case .search(let messageID, let request, let controls, let bindState):
            search(messageID, request, controls, bindState: bindState, driver)
        case .cancel:
            // A search runs to its end in one step once the directory is at hand; the session
            // drops whatever it produces for an abandoned one.
            break
        case .startTLS:
            driver.startTLS()
        case .close:
            driver.closeAfterWrites()
        }
    }

    // MARK: Bind

    private func bind(_ messageID: LDAPMessageID, name: String, password: [UInt8], _ driver: Driver) {
        boundAccount = nil
        let loop = eventLoop
        let backend = backend
        directory.current(on: loop).map { directory -> BindTarget? in
            Self.bindTarget(name, in: directory)
        }.recover { _ in
            Self.bindTarget(name, in: nil)
        }.flatMap { target -> EventLoopFuture<(BindTarget, SessionResult)?> in
            // An unknown name costs a back-end check like a wrong password (and counts toward the
            // client address's throttle), so a client cannot tell the two apart by timing.
            let user = target?.account ?? name
            return backend.login(
                .password(user: user, password: String(decoding: password, as: UTF8.self), authorizationIdentity: nil), on: loop
            )
            .map { session in target.map { ($0, session) } }
        }.assumeIsolated().whenComplete { [self] result in
            let outcome: LDAPResult
            var authorizationID: String?
            switch result {
            case .success(let bound?):
                boundAccount = bound.0.account
                authorizationID = bound.0.authorizationID
                outcome = .success
                logger.info("bind", metadata: ["account": "\(bound.0.account)"])
            case .success(nil):
                outcome = LDAPResult(.invalidCredentials)
            case .failure(let error):
                switch BackendSession.loginFailure(error) {
                case .rejected: outcome = LDAPResult(.invalidCredentials)
                case .throttled(let seconds):
                    outcome = LDAPResult(
                        .invalidCredentials, diagnosticMessage: "too many failed binds: try again in \(seconds ?? 1) s")
                case .temporary:
                    outcome = LDAPResult(.unavailable, diagnosticMessage: "the directory is unavailable, try again later")
                }
            }
            driver.feed(.bindCompleted(messageID: messageID, result: outcome, authorizationID: authorizationID))
        }
    }

    /// The account a bind name means and the authzId it binds as (RFC 4513 §5.2.1.8).
    struct BindTarget: Sendable, Equatable {
        var account: String
        var authorizationID: String
    }

    /// An entry's DN or a mail value of an account entry (the directory decides); without the
    /// directory (it could not be read, or the account is hidden from it) a bare mail address is
    /// still tried, as "u:" + the address. nil: a name that cannot be an account.
    static func bindTarget(_ name: String, in directory: LDAPDirectory?) -> BindTarget? {
        if let account = directory?.account(forBindName: name) {
            let dn = directory?.distinguishedName(ofAccount: account)
            return BindTarget(account: account, authorizationID: dn.map { "dn:" + $0 } ?? "u:" + account)
        }
        guard name.contains("@"), !name.contains("=") else { return nil }
        return BindTarget(account: name, authorizationID: "u:" + name)
    }

    // MARK: Search

    private func search(
        _ messageID: LDAPMessageID, _ request: LDAPSearchRequest, _ controls: LDAPRequestControls, bindState: LDAPBindState,
        _ driver: Driver
    ) {
        func done(_ result: LDAPResult) {
            driver.enqueue(.searchCompleted(messageID: messageID, result, controls: []))
        }
        let access: LDAPAccess
        switch bindState {
        case .bound:
            // Set with the `.bindCompleted` that bound the session.
            guard let account = boundAccount else { return done(LDAPResult(.operationsError)) }
            access = .bound(account: account)
        case .anonymous:
            access = .anonymous
            if !Self.isServerInformation(request) {
                // RFC 4513 §5.1.1 lets a server refuse anonymous operations; slapd answers 50.
                guard configuration.anonymousMaySearch(from: info.clientAddress) else {
                    return done(
                        LDAPResult(
                            .insufficientAccessRights,
                            diagnosticMessage: configuration.requireBind
                                ? "bind first: this directory answers only bound clients"
                                : "anonymous searches are not allowed from \(info.clientAddress): bind first"))
                }
                guard rateLimit.allow(info.clientAddress.text) else {
                    return done(
                        LDAPResult(
                            .adminLimitExceeded,
                            diagnosticMessage: "too many anonymous searches from \(info.clientAddress): wait a minute or bind"))
                }
            }
        }
        // The usual case: the copy is current, and the search runs here and now.
        if let directory = directory.fresh() {
            let outcome = directory.search(request, paging: controls.pagedResults, access: access)
            for entry in outcome.entries { driver.enqueue(.searchEntry(messageID: messageID, entry)) }
            return driver.enqueue(.searchCompleted(messageID: messageID, outcome.result, controls: outcome.controls))
        }
        directory.current(on: eventLoop).assumeIsolated().whenComplete { [self] result in
            switch result {
            case .success(let directory):
                let outcome = directory.search(request, paging: controls.pagedResults, access: access)
                for entry in outcome.entries { driver.feed(.searchEntry(messageID: messageID, entry)) }
                driver.feed(.searchCompleted(messageID: messageID, outcome.result, controls: outcome.controls))
            case .failure(let error):
                logger.warning("search: the directory could not be read: \(error)")
                driver.feed(
                    .searchCompleted(
                        messageID: messageID, LDAPResult(.unavailable, diagnosticMessage: "the directory is unavailable, try again later"),
                        controls: []))
            }
        }
    }

    /// The root DSE and the schema subentry, which clients read before they bind (RFC 4512 §5.1,
    /// §4.4): readable by anyone from anywhere.
    static func isServerInformation(_ request: LDAPSearchRequest) -> Bool {
        guard request.scope == .baseObject else { return false }
        let base = String(request.baseObject.filter { $0 != " " }).lowercased()
        return base.isEmpty || base == "cn=subschema"
    }
}

extension LDAPConnection {
    /// The result code of a response that ends an operation (`loft_commands_total`); nil for
    /// search entries and references, which are not results.
    static func result(of op: LDAPProtocolOp) -> LDAPResultCode? {
        switch op {
        case .bindResponse(let r): r.result.resultCode
        case .extendedResponse(let r): r.result.resultCode
        case .searchResultDone(let r), .modifyResponse(let r), .addResponse(let r), .deleteResponse(let r), .modifyDNResponse(let r),
            .compareResponse(let r):
            r.resultCode
        default: nil
        }
    }
}
