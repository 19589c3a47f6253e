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
        /// Run once when the lock is released or replaced after expiry (`attach`).
        var forget: (@Sendable () -> Void)?
    }
    let locks = NIOLockedValueBox([String: Held]())  // key → held
    let tokens = NIOLockedValueBox([String: String]())  // token → key

    func acquire(key: String, leaseMs: Int, nowMs: Int64) -> Held? {
        let (held, stale) = locks.withLockedValue { locks -> (Held?, Held?) in
            if let held = locks[key], held.expiresMs > nowMs { return (nil, nil) }
            let stale = locks[key]
            if let stale { _ = tokens.withLockedValue { $0.removeValue(forKey: stale.token) } }
            let token = Credentials.base64url(Credentials.random(18))
            let held = Held(token: token, key: key, expiresMs: nowMs + Int64(leaseMs), leaseMs: leaseMs)
            locks[key] = held
            tokens.withLockedValue { $0[token] = key }
            return (held, stale)
        }
        stale?.forget?()
        return held
    }

    /// Runs `forget` when the lock with `token` goes (at once if it already has): what guards
    /// it from outside (a connection's close hook) is dropped with it.
    func attach(token: String, forget: @escaping @Sendable () -> Void) {
        let attached = locks.withLockedValue { locks -> Bool in
            guard let key = tokens.withLockedValue({ $0[token] }), locks[key]?.token == token else { return false }
            locks[key]?.forget = forget
            return true
        }
        if !attached { forget() }
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
        let released = locks.withLockedValue { locks -> Held? in
            guard let held = locks[key], held.token == token else { return nil }
            locks[key] = nil
            return held
        }
        released?.forget?()
        return released != nil
    }
}
