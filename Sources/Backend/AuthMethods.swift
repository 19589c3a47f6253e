import Foundation
import Logging
import MailCore
import RPCProtocol
import RPCTransport
import Storage

/// auth.*, session.info: logins with throttling across all gateways (DESIGN §5), password checks
/// on their own pool and cache, and the one-time challenges of APOP and CRAM-MD5.
extension Backend {
    func registerAuth() {
        hashing(Methods.authLogin) { _, p in
            try self.authenticate(username: p.username, clientAddress: p.clientAddress, service: p.service, mechanism: "password") {
                account in
                self.verifyPassword(p.password, of: account)
            } burn: {
                self.credentials.burnPasswordTime(p.password)
            }
        }
        inline(Methods.authChallenge) { _, p in
            guard IssuedChallenges.isValidHostname(p.hostname) else {
                throw RPCError(.invalidParams, "not a host name: \(p.hostname.debugDescription)", field: "hostname")
            }
            let now = self.clock()
            let challenge = self.challenges.withLockedValue { $0.issue(hostname: p.hostname, nowMs: now) }
            return ChallengeResult(challenge: challenge, expiresMs: Int(self.challenges.withLockedValue { $0.policy.lifetimeMs }))
        }
        blocking(Methods.authMechanisms) { _, _ in
            let (epoch, known) = self.challengeResponseAvailable.withLockedValue { ($0.epoch, $0.value) }
            if let known { return MechanismsResult(challengeResponse: known) }
            let value = try self.store.anyChallengeResponseAccount()
            self.challengeResponseAvailable.withLockedValue { if $0.epoch == epoch { $0.value = value } }
            return MechanismsResult(challengeResponse: value)
        }
        blocking(Methods.authAPOP) { _, p in
            // The timestamp must be one this back-end issued (DESIGN §2).
            try self.withChallenge(p.timestamp) { fresh in
                try self.authenticate(username: p.username, clientAddress: p.clientAddress, service: p.service, mechanism: "apop") {
                    account in
                    // RFC 1939 §7, with the account's own APOP secret — never the login password.
                    guard fresh, let sealed = account.apopSecret, let secret = self.credentials.open(sealed) else { return false }
                    let expected = Credentials.apopDigest(timestamp: p.timestamp, secret: secret)
                    return Credentials.constantTimeEqual(Array(expected.utf8), Array(p.digest.lowercased().utf8))
                } burn: {
                } countsAsGuess: {
                    !fresh || $0.apopSecret != nil
                }
            }
        }
        blocking(Methods.authCRAMMD5) { _, p in
            try self.withChallenge(p.challenge) { fresh in
                try self.authenticate(
                    username: p.username, clientAddress: p.clientAddress, service: p.service, mechanism: "cram-md5"
                ) { account in
                    // RFC 2195; CRAM-MD5 shares the challenge-response secret with APOP.
                    guard fresh, let sealed = account.apopSecret, let secret = self.credentials.open(sealed) else { return false }
                    let expected = Credentials.cramDigest(challenge: p.challenge, secret: secret)
                    return Credentials.constantTimeEqual(Array(expected.utf8), Array(p.digest.lowercased().utf8))
                } burn: {
                } countsAsGuess: {
                    !fresh || $0.apopSecret != nil
                }
            }
        }
        blocking(Methods.authImpersonate) { _, p in
            let address = try Self.address(p.account, field: "account")
            guard let account = try self.store.account(address: address.canonical) else {
                throw RPCError(.noSuchAccount, "no account \(address)")
            }
            guard account.enabled else { throw RPCError(.accountDisabled, "the account is disabled") }
            return try self.session(for: account)
        }
        blocking(Methods.authMaySendAs) { _, p in
            SendAsResult(allowed: try self.maySendAs(account: try self.account(session: p.session), address: p.address))
        }
        blocking(Methods.sessionInfo) { _, p in
            let account = try self.account(session: p.session)
            let expires = self.credentials.verifySession(p.session, now: self.nowSeconds)?.expiresAt
            return try self.session(for: account, token: p.session, expiresAt: expires)
        }
        // A long-lived connection (an IMAP IDLE, a web mail page) keeps its user logged in past
        // the token's lifetime without the password: a valid token buys a new one with a full
        // lifetime. It is still bound to the account's session generation, so a new password or
        // disabling the account ends it as before.
        blocking(Methods.sessionRefresh) { _, p in
            try self.session(for: try self.account(session: p.session))
        }
    }

    /// A password check, answered from `authCache` when this password was verified for this
    /// account in its current generation recently; a success is remembered, a failure never.
    func verifyPassword(_ password: String, of account: AccountRecord) -> Bool {
        let now = clock()
        if authCache.withLockedValue({
            $0.contains(accountID: account.id, generation: account.sessionGeneration, password: password, nowMs: now)
        }) {
            return true
        }
        guard credentials.verifyPassword(password, hash: account.passwordHash) else { return false }
        authCache.withLockedValue {
            $0.insert(accountID: account.id, generation: account.sessionGeneration, password: password, nowMs: now)
        }
        return true
    }

    /// Runs one challenge-response attempt with the challenge taken out of `challenges`, so no
    /// other attempt can use it meanwhile; `fresh` says whether it was issued here, unexpired,
    /// with attempts left. A success uses it up; anything else gives it back for another try.
    func withChallenge<R>(_ challenge: String, _ attempt: (_ fresh: Bool) throws -> R) throws -> R {
        let now = clock()
        let taken = challenges.withLockedValue { $0.take(challenge, nowMs: now) }
        do {
            return try attempt(taken != nil)
        } catch {
            if let taken { challenges.withLockedValue { $0.failed(challenge, taken) } }
            throw error
        }
    }

    /// The shared path of every login: throttle check, lookup, verification, bookkeeping. An
    /// unknown account costs as much time as a wrong password and fails the same way.
    /// `countsAsGuess` says whether a failure is a guess at all: APOP and CRAM-MD5 on an account
    /// without a challenge-response secret can never succeed, and clients (curl, smtplib) try
    /// CRAM-MD5 first when it is offered, so such a failure must not push the user toward the
    /// throttle.
    func authenticate(
        username: String, clientAddress: String?, service: String?, mechanism: String,
        verify: (AccountRecord) -> Bool, burn: () -> Void, countsAsGuess: (AccountRecord) -> Bool = { _ in true }
    ) throws -> SessionResult {
        // Throttled by the canonical address, so that `<Victim@D.>` and `victim@d` share one
        // counter (else every spelling of an address got its own free attempts).
        let trimmed = username.trimmingCharacters(in: .whitespaces)
        let name = EmailAddress(trimmed)?.canonical ?? trimmed.lowercased()
        if let wait = throttle.withLockedValue({ $0.retryAfterMs(account: name, address: clientAddress, nowMs: clock()) }) {
            logLogin("throttled", user: name, mechanism: mechanism, client: clientAddress, service: service)
            throw RPCError(
                .authThrottled, "too many failed logins; try again in \((wait + 999) / 1000) s", retryAfterMs: wait, temporary: true)
        }
        let account = try EmailAddress(name).flatMap { try store.account(address: $0.canonical) }
        guard let account, verify(account) else {
            if account == nil { burn() }
            if account.map(countsAsGuess) ?? true {
                throttle.withLockedValue { $0.recordFailure(account: name, address: clientAddress, nowMs: clock()) }
            }
            logLogin("failed", user: name, mechanism: mechanism, client: clientAddress, service: service)
            throw RPCError(.authFailed, "invalid credentials")
        }
        guard account.enabled else {
            logLogin("disabled", user: name, mechanism: mechanism, client: clientAddress, service: service)
            throw RPCError(.accountDisabled, "the account is disabled")
        }
        throttle.withLockedValue { $0.recordSuccess(account: name, address: clientAddress) }
        logLogin("ok", user: account.address, mechanism: mechanism, client: clientAddress, service: service)
        return try session(for: account)
    }

    /// One line per login attempt (issue 14), what an administrator searches and fail2ban
    /// matches: `msg="login failed" event=login result=failed client=… mechanism=… service=…
    /// user=…` (the log handler puts event, result and client first). Successes at info, the
    /// rest at notice. Never a password or a digest.
    func logLogin(_ result: String, user: String, mechanism: String, client: String?, service: String?) {
        BackendMetrics.login(service: service, mechanism: mechanism, result: result)
        let message: Logger.Message =
            switch result {
            case "ok": "login ok"
            case "disabled": "login refused: the account is disabled"
            case "throttled": "login refused: too many failures"
            default: "login failed"
            }
        logger.log(
            level: result == "ok" ? .info : .notice, message,
            metadata: [
                "event": "login", "result": .string(result), "user": .string(user), "mechanism": .string(mechanism),
                "client": .string(client ?? "?"), "service": .string(service ?? "?"),
            ])
    }

    func session(for account: AccountRecord, token: String? = nil, expiresAt: Int64? = nil) throws -> SessionResult {
        let expires = expiresAt ?? nowSeconds + config.sessionLifetimeSeconds
        let token = token ?? credentials.issueSession(accountID: account.id, generation: account.sessionGeneration, expiresAt: expires)
        return SessionResult(
            session: token, account: account.address, expiresAt: expires, apopEnabled: account.apopSecret != nil,
            mayManageMailboxes: account.mayManageMailboxes,
            maxMessageBytes: try effectiveMaxMessage(account))
    }

    /// An account may send as itself, as a sub-address of itself (`user+tag@`), and as an alias
    /// that delivers to it directly. Not as a group: being on a list does not make one its voice.
    func maySendAs(account: AccountRecord, address text: String) throws -> Bool {
        guard let address = EmailAddress(text) else { return false }
        let own = { (candidate: String) in EmailAddress(candidate)?.canonical == account.address }
        var candidates = [address.canonical]
        if let plus = address.localPart.firstIndex(of: "+"), plus != address.localPart.startIndex {
            candidates.append("\(address.localPart[..<plus].lowercased())@\(address.domain.name)")
        }
        for candidate in candidates {
            if own(candidate) { return true }
            if case .alias(let targets) = try store.lookup(candidate), targets.contains(where: own) { return true }
        }
        return false
    }

    func effectiveMaxMessage(_ account: AccountRecord) throws -> Int64 {
        let server = serverMaxMessageBytes
        return account.maxMessageBytes > 0 ? min(account.maxMessageBytes, server) : server
    }
}
