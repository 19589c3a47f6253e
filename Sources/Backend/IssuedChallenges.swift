import Foundation

/// The APOP timestamps and CRAM-MD5 challenges this back-end has handed out (DESIGN §2), each
/// good for one login within `lifetimeMs`. A digest is only as fresh as its challenge: were the
/// caller to name the challenge, anything that can reach `gateway.sock` could replay a digest it
/// once captured. So a response is accepted only to a challenge issued here and unexpired, and
/// each attempt takes the challenge out while it is checked, so two attempts can never both
/// use it. A success uses it up. A failure puts it back, because a POP3 client may send APOP
/// again on the same connection, whose greeting it cannot change (RFC 1939 §7) — but only
/// `maxAttempts` times in all, so one challenge cannot carry a run of guesses (each of which
/// also counts toward the login throttle). At most `maxOutstanding` are remembered; beyond
/// that the oldest are dropped (their clients must reconnect). A value type behind the
/// back-end's lock, driven by the caller's clock.
struct IssuedChallenges: Sendable {
    struct Policy: Sendable {
        /// RFC 1939 §3: the POP3 autologout timer is at least ten minutes, so a greeting's
        /// timestamp must stay good that long.
        var lifetimeMs: Int64 = 10 * 60 * 1000
        var maxOutstanding = 100_000
        /// Attempts one challenge allows, failed ones included.
        var maxAttempts = 3
    }

    struct Issued: Sendable {
        var atMs: Int64
        var attempts = 0
    }

    let policy: Policy
    let processID: Int32
    private(set) var issued: [String: Issued] = [:]
    /// Challenges in issuing order, oldest first from `head`; used ones are skipped when reached.
    private var order: [String] = []
    private var head = 0
    private var counter: UInt64 = 0

    init(policy: Policy, processID: Int32 = ProcessInfo.processInfo.processIdentifier) {
        self.policy = policy
        self.processID = processID
    }

    /// A host name as it may appear after the `@`: letters, digits, `-`, `.` (and `_`, which some
    /// machines' names have), as in RFC 1939 §7's `<process-ID.clock@hostname>` and RFC 2195 §2's
    /// msg-id form: nothing that could end the `<…>` or the line.
    static func isValidHostname(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
                    true
                default: false
                }
            }
    }

    /// `<pid.clock.counter.random@hostname>`: RFC 1939 §7 asks for "process-ID.clock@hostname";
    /// the counter makes it unique within this process, 64 random bits across restarts.
    mutating func issue(hostname: String, nowMs: Int64) -> String {
        expire(nowMs: nowMs)
        while issued.count >= policy.maxOutstanding, head < order.count {
            issued[order[head]] = nil
            head += 1
        }
        counter &+= 1
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let challenge = "<\(processID).\(nowMs / 1000).\(counter).\(random)@\(hostname)>"
        issued[challenge] = Issued(atMs: nowMs)
        order.append(challenge)
        compact()
        return challenge
    }

    /// Takes the challenge out for one attempt: nil unless it was issued here, has not expired
    /// and has attempts left. Give it back with `failed` if the attempt fails.
    mutating func take(_ challenge: String, nowMs: Int64) -> Issued? {
        guard let entry = issued.removeValue(forKey: challenge), nowMs - entry.atMs < policy.lifetimeMs else { return nil }
        return entry
    }

    /// Puts a challenge back after a failed attempt, while it has attempts left.
    mutating func failed(_ challenge: String, _ entry: Issued) {
        var entry = entry
        entry.attempts += 1
        guard entry.attempts < policy.maxAttempts, issued.count < policy.maxOutstanding else { return }
        issued[challenge] = entry
        order.append(challenge)
    }

    private mutating func expire(nowMs: Int64) {
        while head < order.count {
            let oldest = order[head]
            if let entry = issued[oldest], nowMs - entry.atMs < policy.lifetimeMs { return }
            issued[oldest] = nil
            head += 1
        }
    }

    private mutating func compact() {
        guard head > 1024, head > order.count / 2 else { return }
        order.removeFirst(head)
        head = 0
    }
}
