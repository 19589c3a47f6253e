import Foundation
import NIOCore
import Testing

@testable import SMTPCodec

struct SMTPClientDotStufferTests {
    /// Body as given → the DATA encoding (RFC 5321 §4.5.2).
    static let fixtures: [(String, String)] = [
        ("", ".\r\n"),
        ("Hello\r\n", "Hello\r\n.\r\n"),
        ("Hello", "Hello\r\n.\r\n"),
        (".", "..\r\n.\r\n"),
        (".\r\n", "..\r\n.\r\n"),
        ("a\r\n.b\r\n..c\r\n", "a\r\n..b\r\n...c\r\n.\r\n"),
        ("a.b\r\n", "a.b\r\n.\r\n"),
        // Bare LF and bare CR become CRLF, so a smuggled end of data gets stuffed.
        ("a\nb\n", "a\r\nb\r\n.\r\n"),
        ("a\rb\r", "a\r\nb\r\n.\r\n"),
        ("a\n.\r\nMAIL FROM:<x@y>\r\n", "a\r\n..\r\nMAIL FROM:<x@y>\r\n.\r\n"),
        ("a\r.\r\n", "a\r\n..\r\n.\r\n"),
        ("\r\r\n", "\r\n\r\n.\r\n"),
        ("\n\n", "\r\n\r\n.\r\n"),
        ("x\r", "x\r\n.\r\n"),
        ("\r\n.\r\n", "\r\n..\r\n.\r\n"),
        ("caf\u{E9}\r\n", "caf\u{E9}\r\n.\r\n"),
    ]

    @Test(arguments: fixtures)
    func encodesWhole(body: String, wire: String) {
        #expect(SMTPClientDotStuffer.encode(Array(body.utf8)).text == wire)
    }

    @Test(arguments: fixtures)
    func encodesCutAtEveryPosition(body: String, wire: String) {
        let bytes = Array(body.utf8)
        for cut in 0...bytes.count {
            var stuffer = SMTPClientDotStuffer()
            var output = ByteBuffer()
            stuffer.encode(bytes[..<cut], into: &output)
            stuffer.encode(bytes[cut...], into: &output)
            stuffer.finish(into: &output)
            #expect(output.text == wire, "cut at \(cut)")
        }
    }

    @Test(arguments: fixtures)
    func encodesOneByteAtATime(body: String, wire: String) {
        var stuffer = SMTPClientDotStuffer()
        var output = ByteBuffer()
        for byte in body.utf8 { stuffer.encode([byte], into: &output) }
        stuffer.finish(into: &output)
        #expect(output.text == wire)
    }

    /// Whatever the input, the server's DATA receiver gets back the body with CRLF line ends.
    @Test func roundTripsThroughTheServerReceiver() throws {
        let body = "From: a@example.org\r\n\r\n.leading dot\n..two\r\nbare\rcr\r\n.\r\nend"
        let normalised = "From: a@example.org\r\n\r\n.leading dot\r\n..two\r\nbare\r\ncr\r\n.\r\nend\r\n"
        let encoded = SMTPClientDotStuffer.encode(Array(body.utf8)).text
        #expect(encoded.hasSuffix("\r\n.\r\n"))
        // Bytes, not Characters: "\r\n" is one Character.
        let unstuffed = String(decoding: Array(encoded.utf8).dropLast(3), as: UTF8.self).replacingOccurrences(of: "\r\n..", with: "\r\n.")
        #expect(unstuffed == normalised)
    }

    @Test func isReusableAfterFinish() {
        var stuffer = SMTPClientDotStuffer()
        var output = ByteBuffer()
        stuffer.encode(Array("x".utf8), into: &output)
        stuffer.finish(into: &output)
        stuffer.encode(Array(".y".utf8), into: &output)
        stuffer.finish(into: &output)
        #expect(output.text == "x\r\n.\r\n..y\r\n.\r\n")
    }
}
