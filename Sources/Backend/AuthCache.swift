import Crypto
import Foundation

/// Remembers recent successful password checks (as Dovecot's auth cache does), so that a client
/// logging in again and again with the same password — a POP3 poller every minute, a phone
/// opening several connections — costs an HMAC instead of an scrypt. Only a keyed hash of
/// (account id, account generation, password) is kept, under a random key made for this
/// process, so the memory holds nothing a password could be recovered from offline. Only
/// successes are stored; a wrong password never matches and still takes the slow path.
/// Entries expire after `lifetimeMs`; beyond `maxEntries` the oldest go. The account's
/// generation changes with its password, so an old entry cannot match a new state; the back-end
/// also drops an account's entries when it changes (`forget`). A value type behind the
/// back-end's lock, driven by the caller's clock.
struct AuthCache: Sendable {
    struct Policy: Sendable {
        var lifetimeMs: Int64 = 15 * 60 * 1000
        var maxEntries = 10_000
    }

    struct Entry: Sendable {
        var accountID: Int64
        var storedMs: Int64
        /// Position in `order`, so a stale position left by a re-insertion is recognised.
        var serial: UInt64
    }

    let policy: Policy
    let key: SymmetricKey
    private(set) var entries: [Data: Entry] = [:]
    /// Keys in insertion order (oldest first) with their serials; `head` is the first live
    /// position. Positions whose entry was removed or replaced are skipped when reached.
    private var order: [(key: Data, serial: UInt64)] = []
    private var head = 0
    private var serial: UInt64 = 0

    init(policy: Policy, key: SymmetricKey = SymmetricKey(size: .bits256)) {
        self.policy = policy
        self.key = key
    }

    func tag(accountID: Int64, generation: Int64, password: String) -> Data {
        var message = Data("\(accountID):\(generation):".utf8)
        message.append(contentsOf: Array(password.utf8))
        return Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }

    /// Whether this password was verified for this account in this generation, recently.
    func contains(accountID: Int64, generation: Int64, password: String, nowMs: Int64) -> Bool {
        guard policy.maxEntries > 0, let entry = entries[tag(accountID: accountID, generation: generation, password: password)]
        else { return false }
        return entry.accountID == accountID && nowMs - entry.storedMs < policy.lifetimeMs
    }

    /// Records a successful check.
    mutating func insert(accountID: Int64, generation: Int64, password: String, nowMs: Int64) {
        guard policy.maxEntries > 0 else { return }
        let tag = tag(accountID: accountID, generation: generation, password: password)
        serial &+= 1
        entries[tag] = Entry(accountID: accountID, storedMs: nowMs, serial: serial)
        order.append((tag, serial))
        while entries.count > policy.maxEntries { dropOldest() }
        compact()
    }

    /// Drops every entry of an account (its password changed, it was disabled or removed).
    mutating func forget(accountID: Int64) {
        entries = entries.filter { $0.value.accountID != accountID }
        compact()
    }

    private mutating func dropOldest() {
        while head < order.count {
            let (tag, serial) = order[head]
            head += 1
            if entries[tag]?.serial == serial {
                entries[tag] = nil
                return
            }
        }
    }

    /// Keeps `order` from growing past twice the live entries.
    private mutating func compact() {
        guard order.count - head > 2 * max(entries.count, 16) || head > order.count / 2 else { return }
        order = order[head...].filter { entries[$0.key]?.serial == $0.serial }
        head = 0
    }
}
