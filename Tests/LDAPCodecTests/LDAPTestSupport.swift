import LDAPCodec

/// Octets from hex, spaces and line breaks ignored: `hex("30 05 02 01 03 42 00")`.
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace }.map { Character($0) }
    precondition(digits.count % 2 == 0, "odd number of hex digits")
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

/// Hex for failure messages.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
}

/// A TLV with a definite length in the shortest form, for building messages by hand.
func tlv(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
    [tag] + lengthOctets(contents.count) + contents
}

func lengthOctets(_ length: Int) -> [UInt8] {
    if length < 0x80 { return [UInt8(length)] }
    var octets: [UInt8] = []
    var rest = length
    while rest > 0 {
        octets.insert(UInt8(rest & 0xFF), at: 0)
        rest >>= 8
    }
    return [0x80 | UInt8(octets.count)] + octets
}

/// An LDAPMessage around an operation's encoding, built by hand.
func envelope(_ messageID: UInt8, _ operation: [UInt8], controls: [UInt8]? = nil) -> [UInt8] {
    tlv(0x30, tlv(0x02, [messageID]) + operation + (controls.map { tlv(0xA0, $0) } ?? []))
}

/// Feeds `bytes` to a framer in pieces of `step` octets and collects every message it hands out.
func frame(_ bytes: [UInt8], step: Int, limits: LDAPLimits = .default) throws(LDAPCodecError) -> [[UInt8]] {
    var framer = LDAPFramer(limits: limits)
    var messages: [[UInt8]] = []
    var index = 0
    while index < bytes.count {
        try framer.append(bytes[index..<min(index + step, bytes.count)])
        index += step
        while let message = try framer.nextMessage() { messages.append(message) }
    }
    return messages
}

/// Decodes the message, or returns the error's code.
func decodeError(_ bytes: [UInt8], limits: LDAPLimits = .default) -> LDAPCodecError? {
    do {
        _ = try LDAPMessage(decoding: bytes, limits: limits)
        return nil
    } catch {
        return error
    }
}
