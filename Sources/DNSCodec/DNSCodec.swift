/// DNSCodec: the DNS messages (RFC 1035 §4) the relay needs for its MX lookups (RFC 5321 §5.1):
/// queries for MX, A, AAAA and CNAME, and the answers to them, with name compression; the
/// outcome of one answer after its CNAME chain (`DNSAnswer`), the MX plan built from it
/// (`MXPlan`, RFC 5321 §5.1 and RFC 7505), and `/etc/resolv.conf` (`ResolvConf`). Pure: no I/O,
/// no clock, no imports; `Relay` sends and receives the bytes. Written here rather than calling
/// libresolv's `res_nquery` so that the nameserver address and port are plain settings (tests
/// point them at a DNS server on loopback), every limit is ours, and the parser can be fuzzed.
public enum DNSCodec {}

/// The bounds a parsed message must keep, in one place (STYLE §7). The protocol's own sizes are
/// constants; the counts that only bound work are settings, with defaults far above what a
/// recursive resolver sends for an MX, A or AAAA question.
public struct DNSLimits: Sendable, Hashable {
    /// RFC 1035 §4.2.2: a message over TCP carries a 16-bit length, so none is longer.
    public static let maximumMessageSize = 65_535
    /// RFC 1035 §2.3.4: labels are 63 octets or less.
    public static let maximumLabelLength = 63
    /// RFC 1035 §2.3.4: names are 255 octets or less, counted in wire form (each label with its
    /// length octet, and the root's zero octet).
    public static let maximumNameLength = 255
    /// RFC 1035 §4.1.1: the header is 12 octets.
    public static let headerLength = 12

    /// Questions a message may declare. A response repeats the one question asked.
    public var maximumQuestions: Int
    /// Resource records a message may declare, answer, authority and additional sections together.
    public var maximumRecords: Int
    /// Compression pointers followed while reading one name (RFC 1035 §4.1.4). Every pointer must
    /// point before the labels it follows, so a loop is impossible; this bounds the work anyway.
    public var maximumPointerHops: Int
    /// CNAME records followed from the name asked for (RFC 1034 §3.6.2), within one answer and
    /// across the queries a resolver makes for one name.
    public var maximumAliases: Int

    public init(maximumQuestions: Int = 4, maximumRecords: Int = 1_024, maximumPointerHops: Int = 32, maximumAliases: Int = 8) {
        self.maximumQuestions = maximumQuestions
        self.maximumRecords = maximumRecords
        self.maximumPointerHops = maximumPointerHops
        self.maximumAliases = maximumAliases
    }

    public static let `default` = DNSLimits()
}
