import NIOCore
import Testing

@testable import GatewayKit

@Suite struct TraceHeaderTests {
    @Test func networkRanges() {
        #expect(NetworkRange("127.0.0.0/8")!.contains("127.1.2.3"))
        #expect(!NetworkRange("127.0.0.0/8")!.contains("128.0.0.1"))
        #expect(NetworkRange("192.0.2.7")!.contains("192.0.2.7") && !NetworkRange("192.0.2.7")!.contains("192.0.2.8"))
        #expect(NetworkRange("2001:db8::/32")!.contains("2001:db8:1::5") && !NetworkRange("2001:db8::/32")!.contains("127.0.0.1"))
        #expect(NetworkRange("::/0")!.contains("::1") && NetworkRange("10.0.0.0/33") == nil && NetworkRange("x") == nil)
    }

    @Test func missingHeaderFieldsAreFound() {
        let hasBoth = ByteBuffer(string: "Date: x\r\nmessage-id : <a@b>\r\n\r\nDate: body\r\n")
        #expect(TraceHeaders.missingSubmissionFields(in: hasBoth, hostname: "h", id: "1", date: 0) == "")
        let folded = ByteBuffer(string: "Subject: a\r\n Date: not a field\r\n\r\n")
        #expect(
            TraceHeaders.missingSubmissionFields(in: folded, hostname: "h", id: "1", date: 0)
                == "Date: Thu, 1 Jan 1970 00:00:00 +0000\r\nMessage-ID: <1@h>\r\n")
        #expect(TraceHeaders.token("a (b);c\r\n") == "abc")
    }

    @Test func receivedFieldNamesOneRecipientOnly() {
        let one = TraceHeaders.received(
            clientName: "client (x).test", clientAddress: "2001:db8::5", hostname: "mx.test", protocolName: "ESMTPS",
            id: "ID1", recipient: "<alice@example.test>", date: 0)
        #expect(
            one == "Received: from clientx.test ([IPv6:2001:db8::5])\r\n\tby mx.test (Loft) with ESMTPS id ID1\r\n"
                + "\tfor <alice@example.test>; Thu, 1 Jan 1970 00:00:00 +0000\r\n")
        let many = TraceHeaders.received(
            clientName: "c", clientAddress: "192.0.2.1", hostname: "mx.test", protocolName: "SMTP", id: "ID2",
            recipient: nil, date: 0)
        #expect(many == "Received: from c ([192.0.2.1])\r\n\tby mx.test (Loft) with SMTP id ID2; Thu, 1 Jan 1970 00:00:00 +0000\r\n")
        // RFC 4954 §7: who logged in, as a comment whose text cannot close it early.
        let submitted = TraceHeaders.received(
            clientName: "laptop", clientAddress: "192.0.2.7", hostname: "mx.test", protocolName: "ESMTPSA", id: "ID3",
            recipient: nil, authenticatedUser: "alice@example.test) (x", date: 0)
        #expect(
            submitted == "Received: from laptop ([192.0.2.7])\r\n\t(Authenticated sender: alice@example.testx)\r\n"
                + "\tby mx.test (Loft) with ESMTPSA id ID3; Thu, 1 Jan 1970 00:00:00 +0000\r\n")
    }
}
