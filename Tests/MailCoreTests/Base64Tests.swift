import Foundation
import MailCore
import Testing

@Suite struct Base64Tests {
    @Test(arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ])
    func roundTrip(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
    }

    @Test(arguments: ["Zg", "Zg=", "Zm9", "Z===", "Zm9v\r\n", "Zm 9v", "Zh==", "Zm9=", "=Zm9", "Zg==Zg==", "Zm9v!A=="])
    func rejectsMalformed(encoded: String) {
        #expect(Base64.decode(Array(encoded.utf8)) == nil)
    }

    /// Every length from 0 to 300 over every byte value, against Foundation's encoder.
    @Test func agreesWithFoundationOnEveryLength() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...300 {
            let bytes = (0..<length).map { i in i < 256 ? UInt8(i) : UInt8.random(in: 0...255, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
            #expect(Base64.encode(bytes) == expected)
            #expect(Base64.decode(Array(expected.utf8)) == bytes)
            #expect(Base64.encodedCount(length) == expected.utf8.count)
        }
    }

    @Test func wrappedInputIsAcceptedOnlyWhereAsked() {
        let wrapped = Array("Zm9v\r\nYmFy\n Zg==\n".utf8)
        #expect(Base64.decode(wrapped) == nil)
        #expect(Base64.decodeIgnoringWhitespace(wrapped) == Array("foobarf".utf8))
        #expect(Base64.decodeIgnoringWhitespace(Array("Zm9v!".utf8)) == nil)
    }
}
