import MailMessage
import Testing

@Suite struct TransferEncodingTests {
    @Test(arguments: [
        ("", ""),
        ("plain", "plain"),
        ("café", "caf=C3=A9"),
        ("a=b", "a=3Db"),
        ("two\r\nlines\r\n", "two\r\nlines\r\n"),
        ("trailing \r\ntab\t", "trailing=20\r\ntab=09"),
        ("inner space", "inner space"),
        ("bare\nLF and\rCR", "bare=0ALF and=0DCR"),
        ("nul\u{0}", "nul=00"),
    ])
    func encodes(_ input: String, _ expected: String) {
        #expect(TransferEncoding.quotedPrintable(Array(input.utf8)) == Array(expected.utf8))
    }

    /// Every byte value, long lines and line ends in odd places: the result is 7-bit, its lines
    /// are at most 76 characters, and decoding gives the input back.
    @Test(
        arguments: [
            Array(0...255).map(UInt8.init),
            Array(repeating: UInt8(ascii: "x"), count: 1000),
            Array(repeating: UInt8(ascii: " "), count: 200) + [0x0D, 0x0A],
            Array(repeating: UInt8(0xE9), count: 100),
            Array("=\r\n=\r\n\r\n\r".utf8),
            Array((String(repeating: "a", count: 74) + " \r\n" + String(repeating: "b", count: 75) + "=").utf8),
        ] as [[UInt8]])
    func roundTrips(_ input: [UInt8]) {
        let encoded = TransferEncoding.quotedPrintable(input)
        #expect(encoded.allSatisfy { $0 < 0x80 })
        var line = 0
        for (i, byte) in encoded.enumerated() {
            if byte == 0x0D {
                #expect(i + 1 < encoded.count && encoded[i + 1] == 0x0A)
                continue
            }
            if byte == 0x0A {
                line = 0
                continue
            }
            line += 1
            #expect(line <= TransferEncoding.maxQuotedPrintableLine)
        }
        #expect(TransferDecoding.quotedPrintable(encoded) == input)
    }
}
