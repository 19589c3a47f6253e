import NIOConcurrencyHelpers
import RPCProtocol
import RPCTransport

/// Change events for subscribers (IMAP IDLE, web mail): who listens to which account, and the
/// push itself. Subscriptions die with their connection.
final class EventHub: Sendable {
    struct Subscriber {
        let id: Int64
        let connection: RPCConnection
    }
    struct State {
        var nextID: Int64 = 0
        var byAccount: [Int64: [Subscriber]] = [:]
        var accountOf: [Int64: Int64] = [:]
    }
    let state = NIOLockedValueBox(State())

    /// Subscriptions one connection may hold (one per IMAP session it serves).
    static let maxPerConnection = 10_000

    func subscribe(accountID: Int64, connection: RPCConnection) throws -> Int64 {
        let id = try state.withLockedValue { s throws -> Int64 in
            let mine = s.byAccount.values.reduce(0) { $0 + $1.filter { $0.connection === connection }.count }
            guard mine < Self.maxPerConnection else {
                throw RPCError(.limitExceeded, "at most \(Self.maxPerConnection) subscriptions per connection")
            }
            s.nextID += 1
            s.byAccount[accountID, default: []].append(Subscriber(id: s.nextID, connection: connection))
            s.accountOf[s.nextID] = accountID
            return s.nextID
        }
        connection.onClose { [weak self] in self?.unsubscribe(id) }
        return id
    }

    /// Ends a subscription; with `connection`, only one that connection made.
    @discardableResult
    func unsubscribe(_ id: Int64, connection: RPCConnection? = nil) -> Bool {
        state.withLockedValue { s in
            guard let account = s.accountOf[id] else { return false }
            if let connection, !(s.byAccount[account] ?? []).contains(where: { $0.id == id && $0.connection === connection }) {
                return false
            }
            s.accountOf[id] = nil
            s.byAccount[account]?.removeAll { $0.id == id }
            if s.byAccount[account]?.isEmpty == true { s.byAccount[account] = nil }
            return true
        }
    }

    func publish(accountID: Int64, _ event: (Int64) -> MailEvent) {
        let subscribers = state.withLockedValue { $0.byAccount[accountID] ?? [] }
        for s in subscribers {
            s.connection.notify(method: Methods.eventNotification, params: event(s.id))
        }
    }
}
