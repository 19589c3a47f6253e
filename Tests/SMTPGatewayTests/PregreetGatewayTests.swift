import GatewayKit
import LoftTestSupport
import NIOCore
import Testing

@testable import SMTPGateway

/// The MX port's pregreet test end to end (issue 14): an early talker gets 554 and the
/// connection ends; a client that waits is greeted and remembered, so its next connection
/// is greeted at once; submission never waits.
@Suite(.timeLimit(.minutes(1))) struct PregreetGatewayTests {
    @Test func earlyTalkersAreRefusedAndPatientClientsRemembered() async throws {
        // Talks first: refused in place of the greeting, then closed. (A long pause, so a
        // loaded machine cannot let it end before the early bytes are read.)
        let strict = try await SMTPHarness { $0.mxGreetingDelay = .seconds(20) }
        let early = SMTPTestClient(try await LineClient.connect(port: strict.mxPort))
        try await early.send("EHLO spam.example\r\n")
        #expect(try await early.readReply() == "554 mx.test Error: you talked before the greeting; no SMTP service")
        #expect(try await early.readReply() == "<EOF>")
        await early.close()
        await strict.close()
        // Waits: greeted (after the pause), and passes.
        let h = try await SMTPHarness { $0.mxGreetingDelay = .milliseconds(300) }
        let patient = try await h.connect(h.mxPort)
        #expect(try await patient.command("EHLO mta.example").hasPrefix("250"))
        await patient.close()
        // Passed: the next connection may talk at once (the greeting is already on its way).
        let again = SMTPTestClient(try await LineClient.connect(port: h.mxPort))
        try await again.send("EHLO mta.example\r\n")
        #expect(try await again.readReply().hasPrefix("220 mx.test"))
        #expect(try await again.readReply().hasPrefix("250"))
        await again.close()
        await h.close()
    }

    @Test func submissionAndTrustedNetworksNeverWait() async throws {
        let h = try await SMTPHarness { $0.mxGreetingDelay = .seconds(30) }
        let submission = SMTPTestClient(try await LineClient.connect(port: h.submissionPort))
        try await submission.send("EHLO laptop.example\r\n")
        #expect(try await submission.readReply().hasPrefix("220"))
        await submission.close()
        await h.close()
        let trusted = try await SMTPHarness {
            $0.mxGreetingDelay = .seconds(30)
            $0.trustedNetworks = [NetworkRange("127.0.0.0/8")!]
        }
        let client = SMTPTestClient(try await LineClient.connect(port: trusted.mxPort))
        try await client.send("EHLO relay.example\r\n")
        #expect(try await client.readReply().hasPrefix("220"))
        await client.close()
        await trusted.close()
    }

    /// (addresses passed in order, capacity, then: which are remembered).
    @Test func passesAreBoundedAndExpire() {
        var table = GreetingPasses.Table(lifetime: .seconds(10), capacity: 4)
        let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
        for (i, address) in ["a", "b", "c", "d"].enumerated() { table.pass(address, now: t0 + .seconds(Int64(i))) }
        #expect(table.expiry.count == 4 && table.passed("a", now: t0 + .seconds(9)))
        #expect(!table.passed("a", now: t0 + .seconds(10)))  // its day is over
        // Full, none expired: the quarter nearest expiry (a) goes to make room.
        table.pass("e", now: t0 + .seconds(5))
        #expect(table.expiry.count == 4 && !table.passed("a", now: t0 + .seconds(5)) && table.passed("e", now: t0 + .seconds(5)))
        // Full with expired entries: they go first.
        table.pass("f", now: t0 + .seconds(12))
        #expect(Set(table.expiry.keys) == ["d", "e", "f"])
        // Passing again renews.
        table.pass("d", now: t0 + .seconds(13))
        #expect(table.passed("d", now: t0 + .seconds(22)))
    }
}
