/// Slows password guessing across every gateway at once (DESIGN §5): failures are counted per
/// account name, per (client address, account name), and per client address alone; past a few
/// free attempts each further one must wait an exponentially growing delay, which the caller
/// learns (`retryAfterMs`) instead of a silent stall. The address alone gets many more free
/// attempts (`addressFactor`), because one address is often a NAT with many people behind it:
/// three typos by one of them must not lock the others out, while a guesser trying many accounts
/// from one address still is slowed. A value type: the back-end keeps it behind a lock, tests
/// drive it with their own clock.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable {
        /// Failures that cost nothing; after this many, each further attempt must wait.
        public var freeAttempts = 3
        /// An address alone (across all accounts) has `addressFactor × freeAttempts` free failures.
        public var addressFactor = 10
        public var baseDelayMs = 1000
        public var maxDelayMs = 5 * 60 * 1000
        /// A key's failures are forgotten after this long without one.
        public var forgetAfterMs = 15 * 60 * 1000
        /// Keys tracked at most; the stalest are dropped beyond it, so memory stays bounded.
        public var maxKeys = 100_000
        public init() {}
    }

    struct Entry {
        var failures: Int
        var lastFailureMs: Int64
        var blockedUntilMs: Int64
    }

    let policy: Policy
    var entries: [String: Entry] = [:]

    public init(policy: Policy) { self.policy = policy }

    /// The counters one attempt touches, each with its number of free failures.
    func keys(account: String, address: String?) -> [(key: String, free: Int)] {
        let account = account.lowercased()
        var keys = [("u:" + account, policy.freeAttempts)]
        if let address, !address.isEmpty {
            keys.append(("p:" + address + " " + account, policy.freeAttempts))
            keys.append(("a:" + address, policy.freeAttempts * max(1, policy.addressFactor)))
        }
        return keys
    }

    /// How long the caller must still wait, or nil when an attempt may proceed.
    public func retryAfterMs(account: String, address: String?, nowMs: Int64) -> Int? {
        var wait: Int64 = 0
        for (key, _) in keys(account: account, address: address) {
            if let e = entries[key], e.blockedUntilMs > nowMs, nowMs - e.lastFailureMs < policy.forgetAfterMs {
                wait = max(wait, e.blockedUntilMs - nowMs)
            }
        }
        return wait > 0 ? Int(wait) : nil
    }

    public mutating func recordFailure(account: String, address: String?, nowMs: Int64) {
        if entries.count >= policy.maxKeys { evictStale(nowMs: nowMs) }
        for (key, free) in keys(account: account, address: address) {
            var e = entries[key] ?? Entry(failures: 0, lastFailureMs: nowMs, blockedUntilMs: 0)
            if nowMs - e.lastFailureMs >= policy.forgetAfterMs { e.failures = 0 }
            e.failures += 1
            e.lastFailureMs = nowMs
            let over = e.failures - free + 1
            if over > 0 {
                let delay = min(Int64(policy.maxDelayMs), Int64(policy.baseDelayMs) << Int64(min(over - 1, 20)))
                e.blockedUntilMs = nowMs + delay
            }
            entries[key] = e
        }
    }

    /// A successful login clears the account's count and the (address, account) pair's, not the
    /// address's: one account a guesser owns must not let it reset the count for all the others.
    public mutating func recordSuccess(account: String, address: String?) {
        for (key, _) in keys(account: account, address: address) where !key.hasPrefix("a:") { entries[key] = nil }
    }

    mutating func evictStale(nowMs: Int64) {
        entries = entries.filter { nowMs - $0.value.lastFailureMs < policy.forgetAfterMs }
        if entries.count >= policy.maxKeys {
            let keep = entries.sorted { $0.value.lastFailureMs > $1.value.lastFailureMs }.prefix(policy.maxKeys / 2)
            entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
