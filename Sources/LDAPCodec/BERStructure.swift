/// A first pass over one framed message, before swift-asn1 parses it: reads the messageID and
/// the protocolOp's tag for any error to carry, and checks the nesting of every element. BER
/// allows indefinite lengths and swift-asn1 accepts them; LDAP does not (RFC 4511 §5.1: "Only
/// the definite form of length encoding is used"), so they are refused here, at any depth. The
/// nesting bound keeps swift-asn1 below its own limit, so a deep message fails with a code and
/// its messageID rather than a generic parse error.
enum BERStructure {
    struct Envelope {
        var messageID: LDAPMessageID?
        var operation: LDAPOperation?
    }

    /// The envelope of `pdu`, a whole message as `LDAPFramer` hands it out, once every element
    /// in it is well nested within `LDAPLimits.maximumNesting`.
    static func check(_ pdu: [UInt8]) throws(LDAPCodecError) -> Envelope {
        guard pdu.first == 0x30 else { throw LDAPCodecError(.notAMessage) }
        let root = try element(pdu, at: 0, within: pdu.count)
        var envelope = Envelope()
        if let id = try? element(pdu, at: root.contentStart, within: root.end) {
            if pdu[root.contentStart] == 0x02 { envelope.messageID = messageID(pdu[id.contentStart..<id.end]) }
            if id.end < root.end, pdu[id.end] & 0xC0 == 0x40 {
                envelope.operation = LDAPOperation(rawValue: pdu[id.end] & 0x1F)
            }
        }
        do throws(LDAPCodecError) {
            guard root.end == pdu.count else { throw LDAPCodecError(.malformed, "octets after the message") }
            try walk(pdu, from: root.contentStart, to: root.end, depth: 2)
        } catch {
            throw error.located(messageID: envelope.messageID, operation: envelope.operation)
        }
        return envelope
    }

    /// MessageID ::= INTEGER (0 .. maxInt), from its contents octets; nil when out of range.
    private static func messageID(_ contents: ArraySlice<UInt8>) -> LDAPMessageID? {
        guard let first = contents.first, first & 0x80 == 0, contents.count <= 5 else { return nil }
        var value: Int64 = 0
        for octet in contents { value = value << 8 | Int64(octet) }
        return LDAPMessageID(exactly: value)
    }

    private static func walk(_ pdu: [UInt8], from start: Int, to end: Int, depth: Int) throws(LDAPCodecError) {
        guard depth <= LDAPLimits.maximumNesting else { throw LDAPCodecError(.nestingTooDeep, "over \(LDAPLimits.maximumNesting) levels") }
        var position = start
        while position < end {
            let element = try element(pdu, at: position, within: end)
            if element.constructed { try walk(pdu, from: element.contentStart, to: element.end, depth: depth + 1) }
            position = element.end
        }
    }

    /// One element's identifier and length octets (X.690 §8.1.2, §8.1.3), at `position`, which
    /// must end by `limit`.
    private static func element(
        _ pdu: [UInt8], at position: Int, within limit: Int
    ) throws(LDAPCodecError) -> (constructed: Bool, contentStart: Int, end: Int) {
        var index = position
        guard index < limit else { throw LDAPCodecError(.malformed, "element truncated") }
        let identifier = pdu[index]
        index += 1
        if identifier & 0x1F == 0x1F {
            // High tag number form: base-128 octets, the last without bit 8. LDAP defines none;
            // four octets are more than any tag swift-asn1 would accept as a number anyway.
            var octets = 0
            while true {
                guard index < limit, octets < 4 else { throw LDAPCodecError(.malformed, "tag number too long") }
                octets += 1
                index += 1
                if pdu[index - 1] & 0x80 == 0 { break }
            }
        }
        guard index < limit else { throw LDAPCodecError(.malformed, "element truncated") }
        let first = pdu[index]
        index += 1
        var length = Int(first)
        if first == 0x80 {
            throw LDAPCodecError(.indefiniteLength, "at offset \(position)")
        } else if first > 0x80 {
            let octets = Int(first & 0x7F)
            guard octets <= LDAPLimits.maximumLengthOctets else { throw LDAPCodecError(.lengthTooLong, "at offset \(position)") }
            guard index + octets <= limit else { throw LDAPCodecError(.malformed, "element truncated") }
            length = 0
            for _ in 0..<octets {
                length = length << 8 | Int(pdu[index])
                index += 1
            }
        }
        guard length <= limit - index else { throw LDAPCodecError(.malformed, "element at offset \(position) overruns its parent") }
        return (identifier & 0x20 != 0, index, index + length)
    }
}
