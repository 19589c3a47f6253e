import MailMessage
import Testing

@Suite struct TransferDecodingTests {
    @Test(arguments: [
        ("", ""),
        ("Zg==", "f"),
        ("Zm8=", "fo"),
        ("Zm9v", "foo"),
        ("Zm9vYg==", "foob"),
        ("Zm9vYmE=", "fooba"),
        ("Zm9vYmFy", "foobar"),
        ("Zm9v\r\nYmFy\r\n", "foobar"),
        ("Zm 9v\tYm*Fy!", "foobar"),
        ("Zm9vYg", "foob"),
        ("Zg==Zg==", "ff"),
        ("Z", ""),
        ("====", ""),
    ])
    func base64(input: String, expected: String) {
        #expect(TransferDecoding.base64(Array(input.utf8)) == Array(expected.utf8))
    }

    @Test func base64AllBytes() {
        let encoded =
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5fYGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn+AgYKDhIWGh4iJiouMjY6PkJGSk5SVlpeYmZqbnJ2en6ChoqOkpaanqKmqq6ytrq+wsbKztLW2t7i5uru8vb6/wMHCw8TFxsfIycrLzM3Oz9DR0tPU1dbX2Nna29zd3t/g4eLj5OXm5+jp6uvs7e7v8PHy8/T19vf4+fr7/P3+/w=="
        #expect(TransferDecoding.base64(Array(encoded.utf8)) == Array(0...255))
    }

    @Test(arguments: [
        ("", ""),
        ("plain", "plain"),
        ("caf=C3=A9", "café"),
        ("caf=c3=a9", "café"),
        ("soft=\r\nbreak", "softbreak"),
        ("soft=\nbreak", "softbreak"),
        ("soft= \t\r\nbreak", "softbreak"),
        ("trailing   \r\nspace", "trailing\r\nspace"),
        ("kept=20\r\n", "kept \r\n"),
        ("a=3Db", "a=b"),
        ("bad=ZZ", "bad=ZZ"),
        ("end=", "end"),
        ("end=4", "end=4"),
        ("under_score", "under_score"),
        ("line1\nline2\n", "line1\nline2\n"),
    ])
    func quotedPrintable(input: String, expected: String) {
        #expect(TransferDecoding.quotedPrintable(Array(input.utf8)) == Array(expected.utf8))
    }

    /// The piecewise decoder gives what decoding whole gives, wherever the body is cut: each
    /// table input is cut at every position, and in pieces of 1, 2, 3 and 7 bytes.
    @Test(arguments: [
        ("base64", "Zm9v\r\nYmFy\r\nZg==\r\n"),
        ("base64", "Zm 9v\tYm*Fy!Zg==Zg=="),
        ("quoted-printable", "caf=C3=A9 au lait=\r\n, soft=  \r\nbreak\r\ntrailing   \r\nspace=20\r\nend="),
        ("quoted-printable", "a=3Db\nline1 \t\nbad=ZZ and=4\n"),
        ("7bit", "as it is\r\n\u{0}"),
    ])
    func decoderInPieces(encoding: String, input: String) {
        let bytes = Array(input.utf8)
        let whole = TransferDecoding.decode(bytes, encoding: encoding)!
        func pieces(_ cuts: [Int]) -> [UInt8] {
            var decoder = TransferDecoding.Decoder(encoding: encoding)!
            var output: [UInt8] = []
            var start = 0
            for cut in cuts + [bytes.count] {
                output += decoder.decode(Array(bytes[start..<cut]))
                start = cut
            }
            return output + decoder.finish()
        }
        for cut in 0...bytes.count { #expect(pieces([cut]) == whole, "cut at \(cut)") }
        for size in [1, 2, 3, 7] { #expect(pieces(Array(stride(from: size, to: bytes.count, by: size))) == whole, "pieces of \(size)") }
        #expect(TransferDecoding.Decoder(encoding: "x-uuencode") == nil)
    }

    /// A quoted-printable "line" longer than the decoder carries is decoded in pieces, cut
    /// where no `=XX` or whitespace is split, with the same result.
    @Test func overlongQuotedPrintableLine() {
        var line: [UInt8] = []
        while line.count < 200_000 { line += Array("word=3D=C3=A9 \t=\r\nmore ".utf8).filter { $0 != 13 && $0 != 10 } }
        let same = Self.quotedPrintableInPieces(line, size: 4093) == TransferDecoding.quotedPrintable(line)
        #expect(same)
    }

    /// Quoted-printable lines far over 64 KiB, made of what must not be cut (escapes, soft
    /// breaks, whitespace runs, a CR before its LF), decode as whole, in bounded carry.
    @Test(arguments: ["=3D", "=3D ", "  ", "a=  \r", "=\r\n", "x= y"])
    func overlongLinesOfAwkwardPieces(unit: String) {
        var line: [UInt8] = []
        while line.count < 150_000 { line += Array(unit.utf8) }
        line += Array("end\r\n".utf8)
        let output = Self.quotedPrintableInPieces(line, size: 8191)
        let whole = TransferDecoding.quotedPrintable(line)
        // Compared as one Bool: a failure would print both 150,000-byte arrays.
        let same = output == whole
        #expect(same, "\(unit): \(output.count) bytes against \(whole.count)")
    }

    /// `line` through the piecewise decoder in pieces of `size` bytes.
    static func quotedPrintableInPieces(_ line: [UInt8], size: Int) -> [UInt8] {
        var decoder = TransferDecoding.Decoder(encoding: "quoted-printable")!
        var output: [UInt8] = []
        for start in stride(from: 0, to: line.count, by: size) {
            output += decoder.decode(Array(line[start..<min(line.count, start + size)]))
        }
        return output + decoder.finish()
    }

    @Test func encodingDispatch() {
        #expect(TransferDecoding.decode(Array("Zm9v".utf8), encoding: "Base64") == Array("foo".utf8))
        #expect(TransferDecoding.decode(Array("a=3D".utf8), encoding: " QUOTED-PRINTABLE ") == Array("a=".utf8))
        #expect(TransferDecoding.decode(Array("x".utf8), encoding: "8bit") == Array("x".utf8))
        #expect(TransferDecoding.decode(Array("x".utf8), encoding: "x-uuencode") == nil)
    }
}
