import MailCore
import Testing

@testable import SMTPCodec

/// How SMTP answers the SASL module's outcomes (RFC 4954 §4), beyond the transcript tests.
@Suite struct SMTPSASLTests {
    /// RFC 4616 §2: proxy authentication is not offered; refused like wrong credentials, without
    /// asking the back-end.
    @Test func anotherAuthorizationIdentityIsRefused() {
        var t = Transcript(.mx)
        t.command("EHLO c")
        #expect(t.command("AUTH PLAIN \(Base64.encode(Array("admin\0alice\0secret".utf8)))") == [535])
        #expect(!t.actions.contains { if case .authenticate = $0 { true } else { false } })
        #expect(t.command("AUTH PLAIN \(Base64.encode(Array("alice\0alice\0secret".utf8)))") == [235])
    }

    /// `AUTH LOGIN =` names no user, so the server asks for one.
    @Test func loginWithAnEmptyInitialResponseAsksForTheUser() {
        var t = Transcript(.mx)
        t.command("EHLO c")
        #expect(t.send("AUTH LOGIN =\r\n").map(\.description) == ["334 VXNlcm5hbWU6\r\n"])
        #expect(t.send("YWxpY2U=\r\nc2VjcmV0\r\n").map(\.code) == [334, 235])
    }

    /// `*` at each step of the relayed SCRAM exchange ends it with 501 5.7.0.
    @Test(arguments: [0, 1])
    func scramCancelAtEveryStep(step: Int) {
        var configuration = SMTPSessionConfiguration.mx
        configuration.authMechanisms = [.scramSHA256]
        var t = Transcript(configuration)
        t.command("EHLO c")
        #expect(t.command("AUTH SCRAM-SHA-256") == [334])
        if step == 1 { #expect(t.command(Base64.encode(Array("n,,n=alice,r=x".utf8))) == [334]) }
        #expect(t.send("*\r\n").map(\.description) == ["501 5.7.0 Authentication aborted\r\n"])
        #expect(t.command("NOOP") == [250])
    }

    @Test func scramRelayedToTheEnd() {
        var configuration = SMTPSessionConfiguration.mx
        configuration.authMechanisms = [.scramSHA256]
        var t = Transcript(configuration)
        t.command("EHLO c")
        #expect(t.command("AUTH SCRAM-SHA-256 \(Base64.encode(Array("n,,n=alice,r=x".utf8)))") == [334])
        #expect(t.command(Base64.encode(Array("c=biws,r=nonce,p=good".utf8))) == [334])
        #expect(t.command("") == [235])
        #expect(t.session.authenticatedIdentity == "alice")
    }
}
