import NIOConcurrencyHelpers
import NIOCore

/// Deliveries being committed right now, by idempotency key: from the moment the back-end takes
/// a commit (`upload.commit`, `delivery.submit`) until its transaction has ended, either way.
/// `delivery.outcome` waits on a key found here instead of answering "not committed" while the
/// delivery may still commit. In memory only: after a restart nothing is in flight, so a key
/// without a recorded outcome then never will have one.
final class InFlightDeliveries: Sendable {
    typealias Waiter = @Sendable (_ finished: Bool) -> Void
    struct Entry {
        /// Commits with this key in progress (a client may send the same one twice at once).
        var commits = 0
        var waiters: [Int64: Waiter] = [:]
    }
    struct State {
        var entries: [String: Entry] = [:]
        var nextWaiter: Int64 = 0
    }
    let state = NIOLockedValueBox(State())

    /// How long `delivery.outcome` waits for a commit in progress, at most.
    static let maxWait = TimeAmount.seconds(30)

    /// A commit with `key` starts. Every `begin` is matched by one `end`.
    func begin(_ key: String) {
        state.withLockedValue { $0.entries[key, default: Entry()].commits += 1 }
    }

    /// A commit with `key` has ended (its transaction committed or failed); when it was the
    /// last one, everyone waiting hears `finished`.
    func end(_ key: String) {
        let waiters = state.withLockedValue { s -> [Waiter] in
            guard var entry = s.entries[key] else { return [] }
            entry.commits -= 1
            if entry.commits > 0 {
                s.entries[key] = entry
                return []
            }
            s.entries[key] = nil
            return Array(entry.waiters.values)
        }
        for waiter in waiters { waiter(true) }
    }

    func isInFlight(_ key: String) -> Bool { state.withLockedValue { $0.entries[key] != nil } }

    /// Calls `done(true)` once no commit with `key` is in progress — at once if none is — or
    /// `done(false)` if one still is after `timeout`. `done` runs exactly once.
    func wait(_ key: String, timeout: TimeAmount = maxWait, on loop: any EventLoop, done: @escaping Waiter) {
        let id = state.withLockedValue { s -> Int64? in
            guard s.entries[key] != nil else { return nil }
            s.nextWaiter += 1
            s.entries[key]?.waiters[s.nextWaiter] = done
            return s.nextWaiter
        }
        guard let id else { return done(true) }
        loop.scheduleTask(in: timeout) {
            let waiter = self.state.withLockedValue { $0.entries[key]?.waiters.removeValue(forKey: id) }
            waiter?(false)
        }
    }
}
