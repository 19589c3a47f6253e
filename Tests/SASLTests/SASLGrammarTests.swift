import MailCore
import SASL
import Testing

@Suite struct SASLGrammarTests {
    static let max = String(repeating: "a", count: SASLLimits.field)
    static let over = max + "a"

    /// RFC 4616 §2 and §4's examples; every field at its limit and one over.
    @Test(arguments: [
        (
            "\0tim\0tanstaaftanstaaf",
            Result<SASLCredentials, SASLError>.success(
                .plain(authorizationID: "", authenticationID: "tim", password: "tanstaaftanstaaf"))
        ),
        // §4's second example: assuming another identity is refused.
        ("Ursel\0Kurt\0xipj3plmq", .failure(SASLError(.authorizationIdentityRefused))),
        ("Kurt\0Kurt\0xipj3plmq", .success(.plain(authorizationID: "Kurt", authenticationID: "Kurt", password: "xipj3plmq"))),
        ("\0ürsel\0pässwörd", .success(.plain(authorizationID: "", authenticationID: "ürsel", password: "pässwörd"))),
        ("alice\0secret", .failure(SASLError(.malformedMessage))),
        ("\0\0secret", .failure(SASLError(.malformedMessage))),
        ("\0alice\0", .failure(SASLError(.malformedMessage))),
        ("\0alice\0secret\0x", .failure(SASLError(.malformedMessage))),
        ("", .failure(SASLError(.malformedMessage))),
        ("\0\(max)\0\(max)", .success(.plain(authorizationID: "", authenticationID: max, password: max))),
        ("\(max)\0\(max)\0p", .success(.plain(authorizationID: max, authenticationID: max, password: "p"))),
        ("\0\(over)\0p", .failure(SASLError(.fieldTooLong))),
        ("\0u\0\(over)", .failure(SASLError(.fieldTooLong))),
        ("\(over)\0\(over)\0p", .failure(SASLError(.fieldTooLong))),
    ])
    func plain(message: String, expected: Result<SASLCredentials, SASLError>) {
        #expect(SASLCredentials.parsePlain(Array(message.utf8)) == expected)
    }

    @Test func plainRefusesInvalidUTF8() {
        #expect(SASLCredentials.parsePlain([0, 0xFF, 0, 0x61]) == .failure(SASLError(.malformedMessage)))
    }

    /// RFC 2195 §2: user SP 32 hex digits.
    @Test(arguments: [
        (
            "tim b913a602c7eda7a495b4e6e7334d3890",
            Result<SASLCredentials, SASLError>.success(
                .cramMD5(username: "tim", digest: "b913a602c7eda7a495b4e6e7334d3890", challenge: "c"))
        ),
        ("tim b913a602c7eda7a495b4e6e7334d389", .failure(SASLError(.malformedMessage))),
        ("tim b913a602c7eda7a495b4e6e7334d38900", .failure(SASLError(.malformedMessage))),
        ("tim g913a602c7eda7a495b4e6e7334d3890", .failure(SASLError(.malformedMessage))),
        (" b913a602c7eda7a495b4e6e7334d3890", .failure(SASLError(.malformedMessage))),
        ("b913a602c7eda7a495b4e6e7334d3890", .failure(SASLError(.malformedMessage))),
        (
            "\(max) b913a602c7eda7a495b4e6e7334d3890",
            .success(
                .cramMD5(username: max, digest: "b913a602c7eda7a495b4e6e7334d3890", challenge: "c"))
        ),
        ("\(over) b913a602c7eda7a495b4e6e7334d3890", .failure(SASLError(.fieldTooLong))),
    ])
    func cramMD5(response: String, expected: Result<SASLCredentials, SASLError>) {
        #expect(SASLCredentials.parseCRAMMD5(Array(response.utf8), challenge: "c") == expected)
    }

    /// RFC 2195 §2's challenge goes out as the RFC shows it, once base64-encoded by the codec.
    @Test func rfc2195ChallengeEncoding() {
        var exchange = SASLExchange(mechanism: .cramMD5)
        _ = exchange.start(initialResponse: nil)
        guard case .challenge(let challenge) = exchange.challengeIssued("<1896.697170952@postoffice.reston.mci.net>")
        else {
            Issue.record("no challenge")
            return
        }
        #expect(Base64.encode(challenge) == "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+")
    }

    /// LOGIN's user name and password at the field limit and one over.
    @Test(arguments: [
        (max, "p", SASLAction.authenticate(.login(username: max, password: "p"))),
        (over, "p", .failed(SASLError(.fieldTooLong))),
        ("u", max, .authenticate(.login(username: "u", password: max))),
        ("u", over, .failed(SASLError(.fieldTooLong))),
    ])
    func loginFieldLimits(username: String, password: String, expected: SASLAction) {
        var exchange = SASLExchange(mechanism: .login)
        _ = exchange.start(initialResponse: nil)
        let afterUser = exchange.receive(.message(Array(username.utf8)))
        if case .failed = expected, username == Self.over {
            #expect(afterUser == expected)
            return
        }
        #expect(exchange.receive(.message(Array(password.utf8))) == expected)
    }

    /// Response lines of `SASLLimits.responseLine` base64 octets pass; one quad more is refused.
    @Test func responseLineLimit() {
        let atLimit = [UInt8](repeating: UInt8(ascii: "A"), count: SASLLimits.responseLine)
        let over = atLimit + Array("AAAA".utf8)
        #expect(SASLResponse.parse(atLimit) == .success(.message([UInt8](repeating: 0, count: SASLLimits.responseLine / 4 * 3))))
        #expect(SASLResponse.parse(over) == .failure(SASLError(.lineTooLong)))
        #expect(SASLResponse.parse(atLimit + [UInt8(ascii: "A")]) == .failure(SASLError(.lineTooLong)))
        #expect(SASLInitialResponse.parse(atLimit) == .success(.bytes([UInt8](repeating: 0, count: SASLLimits.responseLine / 4 * 3))))
        #expect(SASLInitialResponse.parse(over) == .failure(SASLError(.lineTooLong)))
        var exchange = SASLExchange(mechanism: .scramSHA256)
        _ = exchange.start(initialResponse: nil)
        #expect(exchange.receive(line: over) == .failed(SASLError(.lineTooLong)))
    }

    @Test(arguments: [
        ("", Result<SASLResponse, SASLError>.success(.message([]))),
        ("*", .success(.cancel)),
        ("**", .failure(SASLError(.invalidBase64))),
        ("=", .failure(SASLError(.invalidBase64))),
        ("YWxpY2U=", .success(.message(Array("alice".utf8)))),
    ])
    func responses(line: String, expected: Result<SASLResponse, SASLError>) {
        #expect(SASLResponse.parse(Array(line.utf8)) == expected)
    }

    /// RFC 4422 §3.1 names, compared case-insensitively.
    @Test(
        arguments: [
            ("plain", "PLAIN"), ("Cram-Md5", "CRAM-MD5"), ("x_custom-1", "X_CUSTOM-1"),
            ("ABCDEFGHIJKLMNOPQRST", "ABCDEFGHIJKLMNOPQRST"), ("ABCDEFGHIJKLMNOPQRSTU", nil), ("", nil),
            ("A B", nil), ("A=", nil), ("É", nil),
        ] as [(String, String?)])
    func mechanismNames(name: String, expected: String?) {
        #expect(SASLMechanism(name)?.name == expected)
    }

    @Test func knownMechanisms() {
        #expect(SASLMechanism("plain") == .plain && SASLMechanism("SCRAM-SHA-256") == .scramSHA256)
        #expect(SASLMechanism.plain.isPlaintext && SASLMechanism.login.isPlaintext)
        #expect(!SASLMechanism.cramMD5.isPlaintext && !SASLMechanism.scramSHA256.isPlaintext)
        let credentials = SASLCredentials.plain(authorizationID: "", authenticationID: "tim", password: "secret")
        #expect(!credentials.description.contains("secret"))
    }
}
