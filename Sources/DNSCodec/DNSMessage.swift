/// A record type (RFC 1035 §3.2.2, RFC 3596 §2.1): a struct rather than an enum because a
/// response may carry any of 65536, and those this codec does not read are kept as opaque data.
public struct DNSRecordType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let a = DNSRecordType(rawValue: 1)
    public static let ns = DNSRecordType(rawValue: 2)
    public static let cname = DNSRecordType(rawValue: 5)
    public static let soa = DNSRecordType(rawValue: 6)
    public static let mx = DNSRecordType(rawValue: 15)
    public static let txt = DNSRecordType(rawValue: 16)
    public static let aaaa = DNSRecordType(rawValue: 28)
    /// RFC 6891 §6.1.1: the EDNS(0) pseudo-record, in the additional section.
    public static let opt = DNSRecordType(rawValue: 41)

    public var description: String {
        switch self {
        case .a: "A"
        case .ns: "NS"
        case .cname: "CNAME"
        case .soa: "SOA"
        case .mx: "MX"
        case .txt: "TXT"
        case .aaaa: "AAAA"
        case .opt: "OPT"
        default: "TYPE\(rawValue)"
        }
    }
}

/// A record class (RFC 1035 §3.2.4); mail needs only IN.
public struct DNSClass: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let `in` = DNSClass(rawValue: 1)
}

/// RCODE (RFC 1035 §4.1.1), the low four bits of the header's second 16-bit word.
public struct DNSResponseCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    public static let noError = DNSResponseCode(rawValue: 0)
    public static let formatError = DNSResponseCode(rawValue: 1)
    public static let serverFailure = DNSResponseCode(rawValue: 2)
    /// NXDOMAIN: the name asked for (after its CNAME chain) does not exist (RFC 2308 §2.1).
    public static let nameError = DNSResponseCode(rawValue: 3)
    public static let notImplemented = DNSResponseCode(rawValue: 4)
    public static let refused = DNSResponseCode(rawValue: 5)

    public var description: String {
        switch self {
        case .noError: "NOERROR"
        case .formatError: "FORMERR"
        case .serverFailure: "SERVFAIL"
        case .nameError: "NXDOMAIN"
        case .notImplemented: "NOTIMP"
        case .refused: "REFUSED"
        default: "RCODE\(rawValue)"
        }
    }
}

/// The header (RFC 1035 §4.1.1), without its four counts: those come from the sections.
///
///     0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
///     |                      ID                       |
///     |QR|   Opcode  |AA|TC|RD|RA|   Z    |   RCODE   |
///     |                    QDCOUNT / ANCOUNT / NSCOUNT / ARCOUNT
public struct DNSHeader: Hashable, Sendable {
    public var id: UInt16
    /// QR: a response, not a query.
    public var isResponse: Bool
    /// 0 is a standard query.
    public var opcode: UInt8
    /// AA
    public var isAuthoritative: Bool
    /// TC: the answer did not fit the datagram; ask again over TCP (RFC 1035 §4.2.1).
    public var isTruncated: Bool
    /// RD
    public var recursionDesired: Bool
    /// RA
    public var recursionAvailable: Bool
    public var responseCode: DNSResponseCode

    public init(
        id: UInt16, isResponse: Bool = false, opcode: UInt8 = 0, isAuthoritative: Bool = false, isTruncated: Bool = false,
        recursionDesired: Bool = true, recursionAvailable: Bool = false, responseCode: DNSResponseCode = .noError
    ) {
        self.id = id
        self.isResponse = isResponse
        self.opcode = opcode & 0x0F
        self.isAuthoritative = isAuthoritative
        self.isTruncated = isTruncated
        self.recursionDesired = recursionDesired
        self.recursionAvailable = recursionAvailable
        self.responseCode = responseCode
    }

    var flags: UInt16 {
        var flags = UInt16(opcode & 0x0F) << 11 | UInt16(responseCode.rawValue)
        if isResponse { flags |= 0x8000 }
        if isAuthoritative { flags |= 0x0400 }
        if isTruncated { flags |= 0x0200 }
        if recursionDesired { flags |= 0x0100 }
        if recursionAvailable { flags |= 0x0080 }
        return flags
    }

    init(id: UInt16, flags: UInt16) {
        self.init(
            id: id, isResponse: flags & 0x8000 != 0, opcode: UInt8(flags >> 11 & 0x0F), isAuthoritative: flags & 0x0400 != 0,
            isTruncated: flags & 0x0200 != 0, recursionDesired: flags & 0x0100 != 0, recursionAvailable: flags & 0x0080 != 0,
            responseCode: DNSResponseCode(rawValue: UInt8(flags & 0x000F)))
    }
}

/// A question (RFC 1035 §4.1.2).
public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: DNSClass

    public init(name: DNSName, type: DNSRecordType, recordClass: DNSClass = .in) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
    }
}

/// The SOA RDATA (RFC 1035 §3.3.13); a negative answer's authority section carries one, whose
/// MINIMUM bounds how long the answer may be cached (RFC 2308 §4, §5).
public struct DNSStartOfAuthority: Hashable, Sendable {
    public var primaryServer: DNSName
    public var mailbox: DNSName
    public var serial: UInt32
    public var refresh: UInt32
    public var retry: UInt32
    public var expire: UInt32
    public var minimum: UInt32

    public init(
        primaryServer: DNSName, mailbox: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32
    ) {
        self.primaryServer = primaryServer
        self.mailbox = mailbox
        self.serial = serial
        self.refresh = refresh
        self.retry = retry
        self.expire = expire
        self.minimum = minimum
    }
}

/// The RDATA of a record, read for the types the relay uses and kept as octets for the rest.
public enum DNSRecordData: Hashable, Sendable {
    /// RFC 1035 §3.4.1
    case a(IPv4Address)
    /// RFC 3596 §2.2
    case aaaa(IPv6Address)
    /// RFC 1035 §3.3.1
    case cname(DNSName)
    /// RFC 1035 §3.3.9: lower preferences are tried first.
    case mx(preference: UInt16, exchange: DNSName)
    /// RFC 1035 §3.3.13
    case soa(DNSStartOfAuthority)
    /// Any other type, as it came. Names inside it are not decompressed (RFC 3597 §4: new types
    /// must not use compression, so only the old ones could need it).
    case opaque([UInt8])
}

/// A resource record (RFC 1035 §4.1.3).
public struct DNSResourceRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: DNSRecordType
    public var recordClass: DNSClass
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: DNSName, type: DNSRecordType, recordClass: DNSClass = .in, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.type = type
        self.recordClass = recordClass
        self.ttl = ttl
        self.data = data
    }

    /// A record whose type follows from its data (an opaque record needs `init(name:type:...)`).
    public init(name: DNSName, ttl: UInt32, data: DNSRecordData) {
        let type: DNSRecordType =
            switch data {
            case .a: .a
            case .aaaa: .aaaa
            case .cname: .cname
            case .mx: .mx
            case .soa: .soa
            case .opaque: DNSRecordType(rawValue: 0)
            }
        self.init(name: name, type: type, ttl: ttl, data: data)
    }

    /// RFC 2181 §8: a TTL with the top bit set is to be read as zero.
    public var effectiveTTL: UInt32 { ttl & 0x8000_0000 != 0 ? 0 : ttl }
}

/// A whole message (RFC 1035 §4.1): header, questions, and the three sections of records.
public struct DNSMessage: Hashable, Sendable {
    public var header: DNSHeader
    public var questions: [DNSQuestion]
    public var answers: [DNSResourceRecord]
    public var authorities: [DNSResourceRecord]
    public var additionals: [DNSResourceRecord]

    public init(
        header: DNSHeader, questions: [DNSQuestion] = [], answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [],
        additionals: [DNSResourceRecord] = []
    ) {
        self.header = header
        self.questions = questions
        self.answers = answers
        self.authorities = authorities
        self.additionals = additionals
    }

    /// A standard query for one name and type in class IN, recursion desired (RFC 1035 §4.1.1,
    /// §7.1: a stub resolver asks its nameserver to recurse).
    public static func query(id: UInt16, name: DNSName, type: DNSRecordType) -> DNSMessage {
        DNSMessage(header: DNSHeader(id: id, recursionDesired: true), questions: [DNSQuestion(name: name, type: type)])
    }
}
