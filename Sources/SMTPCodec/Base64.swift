/// RFC 4648 §4 base64, as SASL uses it in SMTP AUTH (RFC 4954 §4). Written here so the codec
/// stays free of Foundation.
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index < input.count {
            let b0 = input[index]
            let b1 = index + 1 < input.count ? input[index + 1] : 0
            let b2 = index + 2 < input.count ? input[index + 2] : 0
            output.append(alphabet[Int(b0 >> 2)])
            output.append(alphabet[Int((b0 & 0x03) << 4 | b1 >> 4)])
            output.append(index + 1 < input.count ? alphabet[Int((b1 & 0x0F) << 2 | b2 >> 6)] : UInt8(ascii: "="))
            output.append(index + 2 < input.count ? alphabet[Int(b2 & 0x3F)] : UInt8(ascii: "="))
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Strict decoding: length a multiple of four, padding only at the end, no whitespace.
    static func decode<Bytes: Collection>(_ text: Bytes) -> [UInt8]? where Bytes.Element == UInt8 {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let c2IsPad = input[index + 2] == UInt8(ascii: "=")
            let c3IsPad = input[index + 3] == UInt8(ascii: "=")
            guard !c2IsPad || c3IsPad, isLast || !c3IsPad else { return nil }
            let v0 = values[Int(input[index])]
            let v1 = values[Int(input[index + 1])]
            let v2 = c2IsPad ? 0 : values[Int(input[index + 2])]
            let v3 = c3IsPad ? 0 : values[Int(input[index + 3])]
            guard v0 != 0xFF, v1 != 0xFF, v2 != 0xFF, v3 != 0xFF else { return nil }
            output.append(v0 << 2 | v1 >> 4)
            if !c2IsPad { output.append((v1 & 0x0F) << 4 | v2 >> 2) }
            if !c3IsPad { output.append((v2 & 0x03) << 6 | v3) }
            index += 4
        }
        return output
    }
}
