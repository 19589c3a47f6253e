import NIOConcurrencyHelpers
import NIOCore

/// Client addresses that waited for the greeting on the MX port, and until when that holds
/// (Postfix postscreen's `postscreen_greet_ttl`, a day): a client that passed the pregreet test
/// is greeted at once on its next connections, so a real MTA pays the pause once a day, not on
/// every message.
///
/// Bounded: at `capacity` addresses, the expired ones go and, if that frees nothing, the ones
/// nearest expiry; an address forgotten early only waits the pause again.
final class GreetingPasses: Sendable {
    struct Table {
        let lifetime: TimeAmount
        let capacity: Int
        private(set) var expiry: [String: NIODeadline] = [:]

        init(lifetime: TimeAmount, capacity: Int) {
            self.lifetime = lifetime
            self.capacity = max(1, capacity)
        }

        func passed(_ address: String, now: NIODeadline) -> Bool {
            guard let until = expiry[address] else { return false }
            return until > now
        }

        mutating func pass(_ address: String, now: NIODeadline) {
            if expiry[address] == nil, expiry.count >= capacity {
                expiry = expiry.filter { $0.value > now }
                if expiry.count >= capacity {
                    // Nothing expired: drop the oldest quarter (nearest expiry) in one go.
                    let keep = expiry.sorted { $0.value > $1.value }.prefix(capacity - max(1, capacity / 4))
                    expiry = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
                }
            }
            expiry[address] = now + lifetime
        }
    }

    private let table: NIOLockedValueBox<Table>
    private let now: @Sendable () -> NIODeadline

    static let lifetime = TimeAmount.hours(24)
    static let capacity = 100_000

    init(
        lifetime: TimeAmount = GreetingPasses.lifetime, capacity: Int = GreetingPasses.capacity,
        now: @escaping @Sendable () -> NIODeadline = { .now() }
    ) {
        table = NIOLockedValueBox(Table(lifetime: lifetime, capacity: capacity))
        self.now = now
    }

    func passed(_ address: String) -> Bool { table.withLockedValue { $0.passed(address, now: now()) } }

    func pass(_ address: String) { table.withLockedValue { $0.pass(address, now: now()) } }

    var count: Int { table.withLockedValue { $0.expiry.count } }
}
