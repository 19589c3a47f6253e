import NIOCore
import Testing

@testable import SMTPCodec

struct SMTPReplyTests {
    static let fixtures: [(SMTPReply, String)] = [
        (.ok, "250 2.0.0 OK\r\n"),
        (SMTPReply(550, .init(5, 1, 1), "No such user"), "550 5.1.1 No such user\r\n"),
        (SMTPReply(250, nil, ["mx.example.org", "PIPELINING", "SIZE 100"]), "250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 100\r\n"),
        (
            SMTPReply(451, .init(4, 3, 0), ["Try again", "later"]),
            "451-4.3.0 Try again\r\n451 4.3.0 later\r\n"
        ),
        (.saslChallenge([UInt8]()), "334 \r\n"),
        (.saslChallenge(Array("Username:".utf8)), "334 VXNlcm5hbWU6\r\n"),
        (.greeting("mx.example.org"), "220 mx.example.org ESMTP Loft\r\n"),
        (SMTPReply(250, .init(2, 0, 0), ""), "250 2.0.0\r\n"),
    ]

    @Test(arguments: fixtures)
    func encodes(reply: SMTPReply, wire: String) throws {
        var out = ByteBuffer()
        reply.encode(into: &out)
        #expect(out.text == wire)
        var input = out
        #expect(try SMTPReply.parse(from: &input) == reply)
        #expect(input.readableBytes == 0)
    }

    @Test(arguments: fixtures)
    func parsesOneByteAtATime(reply: SMTPReply, wire: String) throws {
        var input = ByteBuffer()
        var parsed: SMTPReply?
        for byte in wire.utf8 {
            #expect(parsed == nil)
            input.writeInteger(byte)
            parsed = try SMTPReply.parse(from: &input)
        }
        #expect(parsed == reply)
    }

    @Test func sanitisesLineBreaks() {
        let reply = SMTPReply(250, nil, "hello\r\n250 injected")
        #expect(reply.description == "250 hello 250 injected\r\n")
    }

    @Test(arguments: ["25 OK\r\n", "250-a\r\n251 b\r\n", "abc\r\n", "250xOK\r\n"])
    func rejectsMalformedReplies(wire: String) {
        var input = buffer(wire)
        #expect(throws: SMTPReplyParseError.self) { try SMTPReply.parse(from: &input) }
    }

    @Test(arguments: ["2.0.0", "5.1.1", "4.7.12", "5.999.999"])
    func parsesEnhancedCodes(text: String) {
        #expect(EnhancedStatusCode(Substring(text))?.description == text)
    }

    @Test(arguments: ["3.0.0", "2.0", "2.0.0.0", "2.1000.0", "a.b.c", "22.0.0"])
    func rejectsEnhancedCodes(text: String) {
        #expect(EnhancedStatusCode(Substring(text)) == nil)
    }

    @Test func everyCatalogueReplyAgreesWithItsEnhancedClass() {
        let replies: [SMTPReply] = [
            .ok, .senderOK, .recipientOK, .cannotVerify, .help, .readyToStartTLS, .authenticationSucceeded,
            .lineTooLong, .badSequence, .sendHelloFirst, .needMail, .nestedMail, .notDuringTransaction,
            .noValidRecipients, .dataAfterBDAT, .binaryMIMERequiresBDAT, .notImplemented, .expandNotAvailable,
            .unsupportedParameter, .tlsAlreadyActive, .tlsNotAvailable, .alreadyAuthenticated,
            .authenticationNotAvailable, .authenticationRequired, .unrecognizedMechanism, .encryptionRequired,
            .authenticationAborted, .malformedSASLResponse, .authenticationFailed, .authenticationLineTooLong,
            .temporaryAuthenticationFailure, .messageTooBig, .tooManyRecipients, .nonASCIISender,
            .nonASCIIRecipient, .unknownRecipient, .bareLineEndingRejected, .lineTooLongInData, .localError,
            .timeout("h"), .tooManyErrors("h"), .closing("h"), .serviceUnavailable("h"), .queued("Q"),
            .chunkReceived(5),
        ]
        for reply in replies {
            #expect(reply.enhancedCode?.statusClass == reply.code / 100, "\(reply)")
        }
    }
}
