import NIOCore
import SMTPCodec
import Testing

/// The MX port's pregreet test (issue 14; RFC 5321 §3.1, §4.3.1; Postfix postscreen's
/// pregreet test): with `pausesGreeting`, the greeting waits for the gateway's pause, and a
/// client that sends anything first gets 554 and is disconnected, its commands never run.
@Suite struct SMTPPregreetTests {
    static var pausing: SMTPSessionConfiguration {
        var configuration = SMTPSessionConfiguration.mx
        configuration.pausesGreeting = true
        return configuration
    }

    @Test func aPatientClientIsGreetedAfterThePause() {
        var t = Transcript(Self.pausing)
        #expect(t.greetingPaused && t.replies.isEmpty)
        #expect(t.event(.greetingPauseEnded).map(\.code) == [220])
        #expect(t.command("EHLO c").first == 250)
        #expect(!t.session.isClosed)
    }

    @Test func anEarlyTalkerIsRefusedAndNothingItSentRuns() {
        var t = Transcript(Self.pausing)
        let replies = t.send("EHLO spam.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
        #expect(replies.map(\.description) == ["554 mx.example.org Error: you talked before the greeting; no SMTP service\r\n"])
        #expect(t.closed == .talkedBeforeGreeting && t.session.isClosed)
        #expect(!t.actions.contains { if case .checkRecipient = $0 { true } else { false } })
        // The pause ending later changes nothing.
        #expect(t.event(.greetingPauseEnded).isEmpty)
    }

    /// One byte is talking; nothing at all (an empty read) is not.
    @Test func oneByteIsEnough() {
        var t = Transcript(Self.pausing)
        #expect(t.send("").isEmpty && !t.session.isClosed)
        #expect(t.send("\r").map(\.code) == [554])
    }

    @Test func withoutThePauseTheGreetingIsAtOnce() {
        let t = Transcript(.mx)
        #expect(!t.greetingPaused && t.replies.map(\.code) == [220])
    }

    @Test func leavingOrTimingOutDuringThePause() {
        var t = Transcript(Self.pausing)
        _ = t.event(.peerClosed)
        #expect(t.closed == .peerClosed)
        var u = Transcript(Self.pausing)
        #expect(u.event(.timeout).map(\.code) == [421])
    }
}
