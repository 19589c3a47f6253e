/// Strict base64 (RFC 4648 §4, with padding), as SASL exchanges use it on the SMTP, POP3 and
/// IMAP wires (RFC 4954 §4, RFC 5034 §4). Here so the codecs need no Foundation.
public enum Base64 {
    private static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let value = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(value >> 18 & 0x3F)])
            output.append(alphabet[Int(value >> 12 & 0x3F)])
            output.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(value >> 6 & 0x3F)])
            output.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(value & 0x3F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes canonical padded base64; returns nil for any other input (whitespace, bad length,
    /// misplaced padding, non-zero trailing bits).
    public static func decode<Bytes: Collection>(_ bytes: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        let input = Array(bytes)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let quad = input[index..<index + 4]
            let padding = quad.reversed().prefix { $0 == UInt8(ascii: "=") }.count
            guard padding <= 2, padding == 0 || isLast else { return nil }
            var value: UInt32 = 0
            for (offset, byte) in quad.enumerated() {
                let sextet: UInt8
                if offset >= 4 - padding {
                    sextet = 0
                } else {
                    sextet = decodeTable[Int(byte)]
                    guard sextet != 0xFF else { return nil }
                }
                value = value << 6 | UInt32(sextet)
            }
            // Non-canonical encodings (stray bits under the padding) are rejected.
            if padding == 1, value & 0xFF != 0 { return nil }
            if padding == 2, value & 0xFFFF != 0 { return nil }
            output.append(UInt8(value >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(value >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(value & 0xFF)) }
            index += 4
        }
        return output
    }
}
