/// Mailbox names on the wire (RFC 3501 §5.1.3): printable US-ASCII stands for itself, "&" is
/// written "&-", and every other run of characters is UTF-16 in modified base64 (RFC 2152
/// base64 with "," for "/", no padding) between "&" and "-".
///
/// `decode` accepts only the one encoding `encode` produces, so a name has one spelling: the
/// RFC says printable US-ASCII "MUST NOT" be base64-encoded, and a run that could continue is
/// not split in two.
public enum ModifiedUTF7 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    private static let ampersand = UInt8(ascii: "&")
    private static let minus = UInt8(ascii: "-")

    private static func isDirect(_ scalar: Unicode.Scalar) -> Bool { scalar.value >= 0x20 && scalar.value <= 0x7E }

    /// The modified UTF-7 form of a UTF-8 name.
    public static func encode(_ name: String) -> String {
        var output: [UInt8] = []
        var run: [UInt16] = []
        func flush() {
            guard !run.isEmpty else { return }
            output.append(ampersand)
            var bits: UInt32 = 0
            var count = 0
            for unit in run {
                bits = bits << 16 | UInt32(unit)
                count += 16
                while count >= 6 {
                    count -= 6
                    output.append(alphabet[Int(bits >> UInt32(count) & 0x3F)])
                }
                bits &= (1 << UInt32(count)) - 1
            }
            if count > 0 { output.append(alphabet[Int(bits << UInt32(6 - count) & 0x3F)]) }
            output.append(minus)
            run.removeAll()
        }
        for scalar in name.unicodeScalars {
            if isDirect(scalar) {
                flush()
                output.append(UInt8(scalar.value))
                if scalar == "&" { output.append(minus) }
            } else {
                run.append(contentsOf: UTF16.encode(scalar)!)
            }
        }
        flush()
        return String(decoding: output, as: UTF8.self)
    }

    /// The UTF-8 name, or nil when `bytes` is not the canonical modified UTF-7 of one: an octet
    /// outside printable US-ASCII, an "&" run without its "-", a base64 octet outside the
    /// alphabet, left-over bits that are not zero or make a whole 16-bit unit, a broken
    /// surrogate pair, a printable US-ASCII character encoded, or two runs back to back.
    public static func decode(_ bytes: some Collection<UInt8>) -> String? {
        var scalars = String.UnicodeScalarView()
        var index = bytes.startIndex
        var afterRun = false
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte >= 0x20, byte <= 0x7E else { return nil }
            index = bytes.index(after: index)
            guard byte == ampersand else {
                scalars.append(Unicode.Scalar(byte))
                afterRun = false
                continue
            }
            guard index < bytes.endIndex else { return nil }
            if bytes[index] == minus {
                scalars.append("&")
                index = bytes.index(after: index)
                afterRun = false
                continue
            }
            if afterRun { return nil }
            var units: [UInt16] = []
            var bits: UInt32 = 0
            var count = 0
            while true {
                guard index < bytes.endIndex else { return nil }
                let next = bytes[index]
                index = bytes.index(after: index)
                if next == minus { break }
                let value = decodeTable[Int(next)]
                guard value != 0xFF else { return nil }
                bits = bits << 6 | UInt32(value)
                count += 6
                if count >= 16 {
                    count -= 16
                    units.append(UInt16(truncatingIfNeeded: bits >> UInt32(count)))
                    bits &= (1 << UInt32(count)) - 1
                }
            }
            guard count < 6, bits == 0, !units.isEmpty else { return nil }
            var iterator = units.makeIterator()
            var utf16 = UTF16()
            decoding: while true {
                switch utf16.decode(&iterator) {
                case .scalarValue(let scalar):
                    guard !isDirect(scalar) else { return nil }
                    scalars.append(scalar)
                case .emptyInput: break decoding
                case .error: return nil
                }
            }
            afterRun = true
        }
        return String(scalars)
    }

    public static func decode(_ text: String) -> String? { decode(Array(text.utf8)) }
}
