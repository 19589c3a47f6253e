import NIOConcurrencyHelpers

/// Named per-account locks with leases: the POP3 maildrop lock of RFC 1939 §8. A gateway
/// renews its lease while the session lives; if the gateway dies, the lease runs out and the
/// user is not locked out for longer than it. Kept in memory: a back-end restart frees all.
final class LockTable: Sendable {
    struct Held {
        let token: String
        let key: String
        var expiresMs: Int64
        var leaseMs: Int
    }
    let locks = NIOLockedValueBox([String: Held]())  // key → held
    let tokens = NIOLockedValueBox([String: String]())  // token → key

    func acquire(key: String, leaseMs: Int, nowMs: Int64) -> Held? {
        locks.withLockedValue { locks in
            if let held = locks[key], held.expiresMs > nowMs { return nil }
            if let stale = locks[key] { _ = tokens.withLockedValue { $0.removeValue(forKey: stale.token) } }
            let token = Credentials.base64url(Credentials.random(18))
            let held = Held(token: token, key: key, expiresMs: nowMs + Int64(leaseMs), leaseMs: leaseMs)
            locks[key] = held
            tokens.withLockedValue { $0[token] = key }
            return held
        }
    }

    func renew(token: String, nowMs: Int64) -> Held? {
        guard let key = tokens.withLockedValue({ $0[token] }) else { return nil }
        return locks.withLockedValue { locks in
            guard var held = locks[key], held.token == token, held.expiresMs > nowMs else { return nil }
            held.expiresMs = nowMs + Int64(held.leaseMs)
            locks[key] = held
            return held
        }
    }

    func release(token: String) -> Bool {
        guard let key = tokens.withLockedValue({ $0.removeValue(forKey: token) }) else { return false }
        return locks.withLockedValue { locks in
            guard locks[key]?.token == token else { return false }
            locks[key] = nil
            return true
        }
    }
}
