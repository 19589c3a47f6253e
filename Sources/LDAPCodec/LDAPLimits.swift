/// Every bound the LDAP codec enforces, in one place (STYLE §7). The defaults suit a read-only
/// address book open to anonymous clients; the gateway overrides them from the configuration.
/// Each has a test at the limit and one past it.
public struct LDAPLimits: Sendable, Hashable {
    /// The most length octets after `0x8n` the framer reads: 4, as OpenLDAP and Active Directory
    /// clients send (`0x84`). A longer length is refused: no PDU a limit allows needs it.
    public static let maximumLengthOctets = 4
    /// Nested BER elements in one message, the envelope counting as 1. swift-asn1's parser
    /// stops at 50; this stays under it so that a deep message fails with `nestingTooDeep`, with
    /// its messageID, before the parser is called. It also bounds `filterDepth`: a filter sits
    /// two levels under the envelope and its deepest items two levels under themselves.
    public static let maximumNesting = 48

    /// One whole LDAPMessage, tag and length octets included. OpenLDAP's `sockbuf_max_incoming`
    /// for anonymous sessions is 262143 (slapd.conf(5)); this server is read-only, so no request
    /// needs more.
    public var pduSize: Int
    /// Octets the framer holds that it has not handed out as messages: the gateway drains the
    /// framer after every read, so at most one partial PDU and one read are held; reaching the
    /// limit means the client pipelines faster than the server answers.
    public var bufferedBytes: Int
    /// Nested filters: `(cn=a)` is 1, `(!(cn=a))` is 2, `(&(|(cn=a)))` is 3 (RFC 4511 §4.5.1.7).
    /// At most `maximumNesting - 6`: a filter's deepest elements sit four levels under its
    /// outermost one's parent, and one level more must still be in the nesting bound to fail
    /// with `filterTooDeep` rather than `nestingTooDeep`.
    public var filterDepth: Int
    /// Filters in one search filter, every `and`, `or` and `not` counting as one.
    public var filterComponents: Int
    /// Attribute selectors in one SearchRequest (RFC 4511 §4.5.1.8).
    public var searchAttributes: Int
    /// Octets of one attribute value or assertion value: in filters, in a CompareRequest's
    /// assertion, and in the values of Add, Modify and SearchResultEntry.
    public var valueLength: Int
    /// Controls attached to one message (RFC 4511 §4.1.11).
    public var controls: Int

    public init(
        pduSize: Int = 262_143,
        bufferedBytes: Int = 1024 * 1024,
        filterDepth: Int = 16,
        filterComponents: Int = 512,
        searchAttributes: Int = 256,
        valueLength: Int = 16 * 1024,
        controls: Int = 16
    ) {
        self.pduSize = pduSize
        self.bufferedBytes = bufferedBytes
        self.filterDepth = min(filterDepth, Self.maximumNesting - 6)
        self.filterComponents = filterComponents
        self.searchAttributes = searchAttributes
        self.valueLength = valueLength
        self.controls = controls
    }

    public static let `default` = LDAPLimits()
}
