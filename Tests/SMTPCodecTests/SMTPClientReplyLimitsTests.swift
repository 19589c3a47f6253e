import NIOCore
import Testing

@testable import SMTPCodec

/// The reply parser's limits against a hostile server (STYLE §7): at each limit a reply
/// parses, one octet or line past it throws, and an unfinished reply that is already past it
/// throws without waiting for more.
struct SMTPClientReplyLimitsTests {
    static let limits = SMTPReplyLimits(lineLength: 20, lines: 3, replyBytes: 50)

    private func parse(_ wire: String) throws(SMTPReplyParseError) -> SMTPReply? {
        var input = buffer(wire)
        return try SMTPReply.parse(from: &input, limits: Self.limits)
    }

    private func code(_ wire: String) -> SMTPReplyParseError.Code? {
        do {
            _ = try parse(wire)
            return nil
        } catch {
            return error.code
        }
    }

    @Test func lineAtTheLimitParses() throws {
        // 18 octets and CRLF = 20.
        let line = "250 " + String(repeating: "x", count: 14) + "\r\n"
        #expect(line.utf8.count == 20)
        #expect(try parse(line)?.lines == [String(repeating: "x", count: 14)])
    }

    @Test func lineOverTheLimitThrows() {
        #expect(code("250 " + String(repeating: "x", count: 15) + "\r\n") == .lineTooLong)
    }

    @Test func unfinishedLineAtTheLimitWaits() throws {
        // 19 octets without the LF: the LF would make 20.
        #expect(try parse("250 " + String(repeating: "x", count: 14) + "\r") == nil)
    }

    @Test func unfinishedLineOverTheLimitThrowsAtOnce() {
        #expect(code("250 " + String(repeating: "x", count: 16)) == .lineTooLong)
    }

    @Test func linesAtTheLimitParse() throws {
        #expect(try parse("250-a\r\n250-b\r\n250 c\r\n")?.lines == ["a", "b", "c"])
    }

    @Test func oneLineTooManyThrowsBeforeItArrives() {
        #expect(code("250-a\r\n250-b\r\n250-c\r\n") == .tooManyLines)
    }

    @Test func replyAtTheByteLimitParses() throws {
        // 20 + 20 + 10 = 50 octets.
        let wire =
            "250-" + String(repeating: "a", count: 14) + "\r\n" + "250-" + String(repeating: "b", count: 14) + "\r\n" + "250 cccc\r\n"
        #expect(wire.utf8.count == 50)
        #expect(try parse(wire)?.lines.count == 3)
    }

    @Test func replyOverTheByteLimitThrows() {
        let wire =
            "250-" + String(repeating: "a", count: 14) + "\r\n" + "250-" + String(repeating: "b", count: 14) + "\r\n" + "250 ccccc\r\n"
        #expect(code(wire) == .replyTooLarge)
    }

    @Test func unfinishedReplyAtTheByteLimitWaits() throws {
        // 49 octets: the LF still to come makes 50.
        let wire = "250-" + String(repeating: "a", count: 14) + "\r\n" + "250-" + String(repeating: "b", count: 14) + "\r\n" + "250 cccc\r"
        #expect(try parse(wire) == nil)
    }

    @Test func unfinishedReplyOverTheByteLimitThrowsAtOnce() {
        // 50 octets and no LF yet: it cannot end within the limit.
        let wire = "250-" + String(repeating: "a", count: 14) + "\r\n" + "250-" + String(repeating: "b", count: 14) + "\r\n" + "250 cccccc"
        #expect(code(wire) == .replyTooLarge)
    }

    @Test func defaultsAreGenerousButBounded() throws {
        let defaults = SMTPReplyLimits()
        #expect(defaults.lineLength >= 512)
        var long = buffer("250 " + String(repeating: "x", count: defaults.lineLength) + "\r\n")
        #expect(throws: SMTPReplyParseError.self) { try SMTPReply.parse(from: &long) }
        var many = buffer(String(repeating: "250-x\r\n", count: defaults.lines + 1))
        #expect(throws: SMTPReplyParseError.self) { try SMTPReply.parse(from: &many) }
    }

    @Test(arguments: ["199 too low\r\n", "600 too high\r\n", "2500 x\r\n", "\r\n"])
    func malformedLinesThrow(wire: String) {
        #expect(code(wire) == .malformedLine)
    }
}
