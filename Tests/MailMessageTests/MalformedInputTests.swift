import Foundation
import MailMessage
import Testing

@Suite struct MalformedInputTests {
    @Test func emptyInput() {
        let message = MessageParser.parse([UInt8]())
        #expect(message.envelope == Envelope())
        #expect(message.body.type == "text" && message.body.subtype == "plain")
        #expect(message.body.size == 0 && message.body.lines == 0)
        #expect(message.truncated == false)
    }

    @Test func onlyHeadersNoBlankLine() {
        let bytes = Array("Subject: hi\r\nFrom: a@b".utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.envelope.subject == "hi")
        #expect(message.envelope.from.first?.address == "a@b")
        #expect(message.body.bodyStart == bytes.count)
        #expect(message.body.size == 0)
    }

    @Test func headersThenBodyWithoutBlankLine() {
        let bytes = Array("Subject: hi\nThis line has no colon\nSecond: looks like a header\n".utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.envelope.subject == "hi")
        #expect(Fixtures.text(bytes, message.bodyRange) == "This line has no colon\nSecond: looks like a header\n")
        #expect(message.body.lines == 2)
    }

    @Test func obsoleteFoldingAndWhitespaceBeforeColon() {
        let bytes = Array("Subject : folded\r\n \r\n  twice\r\nTo: x@y\r\n\r\n".utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.envelope.subject == "folded   twice")
        #expect(message.envelope.to.first?.address == "x@y")
    }

    @Test func mboxSeparatorIsSkippedAtTheTopOnly() {
        let bytes = Array("From sender@example.com Tue Nov 12 09:12:42 2013\nSubject: s\n\nbody\n".utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.envelope.subject == "s")
        #expect(Fixtures.text(bytes, message.bodyRange) == "body\n")
    }

    @Test func unterminatedMultipart() throws {
        let bytes = Array(
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nfirst\n--b\nContent-Type: text/html\n\nsecond, unterminated\n"
                .utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.body.children.count == 2)
        let second = try #require(message.part(at: [2]))
        #expect(second.subtype == "html")
        #expect(second.end == bytes.count)
        #expect(Fixtures.text(bytes, second.bodyRange) == "second, unterminated\n")
    }

    @Test func boundaryNotAtLineStartIsContent() throws {
        let bytes = Array(
            "Content-Type: multipart/mixed; boundary=b\n\n--b\n\ntext --b inside\n --b\n--bx\n--b--x\n--b--\n".utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.body.children.count == 1)
        let part = try #require(message.part(at: [1]))
        #expect(Fixtures.text(bytes, part.bodyRange) == "text --b inside\n --b\n--bx\n--b--x")
    }

    @Test func multipartWithoutBoundaryOrDelimiters() {
        for header in [
            "Content-Type: multipart/mixed", "Content-Type: multipart/mixed; boundary=\"\"",
            "Content-Type: multipart/mixed; boundary=zz",
        ] {
            let message = MessageParser.parse(Array((header + "\n\nno delimiters here\n").utf8))
            #expect(message.body.isMultipart)
            #expect(message.body.children.isEmpty)
            #expect(message.part(at: [1]) == nil)
        }
    }

    static func nestedMultiparts(_ levels: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        for level in 0..<levels {
            bytes += Array("Content-Type: multipart/mixed; boundary=\"b\(level)\"\r\n\r\n--b\(level)\r\n".utf8)
        }
        bytes += Array("Content-Type: text/plain\r\n\r\nleaf\r\n".utf8)
        for level in (0..<levels).reversed() {
            bytes += Array("--b\(level)--\r\n".utf8)
        }
        return bytes
    }

    @Test func deepMultipartNestingStopsAtTheLimit() {
        let bytes = Self.nestedMultiparts(10_000)
        let clock = ContinuousClock()
        var message: ParsedMessage?
        let elapsed = clock.measure { message = MessageParser.parse(bytes) }
        #expect(message?.truncated == true)
        #expect(elapsed < .seconds(10))
        var depth = 0
        var node = message?.body
        while let current = node, let child = current.children.first {
            depth += 1
            node = child
        }
        #expect(depth == MessageLimits.defaultMaxDepth)
        #expect(node?.type == "multipart")
        #expect(node?.content == .single)
    }

    @Test(arguments: [0, 1, 5])
    func depthLimitIsExact(maxDepth: Int) {
        let limits = MessageLimits(maxDepth: maxDepth)
        let within = MessageParser.parse(Self.nestedMultiparts(maxDepth), limits: limits)
        #expect(within.truncated == false)
        let beyond = MessageParser.parse(Self.nestedMultiparts(maxDepth + 1), limits: limits)
        #expect(beyond.truncated == true)
    }

    @Test func deepMessageNestingStopsAtTheLimit() {
        let bytes =
            Array(String(repeating: "Content-Type: message/rfc822\n\n", count: 10_000).utf8)
            + Array("Subject: bottom\n\nx\n".utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.truncated)
        var depth = 0
        var node = message.body
        while let inner = node.embeddedBody {
            depth += 1
            node = inner
        }
        #expect(depth == MessageLimits.defaultMaxDepth)
    }

    @Test func partLimit() {
        var text = "Content-Type: multipart/mixed; boundary=b\n\n"
        for index in 0..<50 { text += "--b\n\npart \(index)\n" }
        text += "--b--\n"
        let limited = MessageParser.parse(Array(text.utf8), limits: MessageLimits(maxParts: 10))
        #expect(limited.truncated)
        #expect(limited.body.children.count == 9)
        let unlimited = MessageParser.parse(Array(text.utf8))
        #expect(unlimited.truncated == false)
        #expect(unlimited.body.children.count == 50)
    }

    @Test func headerFieldLimit() {
        let header = String(repeating: "X-A: 1\n", count: 20) + "Subject: late\n\nbody"
        let limited = MessageParser.parse(Array(header.utf8), limits: MessageLimits(maxHeaderFields: 10))
        #expect(limited.truncated)
        #expect(limited.envelope.subject == nil)
        #expect(Fixtures.text(Array(header.utf8), limited.bodyRange) == "body")
    }

    @Test func fiveMegabyteSingleLineHeader() {
        let long = [UInt8](repeating: UInt8(ascii: "a"), count: 5 * 1024 * 1024)
        let bytes = Array("Subject: ".utf8) + long + Array("\r\nTo: x@y\r\n\r\nbody".utf8)
        let message = MessageParser.parse(bytes)
        #expect(message.truncated)
        #expect(message.envelope.subject?.utf8.count == MessageLimits.defaultMaxHeaderLineBytes - 1)
        #expect(message.envelope.to.first?.address == "x@y")
        #expect(Fixtures.text(bytes, message.bodyRange) == "body")
    }

    /// A 50 MB base64 attachment: the scan must stay linear (the release-build budget is well
    /// under a second; this debug-build bound only catches quadratic behaviour).
    @Test func largeAttachmentParsesQuickly() {
        let line = Array(String(repeating: "QUJD", count: 19).utf8) + [13, 10]
        var bytes = Array(
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
                .utf8)
        let lines = 50 * 1024 * 1024 / line.count
        bytes.reserveCapacity(bytes.count + lines * line.count + 16)
        for _ in 0..<lines { bytes += line }
        bytes += Array("--b--\r\n".utf8)
        let clock = ContinuousClock()
        var message: ParsedMessage?
        let elapsed = clock.measure { message = MessageParser.parse(bytes) }
        #expect(elapsed < .seconds(20))
        #expect(message?.part(at: [2])?.size == lines * line.count - 2)
    }

    /// SplitMix64, so the random inputs are the same on every run.
    struct SeededGenerator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// Random bytes drawn mostly from the MIME alphabet so they reach the deep paths.
    @Test(arguments: 0..<300)
    func randomBuffers(seed: Int) throws {
        var generator = SeededGenerator(state: UInt64(seed))
        let alphabet = Array("-\r\n:;=\"<>@(),. \tabB?Q_".utf8)
        let fragments = [
            "Content-Type: multipart/mixed; boundary=b\n", "Content-Type: message/rfc822\n", "--b\n", "--b--\n",
            "\n", "From: =?utf-8?B?w6k=?= <a@b>, g: c@d;\n", "name*0*=utf-8''%C3%A9; ", "Subject: x\r\n",
        ].map { Array($0.utf8) }
        var bytes: [UInt8] = []
        let length = Int.random(in: 0..<2000, using: &generator)
        while bytes.count < length {
            switch Int.random(in: 0..<10, using: &generator) {
            case 0..<3: bytes += fragments.randomElement(using: &generator)!
            case 3..<7: bytes.append(alphabet.randomElement(using: &generator)!)
            default: bytes.append(UInt8.random(in: 0...255, using: &generator))
            }
        }
        let message = MessageParser.parse(bytes, limits: MessageLimits(maxDepth: 8, maxParts: 100))
        #expect(message.body.end == bytes.count)
        _ = message.envelope.decodedSubject
        _ = try JSONEncoder().encode(message)
        let text = String(decoding: bytes, as: UTF8.self)
        _ = AddressParser.parse(text)
        _ = EncodedWord.decode(text)
        _ = ContentType.parse(text)
        _ = MessageDate.parse(text)
        _ = TransferDecoding.quotedPrintable(bytes)
        _ = TransferDecoding.base64(bytes)
    }
}
