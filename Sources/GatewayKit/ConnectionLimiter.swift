import NIOConcurrencyHelpers

/// Caps connections per client address and in all (STYLE §7), so one address cannot take every
/// slot. Shared by every listener of a gateway; safe from any thread.
public final class ConnectionLimiter: Sendable {
    public let perAddress: Int
    public let total: Int
    private let counts = NIOLockedValueBox(State())

    private struct State {
        var byAddress: [String: Int] = [:]
        var total = 0
    }

    public init(perAddress: Int, total: Int) {
        self.perAddress = perAddress
        self.total = total
    }

    /// Takes a slot for `address`, or returns false when either limit is reached. Every `true`
    /// must be paired with one `release`.
    public func admit(_ address: String) -> Bool {
        counts.withLockedValue { state in
            let current = state.byAddress[address, default: 0]
            guard current < perAddress, state.total < total else { return false }
            state.byAddress[address] = current + 1
            state.total += 1
            return true
        }
    }

    public func release(_ address: String) {
        counts.withLockedValue { state in
            guard let current = state.byAddress[address] else { return }
            state.byAddress[address] = current > 1 ? current - 1 : nil
            state.total -= 1
        }
    }

    /// Connections currently admitted from `address` (for tests and metrics).
    public func count(for address: String) -> Int {
        counts.withLockedValue { $0.byAddress[address, default: 0] }
    }

    public var totalCount: Int { counts.withLockedValue { $0.total } }
}
