/// Why a lookup gave no answer that can be trusted either way: every case is temporary, so the
/// relay queues the message and retries (RFC 5321 §5.1, §4.5.4.1). A struct around a private
/// code enum (STYLE §9); tests compare `code`.
public struct DNSLookupFailure: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case serverFailure
            case refused
            case responseCode
            case timeout
            case truncated
            case malformedResponse
            case aliasLoop
            case tooManyAliases
            case network
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// SERVFAIL (RFC 1035 §4.1.1).
        public static let serverFailure = Code(.serverFailure)
        /// REFUSED.
        public static let refused = Code(.refused)
        /// Another RCODE than NOERROR, NXDOMAIN, SERVFAIL or REFUSED (FORMERR, NOTIMP, ...).
        public static let responseCode = Code(.responseCode)
        /// No matching answer within the timeout, after every try.
        public static let timeout = Code(.timeout)
        /// TC was set and the answer could not be had over TCP (RFC 1035 §4.2.1).
        public static let truncated = Code(.truncated)
        /// The answer did not parse, or broke the rules for an answer (a response to another
        /// question over TCP, for one).
        public static let malformedResponse = Code(.malformedResponse)
        /// A CNAME chain that comes back to a name already in it.
        public static let aliasLoop = Code(.aliasLoop)
        /// A CNAME chain longer than `DNSLimits.maximumAliases`.
        public static let tooManyAliases = Code(.tooManyAliases)
        /// The query could not be sent or the connection failed.
        public static let network = Code(.network)

        public var description: String {
            switch base {
            case .serverFailure: "SERVFAIL"
            case .refused: "REFUSED"
            case .responseCode: "unexpected response code"
            case .timeout: "timed out"
            case .truncated: "truncated answer"
            case .malformedResponse: "malformed response"
            case .aliasLoop: "CNAME loop"
            case .tooManyAliases: "CNAME chain too long"
            case .network: "network error"
            }
        }
    }

    public let code: Code
    /// What the log should say beyond the code: the RCODE, the name, the socket error.
    public let detail: String

    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? code.description : "\(code): \(detail)" }
}

/// What one response says about one question, after the CNAME chain it holds (RFC 1034 §3.6.2:
/// a resolver restarts the query at the alias's target). TTLs are the least of the records used,
/// the chain's CNAMEs included, so a cached answer expires with the first of them.
public enum DNSAnswer: Hashable, Sendable {
    /// The records of the type asked for at the end of the chain, in the order they came.
    case records([DNSRecordData], canonicalName: DNSName, ttl: UInt32)
    /// The chain ends at a name the response neither answers for nor denies: ask for it next,
    /// with `via` (the names the chain passed, the question's first) added to the names followed.
    case alias(DNSName, via: [DNSName], ttl: UInt32)
    /// NOERROR without records of the type (NODATA, RFC 2308 §2.2). `negativeTTL` is from the
    /// SOA in the authority section (§5); without one the answer must not be cached.
    case noData(canonicalName: DNSName, negativeTTL: UInt32?)
    /// NXDOMAIN for the name at the end of the chain (RFC 2308 §2.1).
    case noSuchName(canonicalName: DNSName, negativeTTL: UInt32?)
    case failure(DNSLookupFailure)

    /// Reads `response` as the answer to `question`, following CNAME records in the answer
    /// section from the question's name, at most `maximumAliases` (counting those already
    /// followed in earlier queries, `aliasesFollowed`). Records for other names or classes are
    /// ignored. The caller has matched the response's id and question to its query.
    public init(
        question: DNSQuestion, response: DNSMessage, aliasesFollowed: [DNSName] = [], maximumAliases: Int = DNSLimits.default.maximumAliases
    ) {
        switch response.header.responseCode {
        case .noError, .nameError: break
        case .serverFailure:
            self = .failure(DNSLookupFailure(.serverFailure, "\(question.name) \(question.type)"))
            return
        case .refused:
            self = .failure(DNSLookupFailure(.refused, "\(question.name) \(question.type)"))
            return
        default:
            self = .failure(DNSLookupFailure(.responseCode, "\(response.header.responseCode) for \(question.name) \(question.type)"))
            return
        }
        var name = question.name
        guard !aliasesFollowed.contains(name) else {
            self = .failure(DNSLookupFailure(.aliasLoop, "\(name) reached twice"))
            return
        }
        var seen = Set(aliasesFollowed + [name])
        var via: [DNSName] = []
        var aliases = aliasesFollowed.count
        var ttl = UInt32.max
        let relevant = response.answers.filter { $0.recordClass == question.recordClass }
        while true {
            let owned = relevant.filter { $0.name == name }
            let records = owned.filter { $0.type == question.type }
            if !records.isEmpty {
                for record in records { ttl = min(ttl, record.effectiveTTL) }
                self = .records(records.map(\.data), canonicalName: name, ttl: ttl)
                return
            }
            guard let alias = owned.first(where: { $0.type == .cname }), case .cname(let target) = alias.data else { break }
            ttl = min(ttl, alias.effectiveTTL)
            aliases += 1
            guard aliases <= maximumAliases else {
                self = .failure(DNSLookupFailure(.tooManyAliases, "\(question.name)"))
                return
            }
            guard seen.insert(target).inserted else {
                self = .failure(DNSLookupFailure(.aliasLoop, "\(question.name) reaches \(target) twice"))
                return
            }
            via.append(name)
            name = target
        }
        // RFC 2308 §5: the negative TTL is the lesser of the SOA record's TTL and its MINIMUM.
        let negativeTTL = response.authorities.lazy.compactMap { record -> UInt32? in
            guard case .soa(let soa) = record.data else { return nil }
            return min(record.effectiveTTL, soa.minimum, ttl)
        }.first
        if response.header.responseCode == .nameError {
            self = .noSuchName(canonicalName: name, negativeTTL: negativeTTL)
        } else if name != question.name, negativeTTL == nil {
            // A chain that stops without an SOA: a forwarder that did not follow it.
            self = .alias(name, via: via, ttl: ttl)
        } else {
            self = .noData(canonicalName: name, negativeTTL: negativeTTL)
        }
    }
}
