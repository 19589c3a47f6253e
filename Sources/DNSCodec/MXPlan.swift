/// One mail exchanger to try: its host name (kept for TLS server name indication) and the
/// preference it was published with.
public struct MXExchange: Hashable, Sendable {
    public var host: DNSName
    public var preference: UInt16

    public init(host: DNSName, preference: UInt16) {
        self.host = host
        self.preference = preference
    }
}

/// Where mail for a domain goes, from the answer to its MX query (RFC 5321 §5.1, RFC 7505):
/// the decision only; resolving each exchange's addresses is the resolver's next step.
public enum MXPlan: Hashable, Sendable {
    /// The exchanges in the order to try them: by preference, lowest first, those of equal
    /// preference in random order (RFC 5321 §5.1: "MUST randomize them to spread the load").
    case exchanges([MXExchange])
    /// The domain accepts no mail (RFC 7505 §3): fail at once, 556 5.1.10 (§4.1).
    case nullMX
    /// No MX records (NODATA): deliver to the domain's own addresses, "an implicit MX RR, with a
    /// preference of 0, pointing to that host" (RFC 5321 §5.1). The name is the canonical one
    /// when the domain was an alias ("the resulting name is processed as if it were the initial
    /// name").
    case implicitMX(DNSName)
    /// NXDOMAIN: "this situation MUST be reported as an error" (RFC 5321 §5.1).
    case noSuchDomain
    /// The answer's CNAME chain stops at this name without an answer: ask for its MX next.
    case alias(DNSName)
    /// "The message MUST be queued and retried later" (RFC 5321 §5.1).
    case temporaryFailure(DNSLookupFailure)

    /// The plan from the answer to an MX question; `generator` orders equal preferences.
    ///
    /// RFC 7505 §3 allows a null MX only as the domain's single MX record ("MUST NOT advertise
    /// any other MX RR") and says nothing of a client that meets one among others. "." is no host
    /// (§3: it "cannot be confused with an ordinary MX record"), so an exchange "." beside real
    /// exchanges is dropped and the real ones are used: the domain plainly has mail servers.
    /// Only when every MX record is "." is the answer a null MX; the preference is not checked
    /// (§3 writes 0, but with no host to try the outcome is the same).
    public init(answer: DNSAnswer, using generator: inout some RandomNumberGenerator) {
        switch answer {
        case .failure(let failure): self = .temporaryFailure(failure)
        case .noSuchName: self = .noSuchDomain
        case .noData(let canonicalName, _): self = .implicitMX(canonicalName)
        case .alias(let name, _, _): self = .alias(name)
        case .records(let data, _, _):
            var best: [DNSName: UInt16] = [:]
            var sawNull = false
            for case .mx(let preference, let exchange) in data {
                if exchange.isRoot {
                    sawNull = true
                } else if let known = best[exchange], known <= preference {
                    continue
                } else {
                    best[exchange] = preference
                }
            }
            guard !best.isEmpty else {
                self = sawNull ? .nullMX : .implicitMX(Self.canonicalName(of: answer))
                return
            }
            // Dictionary order is random per process, so sort on a total order before shuffling
            // with the injected generator: the same generator gives the same plan.
            let sorted = best.map { MXExchange(host: $0.key, preference: $0.value) }
                .sorted { ($0.preference, $0.host.lowercased.description) < ($1.preference, $1.host.lowercased.description) }
            var ordered: [MXExchange] = []
            var index = sorted.startIndex
            while index < sorted.endIndex {
                let preference = sorted[index].preference
                let end = sorted[index...].firstIndex { $0.preference != preference } ?? sorted.endIndex
                ordered += sorted[index..<end].shuffled(using: &generator)
                index = end
            }
            self = .exchanges(ordered)
        }
    }

    private static func canonicalName(of answer: DNSAnswer) -> DNSName {
        if case .records(_, let name, _) = answer { return name }
        return .root
    }
}
