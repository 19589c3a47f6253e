/// A domain name as a sequence of labels (RFC 1035 §3.1), the root being none. Names compare and
/// hash without regard to ASCII case (RFC 1035 §2.3.3, RFC 4343 §3): the owner name of an
/// answer may differ in case from the question. Labels read from the wire may hold any octet
/// (RFC 2181 §11); names made from text are printable ASCII, so an internationalised name must
/// be passed as its A-labels.
public struct DNSName: Hashable, Sendable, CustomStringConvertible {
    /// The labels, most specific first, without length octets.
    public let labels: [[UInt8]]

    /// The root, `.`: the exchange of a null MX (RFC 7505 §3).
    public static let root = DNSName(validatedLabels: [])

    init(validatedLabels labels: [[UInt8]]) { self.labels = labels }

    /// The labels as given, each at most 63 octets, none empty, 255 octets in all in wire form.
    public init(labels: [[UInt8]]) throws(DNSCodecError) {
        var length = 1
        for label in labels {
            guard !label.isEmpty else { throw DNSCodecError(.emptyLabel) }
            guard label.count <= DNSLimits.maximumLabelLength else { throw DNSCodecError(.labelTooLong) }
            length += 1 + label.count
        }
        guard length <= DNSLimits.maximumNameLength else { throw DNSCodecError(.nameTooLong) }
        self.labels = labels
    }

    /// A name written as text: labels separated by dots, one trailing dot allowed, `.` alone for
    /// the root. Only printable ASCII other than space and backslash (there are no escapes: a host
    /// name needs none).
    public init(_ text: some StringProtocol) throws(DNSCodecError) {
        var bytes = Array(text.utf8)
        if bytes == [UInt8(ascii: ".")] {
            self = .root
            return
        }
        if bytes.last == UInt8(ascii: ".") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw DNSCodecError(.emptyLabel) }
        var labels: [[UInt8]] = []
        var label: [UInt8] = []
        for byte in bytes {
            if byte == UInt8(ascii: ".") {
                labels.append(label)
                label = []
            } else if byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") {
                label.append(byte)
            } else {
                throw DNSCodecError(.invalidCharacter)
            }
        }
        labels.append(label)
        try self.init(labels: labels)
    }

    public var isRoot: Bool { labels.isEmpty }

    /// The length in wire form, uncompressed: each label with its length octet, then the root's.
    public var wireLength: Int { labels.reduce(1) { $0 + 1 + $1.count } }

    /// The name without a trailing dot (`.` for the root), as a host name for connecting and for
    /// TLS server name indication. Octets outside printable ASCII, and `.` or `\` inside a label,
    /// are written `\DDD` as in master files (RFC 1035 §5.1), so a strange name cannot pass for
    /// another.
    public var description: String {
        if labels.isEmpty { return "." }
        var text = ""
        for (index, label) in labels.enumerated() {
            if index > 0 { text += "." }
            for byte in label {
                if byte > 0x20, byte < 0x7F, byte != UInt8(ascii: "."), byte != UInt8(ascii: "\\") {
                    text.unicodeScalars.append(Unicode.Scalar(byte))
                } else {
                    let digits = String(byte)
                    text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
                }
            }
        }
        return text
    }

    /// The name with ASCII letters in lower case: the form compared, hashed and cached.
    public var lowercased: DNSName {
        DNSName(validatedLabels: labels.map { $0.map(Self.lowercase) })
    }

    static func lowercase(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 0x20 : byte
    }

    public static func == (lhs: DNSName, rhs: DNSName) -> Bool {
        guard lhs.labels.count == rhs.labels.count else { return false }
        for (left, right) in zip(lhs.labels, rhs.labels) {
            guard left.count == right.count else { return false }
            for (a, b) in zip(left, right) where lowercase(a) != lowercase(b) { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(labels.count)
        for label in labels {
            hasher.combine(label.count)
            for byte in label { hasher.combine(Self.lowercase(byte)) }
        }
    }
}
