import NIOConcurrencyHelpers

/// Caps connections in all and per client address (STYLE §7), and says when the gateway is
/// under stress. Shared by every listener of a gateway; safe from any thread.
///
/// Under stress (at least `stressThreshold` of the cap in use, as Postfix's stress mode) two
/// things change: connections that have not logged in get the short `ConnectionTimeouts`
/// (the connection driver asks `isStressed`), and one address may hold only its share,
/// `stressedPerAddress`, so a few addresses cannot take the last free slots.
public final class ConnectionLimiter: Sendable {
    public let perAddress: Int
    public let total: Int
    public let stressThreshold: Int
    public let stressedPerAddress: Int
    private let counts = NIOLockedValueBox(State())

    private struct State {
        var byAddress: [String: Int] = [:]
        var total = 0
    }

    /// `stressAt` is the fraction of `total` in use from which the gateway is stressed (3/4 by
    /// default); `stressedShare` the fraction of `perAddress` one address may then hold.
    public init(perAddress: Int, total: Int, stressAt: Double = 0.75, stressedShare: Double = 0.25) {
        self.perAddress = max(1, perAddress)
        self.total = max(1, total)
        self.stressThreshold = max(1, min(self.total, Int((Double(self.total) * stressAt).rounded(.up))))
        self.stressedPerAddress = max(1, Int((Double(self.perAddress) * stressedShare).rounded(.down)))
    }

    /// Takes a slot for `address`, or returns false when a limit is reached. Every `true` must
    /// be paired with one `release`.
    public func admit(_ address: String) -> Bool {
        counts.withLockedValue { state in
            let current = state.byAddress[address, default: 0]
            guard current < perAddress, state.total < total else { return false }
            if state.total >= stressThreshold, current >= stressedPerAddress { return false }
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

    /// True while at least `stressThreshold` connections are open.
    public var isStressed: Bool { counts.withLockedValue { $0.total >= stressThreshold } }

    /// Connections currently admitted from `address` (for tests and metrics).
    public func count(for address: String) -> Int {
        counts.withLockedValue { $0.byAddress[address, default: 0] }
    }

    public var totalCount: Int { counts.withLockedValue { $0.total } }
}
