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
}
