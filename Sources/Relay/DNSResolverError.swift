/// Why `DNSResolver.addresses(of:)` found no address. Permanent codes mean the host cannot be
/// used (RFC 5321 §5.1: an exchange "MUST return at least one address record"); a temporary
/// one means try later. A struct around a private code enum (STYLE §9).
public struct DNSResolverError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: Hashable, Sendable {
            case noSuchDomain
            case noAddresses
            case invalidName
            case temporaryFailure
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// NXDOMAIN for the host (after its CNAME chain).
        public static let noSuchDomain = Code(.noSuchDomain)
        /// The host exists but has neither A nor AAAA records.
        public static let noAddresses = Code(.noAddresses)
        /// Not a domain name (a label over 63 octets, non-ASCII, ...): it cannot exist.
        public static let invalidName = Code(.invalidName)
        /// SERVFAIL, REFUSED, a timeout, a CNAME loop: `detail` says which.
        public static let temporaryFailure = Code(.temporaryFailure)

        public var description: String {
            switch base {
            case .noSuchDomain: "no such domain"
            case .noAddresses: "no address records"
            case .invalidName: "invalid domain name"
            case .temporaryFailure: "temporary DNS failure"
            }
        }
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String = "") {
        self.code = code
        self.detail = detail
    }

    public var isTemporary: Bool { code == .temporaryFailure }

    public var description: String { detail.isEmpty ? code.description : "\(code): \(detail)" }
}
