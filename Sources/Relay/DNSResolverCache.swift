import DNSCodec

/// Responses by question until their TTL runs out (RFC 1035 §7.4), denials too (RFC 2308 §5),
/// bounded in entries and in lifetime. The whole response is kept, not its reading, so a cached
/// step of a CNAME chain is read with the chain followed so far. Time comes from the caller's
/// clock, so tests move it instead of sleeping (STYLE §11).
struct DNSResolverCache {
    private struct Entry {
        var response: DNSMessage
        var expires: ContinuousClock.Instant
    }

    let capacity: Int
    let maximumTTL: Duration
    private var entries: [DNSQuestion: Entry] = [:]

    init(capacity: Int, maximumTTL: Duration) {
        self.capacity = max(capacity, 0)
        self.maximumTTL = maximumTTL
    }

    var count: Int { entries.count }

    /// The response to `question` if it has not expired; an expired one is dropped.
    mutating func response(to question: DNSQuestion, now: ContinuousClock.Instant) -> DNSMessage? {
        guard let entry = entries[question] else { return nil }
        guard entry.expires > now else {
            entries[question] = nil
            return nil
        }
        return entry.response
    }

    /// Keeps `response` for as long as `answer` (its reading, alone) allows: records and aliases
    /// for their least TTL, denials for the SOA's negative TTL, and never a failure or a denial
    /// without an SOA (RFC 2308 §5: "SHOULD NOT be cached"). A TTL of 0 is not kept.
    mutating func store(_ response: DNSMessage, for question: DNSQuestion, answer: DNSAnswer, now: ContinuousClock.Instant) {
        let ttl: UInt32
        switch answer {
        case .records(_, _, let recordTTL), .alias(_, _, let recordTTL): ttl = recordTTL
        case .noData(_, let negativeTTL?), .noSuchName(_, let negativeTTL?): ttl = negativeTTL
        case .noData, .noSuchName, .failure: return
        }
        guard ttl > 0, capacity > 0 else { return }
        if entries[question] == nil, entries.count >= capacity { evict(now: now) }
        entries[question] = Entry(response: response, expires: now + min(.seconds(Int64(ttl)), maximumTTL))
    }

    /// Drops what has expired; if that frees nothing, the entry expiring soonest.
    private mutating func evict(now: ContinuousClock.Instant) {
        entries = entries.filter { $0.value.expires > now }
        guard entries.count >= capacity, let soonest = entries.min(by: { $0.value.expires < $1.value.expires }) else { return }
        entries[soonest.key] = nil
    }
}
