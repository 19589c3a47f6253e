/// The outbound queue's state machine (Protocol/README §15): what happens to one recipient of a
/// queued message when a relay leases it, reports on it, when its lease or its lifetime runs
/// out, or when an administrator asks for a retry. Pure and driven by the caller's clock
/// (seconds since 1970), so every schedule, expiry and warning is a table test; the store
/// applies what it returns inside the transaction that reads the row, and nothing else writes
/// a recipient's status. (Renewing a lease changes only its deadline, never a status: the store
/// does that in one statement, `QueueStore.renewQueueLease`.)
public enum QueueSchedule {
    /// A recipient's state as stored.
    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, leased, deferred, delivered, failed

        /// Delivered and failed are final: nothing changes them again.
        public var isFinal: Bool { self == .delivered || self == .failed }
    }

    /// What a relay said about one recipient (RFC 5321 §4.2.1: 2yz, 4yz, 5yz).
    public enum Result: String, Sendable, Codable {
        case delivered, deferred, failed
    }

    /// The schedule's settings: `backend.queue.*`.
    public struct Policy: Sendable, Equatable {
        /// Seconds to wait after the first, second, … failed attempt; the last repeats.
        public var retry: [Int64]
        /// Seconds from queueing after which a recipient still not delivered fails.
        public var lifetime: Int64
        /// Seconds from queueing after which a recipient still waiting gets one "delayed"
        /// notification (RFC 3464 Action: delayed); 0 sends none.
        public var delayWarning: Int64

        /// 5m, 10m, 20m, 40m, then every 2h; five days; a warning after four hours (Postfix's
        /// defaults are near these: RFC 5321 §4.5.4.1 asks for at least 30 minutes between
        /// attempts to one host after the first few and 4–5 days before giving up).
        public static let standard = Policy(retry: [300, 600, 1200, 2400, 7200], lifetime: 5 * 86_400, delayWarning: 4 * 3600)

        public init(retry: [Int64], lifetime: Int64, delayWarning: Int64) {
            self.retry = retry.isEmpty ? [300] : retry.map { max(1, $0) }
            self.lifetime = max(1, lifetime)
            self.delayWarning = max(0, delayWarning)
        }

        /// The wait after `attempts` failed attempts (1 after the first).
        public func delay(afterAttempts attempts: Int) -> Int64 {
            retry[min(max(attempts, 1), retry.count) - 1]
        }
    }

    /// One recipient's row.
    public struct State: Sendable, Equatable {
        public var status: Status
        public var attempts: Int
        public var nextAttemptAt: Int64
        /// The lease that holds it, or held it last (kept after the lease ends, so a late report
        /// can be told from one for a newer lease).
        public var leaseID: String?
        public var leaseUntil: Int64?
        public var queuedAt: Int64
        public var expiresAt: Int64
        /// A "delayed" notification was sent.
        public var warned: Bool
        /// RFC 3461 NOTIFY as given (`NEVER` or a subset of SUCCESS, FAILURE, DELAY); nil when
        /// absent, which §4.1 lets the server treat as FAILURE,DELAY.
        public var notify: Set<Notify>?

        public init(
            status: Status = .pending, attempts: Int = 0, nextAttemptAt: Int64, leaseID: String? = nil, leaseUntil: Int64? = nil,
            queuedAt: Int64, expiresAt: Int64, warned: Bool = false, notify: Set<Notify>? = nil
        ) {
            self.status = status
            self.attempts = attempts
            self.nextAttemptAt = nextAttemptAt
            self.leaseID = leaseID
            self.leaseUntil = leaseUntil
            self.queuedAt = queuedAt
            self.expiresAt = expiresAt
            self.warned = warned
            self.notify = notify
        }

        /// Whether a relay may lease it now: waiting and due, or leased by a worker whose lease
        /// has passed (it died or stalled: leasing it again counts that lease as an attempt).
        public func isDue(at now: Int64) -> Bool {
            switch status {
            case .pending, .deferred: nextAttemptAt <= now
            case .leased: (leaseUntil ?? 0) <= now
            case .delivered, .failed: false
            }
        }

        /// RFC 3461 §4.1: whether the sender asked for this kind of notification.
        public func wants(_ kind: Notify) -> Bool {
            guard let notify else { return kind != .success }
            return notify.contains(kind)
        }
    }

    /// RFC 3461 §4.1 NOTIFY values (NEVER is the empty set).
    public enum Notify: String, Sendable, Codable, CaseIterable {
        case success, failure, delay

        /// `NEVER`, or a comma-separated subset, case-insensitive; nil when malformed.
        public static func parse(_ text: String) -> Set<Notify>? {
            let words = text.lowercased().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            if words == ["never"] { return [] }
            var out = Set<Notify>()
            for word in words {
                guard let value = Notify(rawValue: word), !out.contains(value) else { return nil }
                out.insert(value)
            }
            return out.isEmpty ? nil : out
        }

        public static func render(_ set: Set<Notify>) -> String {
            set.isEmpty ? "NEVER" : allCases.filter(set.contains).map { $0.rawValue.uppercased() }.joined(separator: ",")
        }
    }

    /// A notification the transition calls for, to the message's envelope sender.
    public enum Notification: String, Sendable, Equatable {
        /// RFC 3464 Action: delivered (NOTIFY=SUCCESS).
        case delivered
        /// Action: failed (a bounce).
        case failed
        /// Action: delayed (the warning).
        case delayed
    }

    /// Why a lease ended in failure without a report: its lifetime passed.
    public static let expiredText = "delivery time expired"

    /// What an event did to a recipient.
    public enum Step: Sendable, Equatable {
        /// Apply `state`; send `notification` if any.
        case changed(State, notification: Notification?)
        /// Leave the row as it is; `reason` says why (for the report's answer and the log).
        case ignored(reason: String)
    }

    // MARK: Events

    /// A relay leases the recipient until `until`. Leasing one whose earlier lease ran out
    /// counts that lease as an attempt: a message that makes every worker die or stall is then
    /// tried once per lease period and shows its attempts, instead of looking untried until it
    /// expires.
    public static func lease(_ state: State, id: String, until: Int64, now: Int64) -> Step {
        guard state.isDue(at: now) else { return .ignored(reason: "not due") }
        var next = state
        if state.status == .leased { next.attempts += 1 }
        next.status = .leased
        next.leaseID = id
        next.leaseUntil = until
        return .changed(next, notification: nil)
    }

    /// A relay reports the outcome of an attempt made under lease `id`.
    ///
    /// Exactly once: a report under the lease that holds the recipient is applied; a repeated
    /// one finds the recipient final (or no longer leased) and is ignored. A late report —
    /// the lease passed — is applied only if no newer lease holds the recipient, except
    /// `delivered`, which is always recorded: the mail went, so it must not go again.
    public static func report(_ state: State, lease id: String, result: Result, now: Int64, policy: Policy) -> Step {
        if state.status.isFinal { return .ignored(reason: "already \(state.status.rawValue)") }
        let holds = state.leaseID == id
        let heldByOther = state.status == .leased && !holds && (state.leaseUntil ?? 0) > now
        switch result {
        case .delivered:
            // Believed from any lease, the one that holds the recipient or an older one (the
            // recipient may have been leased again, even reported deferred, since): a delivery
            // cannot be undone, so the recipient must not be sent again. The relay's socket is
            // trusted with this; its leases are not secrets from it.
            var next = state
            next.status = .delivered
            next.leaseUntil = nil
            return .changed(next, notification: next.wants(.success) ? .delivered : nil)
        case .deferred, .failed:
            guard holds, state.status == .leased else {
                if holds { return .ignored(reason: "already reported \(state.status.rawValue)") }
                return .ignored(reason: heldByOther ? "leased again since" : "not leased by this lease")
            }
            var next = state
            next.leaseUntil = nil
            next.attempts += 1
            if result == .failed || now >= state.expiresAt {
                next.status = .failed
                return .changed(next, notification: next.wants(.failure) ? .failed : nil)
            }
            next.status = .deferred
            next.nextAttemptAt = min(now + policy.delay(afterAttempts: next.attempts), max(now, state.expiresAt))
            return .changed(next, notification: nil)
        }
    }

    /// The scheduler's tick: a recipient past its lifetime fails (its lease, if any, has passed
    /// too); one waiting past the warning age gets its one "delayed" notification.
    public static func tick(_ state: State, now: Int64, policy: Policy) -> Step {
        switch state.status {
        case .delivered, .failed:
            return .ignored(reason: "final")
        case .leased where (state.leaseUntil ?? 0) > now:
            return .ignored(reason: "leased")
        case .pending, .deferred, .leased:
            if now >= state.expiresAt {
                var next = state
                next.status = .failed
                next.leaseUntil = nil
                return .changed(next, notification: next.wants(.failure) ? .failed : nil)
            }
            // By age alone, as Postfix does: a message no relay could even try (none running,
            // or one that keeps dying) is as late as one that was refused.
            if policy.delayWarning > 0, !state.warned, now >= state.queuedAt + policy.delayWarning {
                var next = state
                next.warned = true
                return .changed(next, notification: next.wants(.delay) ? .delayed : nil)
            }
            return .ignored(reason: "waiting")
        }
    }

    /// An administrator's `queue.retry`: a waiting recipient becomes due now.
    public static func retryNow(_ state: State, now: Int64) -> Step {
        guard state.status == .deferred || state.status == .pending, state.nextAttemptAt > now else {
            return .ignored(reason: state.status.isFinal ? "final" : "already due or leased")
        }
        var next = state
        next.nextAttemptAt = now
        return .changed(next, notification: nil)
    }

    /// An administrator's `queue.remove`: the recipient fails now; with `bounce` the sender
    /// hears of it (whatever NOTIFY said, it is the administrator's call).
    public static func remove(_ state: State, bounce: Bool) -> Step {
        guard !state.status.isFinal else { return .ignored(reason: "final") }
        var next = state
        next.status = .failed
        next.leaseUntil = nil
        return .changed(next, notification: bounce ? .failed : nil)
    }
}
