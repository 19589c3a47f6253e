public import NIOCore

/// Cuts the client's byte stream into whole LDAPMessages (RFC 4511 §5.2: PDUs "mapped directly
/// onto the TCP bytestream"), from the tag and length of each, before any is parsed (STYLE §2).
/// Bytes may arrive in any pieces, one at a time included. "Need more bytes" is `nil`.
///
/// Every message is a SEQUENCE (§4.1.1) with a definite length (§5.1), short form or long form
/// with up to `LDAPLimits.maximumLengthOctets` octets. A length is checked against
/// `LDAPLimits.pduSize` as soon as its octets are in, so a claimed 2^31 octets is refused from
/// six octets, never waited for. Any failure is final: the stream cannot be resynchronised, and
/// the server sends the Notice of Disconnection and closes (`LDAPCodecError.reply`).
public struct LDAPFramer: Sendable {
    public var limits: LDAPLimits
    private var buffer: [UInt8] = []
    /// Where the next message starts in `buffer`; the octets before it were handed out.
    private var start = 0
    private var failure: LDAPCodecError?

    public init(limits: LDAPLimits = .default) {
        self.limits = limits
    }

    /// Octets received and not yet handed out.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Octets read from the connection, in order. Throws `bufferLimitExceeded` (and keeps
    /// nothing more) when more than `LDAPLimits.bufferedBytes` would be waiting.
    public mutating func append(_ bytes: some Collection<UInt8>) throws(LDAPCodecError) {
        if let failure { throw failure }
        guard bufferedByteCount + bytes.count <= limits.bufferedBytes else {
            throw fail(LDAPCodecError(.bufferLimitExceeded, "\(bufferedByteCount + bytes.count) octets"))
        }
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The readable bytes of `bytes`, which are left as they are.
    public mutating func append(_ bytes: ByteBuffer) throws(LDAPCodecError) {
        try append(bytes.readableBytesView)
    }

    /// The next whole message, its tag, length and contents, if all its octets have arrived.
    public mutating func nextMessage() throws(LDAPCodecError) -> [UInt8]? {
        if let failure { throw failure }
        guard let header = try header() else { return nil }
        guard bufferedByteCount >= header.total else { return nil }
        let message = Array(buffer[start..<(start + header.total)])
        start += header.total
        return message
    }

    /// The size of the message at `start`, once its tag and length octets are in.
    ///
    ///     LDAPMessage ::= SEQUENCE { ... }          -- identifier octet 0x30
    ///     length: 0x00-0x7F short form; 0x81-0x84 then that many octets; 0x80 indefinite
    private mutating func header() throws(LDAPCodecError) -> (headerLength: Int, total: Int)? {
        guard bufferedByteCount >= 2 else {
            if bufferedByteCount == 1, buffer[start] != 0x30 { throw fail(LDAPCodecError(.notAMessage, "tag \(hex(buffer[start]))")) }
            return nil
        }
        guard buffer[start] == 0x30 else { throw fail(LDAPCodecError(.notAMessage, "tag \(hex(buffer[start]))")) }
        let first = buffer[start + 1]
        if first < 0x80 { return (2, 2 + Int(first)) }
        if first == 0x80 { throw fail(LDAPCodecError(.indefiniteLength)) }
        let octets = Int(first & 0x7F)
        guard octets <= LDAPLimits.maximumLengthOctets else { throw fail(LDAPCodecError(.lengthTooLong, "\(octets) length octets")) }
        guard bufferedByteCount >= 2 + octets else { return nil }
        var length = 0
        for index in 0..<octets { length = length << 8 | Int(buffer[start + 2 + index]) }
        let total = 2 + octets + length
        guard total <= limits.pduSize else { throw fail(LDAPCodecError(.pduTooLarge, "\(total) octets")) }
        return (2 + octets, total)
    }

    private mutating func fail(_ error: LDAPCodecError) -> LDAPCodecError {
        failure = error
        buffer = []
        start = 0
        return error
    }
}

func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return "0x" + String(digits[Int(byte >> 4)]) + String(digits[Int(byte & 0x0F)])
}
