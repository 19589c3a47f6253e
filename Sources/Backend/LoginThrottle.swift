/// Slows password guessing across every gateway at once (DESIGN §5): failures are counted per
/// account name and per client address; past a few free attempts each further one must wait an
/// exponentially growing delay, which the caller learns (`retryAfterMs`) instead of a silent
/// stall. A value type: the back-end keeps it behind a lock, tests drive it with their own clock.
public struct LoginThrottle: Sendable {
    public struct Policy: Sendable {
        /// Failures that cost nothing; after this many, each further attempt must wait.
        public var freeAttempts = 3
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

    static func keys(account: String, address: String?) -> [String] {
        var keys = ["u:" + account.lowercased()]
        if let address, !address.isEmpty { keys.append("a:" + address) }
        return keys
    }

    /// How long the caller must still wait, or nil when an attempt may proceed.
    public func retryAfterMs(account: String, address: String?, nowMs: Int64) -> Int? {
        var wait: Int64 = 0
        for key in Self.keys(account: account, address: address) {
            if let e = entries[key], e.blockedUntilMs > nowMs, nowMs - e.lastFailureMs < policy.forgetAfterMs {
                wait = max(wait, e.blockedUntilMs - nowMs)
            }
        }
        return wait > 0 ? Int(wait) : nil
    }

    public mutating func recordFailure(account: String, address: String?, nowMs: Int64) {
        if entries.count >= policy.maxKeys { evictStale(nowMs: nowMs) }
        for key in Self.keys(account: account, address: address) {
            var e = entries[key] ?? Entry(failures: 0, lastFailureMs: nowMs, blockedUntilMs: 0)
            if nowMs - e.lastFailureMs >= policy.forgetAfterMs { e.failures = 0 }
            e.failures += 1
            e.lastFailureMs = nowMs
            let over = e.failures - policy.freeAttempts + 1
            if over > 0 {
                let delay = min(Int64(policy.maxDelayMs), Int64(policy.baseDelayMs) << Int64(min(over - 1, 20)))
                e.blockedUntilMs = nowMs + delay
            }
            entries[key] = e
        }
    }

    /// A successful login clears the account's count and the address's.
    public mutating func recordSuccess(account: String, address: String?) {
        for key in Self.keys(account: account, address: address) { entries[key] = nil }
    }

    mutating func evictStale(nowMs: Int64) {
        entries = entries.filter { nowMs - $0.value.lastFailureMs < policy.forgetAfterMs }
        if entries.count >= policy.maxKeys {
            let keep = entries.sorted { $0.value.lastFailureMs > $1.value.lastFailureMs }.prefix(policy.maxKeys / 2)
            entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
    }
}
