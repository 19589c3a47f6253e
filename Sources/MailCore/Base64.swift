/// Strict base64 (RFC 4648 §4, with padding), as SASL exchanges use it on the SMTP, POP3 and
/// IMAP wires (RFC 4954 §4, RFC 5034 §4) and the RPC uses it for message bytes. Here so the
/// codecs need no Foundation, and written over raw buffers because the RPC moves every message
/// through it: Foundation's encoder builds a String first, which cost more than the rest of a
/// `message.read` together.
public enum Base64 {
    private static let alphabet: [UInt8] = Array(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// 0xFF for bytes outside the alphabet ("=" included).
    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// The length of the encoding of `count` bytes.
    public static func encodedCount(_ count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Encodes `input` into the start of `output`, which holds at least
    /// `encodedCount(input.count)` bytes; returns the number of bytes written.
    @discardableResult
    public static func encode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int {
        let count = encodedCount(input.count)
        precondition(output.count >= count, "base64 output buffer too small")
        alphabet.withUnsafeBufferPointer { table in
            var i = 0
            var o = 0
            let whole = input.count - input.count % 3
            while i < whole {
                let value = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
                output[o] = table[Int(value >> 18 & 0x3F)]
                output[o + 1] = table[Int(value >> 12 & 0x3F)]
                output[o + 2] = table[Int(value >> 6 & 0x3F)]
                output[o + 3] = table[Int(value & 0x3F)]
                i += 3
                o += 4
            }
            let rest = input.count - whole
            if rest > 0 {
                let second = rest == 2 ? UInt32(input[i + 1]) : 0
                let value = UInt32(input[i]) << 16 | second << 8
                output[o] = table[Int(value >> 18 & 0x3F)]
                output[o + 1] = table[Int(value >> 12 & 0x3F)]
                output[o + 2] = rest == 2 ? table[Int(value >> 6 & 0x3F)] : UInt8(ascii: "=")
                output[o + 3] = UInt8(ascii: "=")
            }
        }
        return count
    }

    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        let count = encodedCount(input.count)
        return input.withUnsafeBytes { raw in
            String(unsafeUninitializedCapacity: count) { output in encode(raw, into: UnsafeMutableRawBufferPointer(output)) }
        }
    }

    /// Decodes canonical padded base64; returns nil for any other input (whitespace, bad length,
    /// misplaced padding, non-zero trailing bits).
    public static func decode<Bytes: Collection>(_ bytes: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        if let result = bytes.withContiguousStorageIfAvailable({ decode(UnsafeRawBufferPointer($0)) }) { return result }
        return Array(bytes).withUnsafeBytes { decode($0) }
    }

    /// As `decode`, but skips the line breaks and spaces of wrapped base64 (RFC 2045 §6.8
    /// output, or a script's `base64` command).
    public static func decodeIgnoringWhitespace<Bytes: Collection>(_ bytes: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        if let strict = decode(bytes) { return strict }
        let isSpace = { (b: UInt8) in b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        return decode(bytes.filter { !isSpace($0) })
    }

    public static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let n = input.count
        guard n % 4 == 0 else { return nil }
        guard n > 0 else { return [] }
        let equals = UInt8(ascii: "=")
        let padding = input[n - 1] == equals ? (input[n - 2] == equals ? 2 : 1) : 0
        let length = n / 4 * 3 - padding
        return decodeTable.withUnsafeBufferPointer { table -> [UInt8]? in
            var failed = false
            let result = [UInt8](unsafeUninitializedCapacity: length) { output, initialized in
                var i = 0
                var o = 0
                // Every quad but the last has no padding.
                while i < n - 4 {
                    let a = table[Int(input[i])]
                    let b = table[Int(input[i + 1])]
                    let c = table[Int(input[i + 2])]
                    let d = table[Int(input[i + 3])]
                    if (a | b | c | d) & 0x80 != 0 {
                        failed = true
                        return
                    }
                    let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                    output[o] = UInt8(truncatingIfNeeded: value >> 16)
                    output[o + 1] = UInt8(truncatingIfNeeded: value >> 8)
                    output[o + 2] = UInt8(truncatingIfNeeded: value)
                    i += 4
                    o += 3
                }
                let a = table[Int(input[i])]
                let b = table[Int(input[i + 1])]
                let c = padding >= 2 ? 0 : table[Int(input[i + 2])]
                let d = padding >= 1 ? 0 : table[Int(input[i + 3])]
                if (a | b | c | d) & 0x80 != 0 {
                    failed = true
                    return
                }
                let value = UInt32(a) << 18 | UInt32(b) << 12 | UInt32(c) << 6 | UInt32(d)
                // Non-canonical encodings (stray bits under the padding) are rejected.
                if (padding == 1 && value & 0xFF != 0) || (padding == 2 && value & 0xFFFF != 0) {
                    failed = true
                    return
                }
                output[o] = UInt8(truncatingIfNeeded: value >> 16)
                if padding < 2 { output[o + 1] = UInt8(truncatingIfNeeded: value >> 8) }
                if padding < 1 { output[o + 2] = UInt8(truncatingIfNeeded: value) }
                initialized = length
            }
            return failed ? nil : result
        }
    }
}
