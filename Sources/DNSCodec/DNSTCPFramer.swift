/// DNS over TCP (RFC 1035 §4.2.2): each message is preceded by its length as two octets, so a
/// stream is framed before it is parsed (STYLE §2). "Need more bytes" is `nil`, not an error.
public struct DNSTCPFramer: Sendable {
    private var buffer: [UInt8] = []
    private var start = 0

    public init() {}

    /// The message with its two-octet length prepended. The caller's message came from
    /// `DNSMessage.encoded()`, which keeps within 65535 octets.
    public static func frame(_ message: [UInt8]) -> [UInt8] {
        let length = UInt16(clamping: message.count)
        return [UInt8(length >> 8), UInt8(truncatingIfNeeded: length)] + message.prefix(Int(length))
    }

    /// Octets read from the connection, in order.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        if start > 0, start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next whole message, if its length and all its octets have arrived. A length under
    /// the 12-octet header cannot be a message: that is `DNSCodecError.truncated`.
    public mutating func nextMessage() throws(DNSCodecError) -> [UInt8]? {
        guard buffer.count - start >= 2 else { return nil }
        let length = Int(buffer[start]) << 8 | Int(buffer[start + 1])
        guard length >= DNSLimits.headerLength else { throw DNSCodecError(.truncated) }
        guard buffer.count - start - 2 >= length else { return nil }
        let message = Array(buffer[(start + 2)..<(start + 2 + length)])
        start += 2 + length
        return message
    }
}
