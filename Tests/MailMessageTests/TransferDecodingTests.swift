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

    @Test func encodingDispatch() {
        #expect(TransferDecoding.decode(Array("Zm9v".utf8), encoding: "Base64") == Array("foo".utf8))
        #expect(TransferDecoding.decode(Array("a=3D".utf8), encoding: " QUOTED-PRINTABLE ") == Array("a=".utf8))
        #expect(TransferDecoding.decode(Array("x".utf8), encoding: "8bit") == Array("x".utf8))
        #expect(TransferDecoding.decode(Array("x".utf8), encoding: "x-uuencode") == nil)
    }
}
