import NIOConcurrencyHelpers
import RPCProtocol
import RPCTransport

/// Change events for subscribers (IMAP IDLE, web mail): who listens to which account, and the
/// push itself. Subscriptions die with their connection.
///
/// Built for thousands of IDLE connections multiplexed on a few gateway connections: subscribe
/// and unsubscribe are O(1) (indexed by id, by account and by connection), each connection gets
/// one close hook and one writability hook however many subscriptions come and go on it,
/// notifications are bounded in size, and a connection that does not read loses events (its
/// subscriptions then get one `resync` event each) rather than making the back-end buffer them.
final class EventHub: Sendable {
    struct Subscription {
        let id: Int64
        let accountID: Int64
        let account: String
        /// Only this mailbox's events (canonical name), or all of the account's.
        let mailbox: String?
        let connection: RPCConnection

        func wants(_ event: MailEvent) -> Bool { Self.filter(mailbox, wants: event) }

        /// Protocol/README §9: an event reaches a subscription filtered by `mailbox` when it
        /// concerns that mailbox, or renames it (or one of its parents, which renames it too).
        static func filter(_ mailbox: String?, wants event: MailEvent) -> Bool {
            guard let mailbox else { return true }
            if event.kind == .resync || event.mailbox == mailbox { return true }
            guard let old = event.oldMailbox else { return false }
            return old == mailbox || mailbox.hasPrefix(old + "/")
        }
    }
    struct PerConnection {
        var subscriptions: Set<Int64> = []
        /// Subscriptions that lost an event while the connection was not writable.
        var needResync: Set<Int64> = []
    }
    struct State {
        var nextID: Int64 = 0
        var subscriptions: [Int64: Subscription] = [:]
        var byAccount: [Int64: Set<Int64>] = [:]
        /// Kept from a connection's first subscription until it closes, so that its hooks are
        /// registered once (an IDLE cycle subscribes and unsubscribes again and again).
        var byConnection: [RPCConnection: PerConnection] = [:]
    }
    let state = NIOLockedValueBox(State())

    /// Subscriptions one connection may hold (one per IMAP session it serves).
    static let maxPerConnection = 10_000

    func subscribe(accountID: Int64, account: String, mailbox: String? = nil, connection: RPCConnection) throws -> Int64 {
        let (id, first) = try state.withLockedValue { s throws -> (Int64, Bool) in
            let known = s.byConnection[connection]
            guard (known?.subscriptions.count ?? 0) < Self.maxPerConnection else {
                throw RPCError(.limitExceeded, "at most \(Self.maxPerConnection) subscriptions per connection")
            }
            s.nextID += 1
            let id = s.nextID
            s.subscriptions[id] = Subscription(id: id, accountID: accountID, account: account, mailbox: mailbox, connection: connection)
            s.byAccount[accountID, default: []].insert(id)
            s.byConnection[connection, default: PerConnection()].subscriptions.insert(id)
            return (id, known == nil)
        }
        if first {
            // Both hooks hold the hub weakly and run at most for this connection's lifetime.
            connection.onClose { [weak self] in self?.closed(connection) }
            connection.onWritable { [weak self] in self?.resync(connection) }
        }
        return id
    }

    /// Ends a subscription; with `connection`, only one that connection made.
    @discardableResult
    func unsubscribe(_ id: Int64, connection: RPCConnection? = nil) -> Bool {
        state.withLockedValue { s in
            guard let sub = s.subscriptions[id], connection == nil || sub.connection === connection else { return false }
            Self.remove(sub, from: &s)
            return true
        }
    }

    static func remove(_ sub: Subscription, from s: inout State) {
        s.subscriptions[sub.id] = nil
        s.byAccount[sub.accountID]?.remove(sub.id)
        if s.byAccount[sub.accountID]?.isEmpty == true { s.byAccount[sub.accountID] = nil }
        s.byConnection[sub.connection]?.subscriptions.remove(sub.id)
        s.byConnection[sub.connection]?.needResync.remove(sub.id)
    }

    func closed(_ connection: RPCConnection) {
        state.withLockedValue { s in
            guard let entry = s.byConnection.removeValue(forKey: connection) else { return }
            for id in entry.subscriptions {
                guard let sub = s.subscriptions.removeValue(forKey: id) else { continue }
                s.byAccount[sub.accountID]?.remove(id)
                if s.byAccount[sub.accountID]?.isEmpty == true { s.byAccount[sub.accountID] = nil }
            }
        }
    }

    /// Sends `event` (its `subscription` is filled in per subscriber) to every subscription of
    /// the account that wants it, split so that no notification carries more than
    /// `RPCLimits.maxEventUIDs` UIDs.
    func publish(accountID: Int64, _ event: MailEvent) {
        let targets = state.withLockedValue { s -> [(id: Int64, connection: RPCConnection)] in
            guard let ids = s.byAccount[accountID] else { return [] }
            return ids.compactMap { id in
                guard let sub = s.subscriptions[id], sub.wants(event) else { return nil }
                return (id, sub.connection)
            }
        }
        guard !targets.isEmpty else { return }
        let parts = Self.split(event)
        for target in targets {
            let events = parts.map { part -> MailEvent in
                var e = part
                e.subscription = target.id
                return e
            }
            target.connection.notify(method: Methods.eventNotification, params: events) { [weak self] _ in
                self?.lost(target.id, on: target.connection)
            }
        }
    }

    /// One event, or several when its UIDs are more than one notification may carry.
    static func split(_ event: MailEvent, maxUIDs: Int = RPCLimits.maxEventUIDs) -> [MailEvent] {
        guard let uids = event.uids, uids.count > maxUIDs else { return [event] }
        return stride(from: 0, to: uids.count, by: maxUIDs).map { start in
            var part = event
            part.uids = Array(uids[start..<min(start + maxUIDs, uids.count)])
            return part
        }
    }

    /// An event for subscription `id` was dropped: it gets a `resync` once the connection drains.
    func lost(_ id: Int64, on connection: RPCConnection) {
        state.withLockedValue { s in
            guard s.subscriptions[id] != nil else { return }
            s.byConnection[connection]?.needResync.insert(id)
        }
    }

    /// The connection is writable again: each subscription that lost events hears `resync`
    /// once. One dropped again (the connection filled up at once) stays marked for next time.
    func resync(_ connection: RPCConnection) {
        let due = state.withLockedValue { s -> [Subscription] in
            guard let marked = s.byConnection[connection]?.needResync, !marked.isEmpty else { return [] }
            s.byConnection[connection]?.needResync = []
            return marked.compactMap { s.subscriptions[$0] }
        }
        guard !due.isEmpty else { return }
        let events = due.map { MailEvent(subscription: $0.id, account: $0.account, kind: .resync, mailbox: "") }
        connection.notify(method: Methods.eventNotification, params: events) { [weak self] indices in
            for i in indices { self?.lost(due[i].id, on: connection) }
        }
    }
}
