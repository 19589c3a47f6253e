/// One address in an IMAP envelope (RFC 3501 §7.4.2): name, source route, mailbox and host.
///
/// Groups (RFC 5322 §3.4) are flattened the IMAP way: a start marker whose `mailbox` is the group
/// name and whose `host` is nil, the members, and an end marker whose `mailbox` and `host` are both
/// nil. A mailbox written without a domain has `host` "" so it is never mistaken for a marker.
public struct EnvelopeAddress: Sendable, Equatable, Hashable, Codable {
    /// The display name (or, failing one, a trailing comment) with quoting removed and encoded
    /// words kept.
    public var name: String?
    /// The obsolete source route, "@a.example,@b.example".
    public var adl: String?
    public var mailbox: String?
    public var host: String?

    public init(name: String? = nil, adl: String? = nil, mailbox: String?, host: String?) {
        self.name = name
        self.adl = adl
        self.mailbox = mailbox
        self.host = host
    }

    public var isGroupStart: Bool { host == nil && mailbox != nil }
    public var isGroupEnd: Bool { host == nil && mailbox == nil }

    /// The display name with RFC 2047 encoded words decoded, for display.
    public var decodedName: String? { name.map(EncodedWord.decode) }

    /// "mailbox@host" for an ordinary address; nil for group markers.
    public var address: String? {
        guard let mailbox, let host else { return nil }
        return host.isEmpty ? mailbox : mailbox + "@" + host
    }
}
