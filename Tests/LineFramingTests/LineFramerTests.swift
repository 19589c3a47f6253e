import LineFraming
import NIOCore
import Testing

/// One framing case: the input, the terminator and limit, and the frames it must give.
struct FramingCase: Sendable, CustomStringConvertible {
    let name: String
    let terminator: LineFramer.Terminator
    let limit: Int
    let input: [UInt8]
    /// Lines as text, `<too long>` for `.lineTooLong`, and `<partial n>` last for the n bytes of
    /// an unfinished line still buffered.
    let expected: [String]

    init(_ name: String, _ terminator: LineFramer.Terminator = .crlf, limit: Int, _ input: String, _ expected: [String]) {
        self.name = name
        self.terminator = terminator
        self.limit = limit
        self.input = Array(input.utf8)
        self.expected = expected
    }

    var description: String { name }
}

/// Frames `input` delivered in the pieces that `cuts` marks, draining every frame after each read,
/// as a gateway does. Returns the frames and the most bytes left buffered after a read.
func frames(_ input: [UInt8], _ terminator: LineFramer.Terminator, limit: Int, cuts: [Int]) -> ([String], Int) {
    var framer = LineFramer(terminator: terminator, maximumLineLength: limit)
    var buffer = ByteBuffer()
    var result: [String] = []
    var maxBuffered = 0
    var start = 0
    for end in cuts + [input.count] where end >= start {
        buffer.writeBytes(input[start..<end])
        start = end
        while let frame = framer.next(from: &buffer) {
            switch frame {
            case .line(let line): result.append(String(buffer: line))
            case .lineTooLong: result.append("<too long>")
            }
        }
        maxBuffered = max(maxBuffered, buffer.readableBytes)
        if buffer.readerIndex > 1024 { buffer.discardReadBytes() }
    }
    if buffer.readableBytes > 0 { result.append("<partial \(buffer.readableBytes)>") }
    return (result, maxBuffered)
}

@Suite struct LineFramerTests {
    static let x253 = String(repeating: "x", count: 253)
    static let x510 = String(repeating: "x", count: 510)
    static let z10 = String(repeating: "z", count: 10)

    /// The cases of the three framers this one replaced (SMTP's at 512, POP3's at 255, the RPC's
    /// LF lines), under the one policy: a line over the limit is reported once, at its end.
    static let cases: [FramingCase] = [
        // SMTP command lines (RFC 5321 §4.5.3.1.4: 512 octets with the CRLF).
        FramingCase("one command", limit: 512, "NOOP\r\n", ["NOOP"]),
        FramingCase("two commands", limit: 512, "NOOP\r\nQUIT\r\n", ["NOOP", "QUIT"]),
        FramingCase("bare LF ends a line", limit: 512, "NOOP\nQUIT\n", ["NOOP", "QUIT"]),
        FramingCase("empty line", limit: 512, "\r\n", [""]),
        FramingCase("CR inside a line stays", limit: 512, "NO\rOP\r\n", ["NO\rOP"]),
        FramingCase("unfinished line", limit: 512, "NOOP", ["<partial 4>"]),
        FramingCase("CR LF split across reads", limit: 512, "NOOP\r", ["<partial 5>"]),
        FramingCase("at the limit", limit: 512, x510 + "\r\n", [x510]),
        FramingCase("one over, then a good line", limit: 512, x510 + "y\r\nQUIT\r\n", ["<too long>", "QUIT"]),
        // A bare LF counts as CRLF, so this line is one over as it would be with CRLF.
        FramingCase("one over with a bare LF", limit: 512, x510 + "y\n", ["<too long>"]),
        FramingCase("two over with a bare LF", limit: 512, x510 + "yy\n", ["<too long>"]),
        FramingCase(
            "far over, then a good line", limit: 512, String(repeating: "z", count: 5000) + "\r\nNOOP\r\n",
            ["<too long>", "NOOP"]),
        // POP3 command lines (RFC 2449 §4: 255 octets with the CRLF).
        FramingCase("POP3 command", limit: 255, "STAT\r\n", ["STAT"]),
        FramingCase("POP3 bare LF", limit: 255, "STAT\n", ["STAT"]),
        FramingCase(
            "POP3 pipelined", limit: 255, "USER a\r\nPASS b c\r\nSTAT\n", ["USER a", "PASS b c", "STAT"]),
        FramingCase("POP3 lone CR", limit: 255, "a\rb\r\n", ["a\rb"]),
        FramingCase("POP3 at the limit", limit: 255, x253 + "\r\nSTAT\r\n", [x253, "STAT"]),
        FramingCase("POP3 at the limit, bare LF", limit: 255, x253 + "\nSTAT\r\n", [x253, "STAT"]),
        FramingCase("POP3 one over", limit: 255, x253 + "x\r\nSTAT\r\n", ["<too long>", "STAT"]),
        FramingCase("POP3 one over, bare LF", limit: 255, x253 + "x\nSTAT\r\n", ["<too long>", "STAT"]),
        FramingCase(
            "POP3 far over", limit: 255, String(repeating: "x", count: 1000) + "\r\nSTAT\r\n", ["<too long>", "STAT"]),
        // Over the limit and unfinished: nothing kept, reported once its end arrives.
        FramingCase("over and unfinished", limit: 255, String(repeating: "x", count: 1000), []),
        // SASL responses may be longer than commands (RFC 4954 §4, RFC 5034 §4: 12288 octets).
        FramingCase(
            "SASL response line", limit: 12_288, String(repeating: "Q", count: 4000) + "\r\n",
            [String(repeating: "Q", count: 4000)]),
        FramingCase(
            "SASL response at the limit", limit: 12_288, String(repeating: "A", count: 12_286) + "\r\n",
            [String(repeating: "A", count: 12_286)]),
        FramingCase(
            "SASL response one over", limit: 12_288, String(repeating: "A", count: 12_287) + "\r\n", ["<too long>"]),
        // The RPC's LF lines: a CR before the LF is dropped but counted.
        FramingCase(
            "JSON lines", .lf, limit: 101, "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\"",
            ["{\"a\":1}", "{\"b\":2}", "", "<partial 4>"]),
        FramingCase("JSON at the limit", .lf, limit: 11, z10 + "\n", [z10]),
        FramingCase("JSON one over", .lf, limit: 11, z10 + "z\n", ["<too long>"]),
        FramingCase("JSON one over with CR", .lf, limit: 11, z10 + "\r\n", ["<too long>"]),
        FramingCase(
            "JSON far over, then a good line", .lf, limit: 11, String(repeating: "y", count: 50) + "\nok\n",
            ["<too long>", "ok"]),
    ]

    @Test(arguments: cases)
    func wholeInEverySplitAndByteByByte(_ fixture: FramingCase) {
        let input = fixture.input
        let whole = frames(input, fixture.terminator, limit: fixture.limit, cuts: [])
        #expect(whole.0 == fixture.expected, "whole")
        #expect(whole.1 < fixture.limit, "whole")
        let bytewise = frames(input, fixture.terminator, limit: fixture.limit, cuts: Array(0..<input.count))
        #expect(bytewise.0 == fixture.expected, "one byte at a time")
        #expect(bytewise.1 < fixture.limit, "one byte at a time")
        for chunk in [2, 3, 7, 64] {
            let cuts = Array(stride(from: chunk, to: input.count, by: chunk))
            #expect(frames(input, fixture.terminator, limit: fixture.limit, cuts: cuts).0 == fixture.expected, "\(chunk)")
        }
        // Every split into two reads; long inputs every 97th split, to keep the run short.
        let step = input.count > 1000 ? 97 : 1
        for cut in stride(from: 1, to: input.count, by: step) {
            #expect(
                frames(input, fixture.terminator, limit: fixture.limit, cuts: [cut]).0 == fixture.expected, "split \(cut)")
        }
    }

    @Test func neverBuffersAnOverLongLine() {
        var framer = LineFramer(maximumLineLength: 512)
        var pending = ByteBuffer()
        for _ in 0..<1000 {
            pending.writeBytes([UInt8](repeating: 65, count: 1000))
            #expect(framer.next(from: &pending) == nil)
            #expect(pending.readableBytes < 512)
            pending.discardReadBytes()
        }
        #expect(framer.isDiscarding)
        pending.writeString("tail\r\nQUIT\r\n")
        #expect(framer.next(from: &pending) == .lineTooLong)
        #expect(!framer.isDiscarding)
        #expect(framer.next(from: &pending) == .line(ByteBuffer(string: "QUIT")))
    }

    /// The limit may change between lines: SMTP and POP3 raise it for SASL responses.
    @Test func limitChangesBetweenLines() {
        let long = String(repeating: "A", count: 4000)
        var framer = LineFramer(maximumLineLength: 255)
        var buffer = ByteBuffer(string: "AUTH PLAIN\r\n" + long + "\r\n" + long + "\r\nNOOP\r\n")
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: "AUTH PLAIN")))
        framer.maximumLineLength = 12_288
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: long)))
        framer.maximumLineLength = 255
        #expect(framer.next(from: &buffer) == .lineTooLong)
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: "NOOP")))
        #expect(framer.next(from: &buffer) == nil)
    }

    /// RFC 2595 §4, RFC 3207 §5: after STLS or STARTTLS the gateway drops what the client sent
    /// ahead of the handshake, including the state of an over-long line.
    @Test func discardBufferedDropsPipelinedInput() {
        var framer = LineFramer(maximumLineLength: 255)
        var buffer = ByteBuffer(string: "STLS\r\nUSER evil\r\nPASS x")
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: "STLS")))
        framer.discardBuffered(&buffer)
        #expect(buffer.readableBytes == 0)
        #expect(framer.next(from: &buffer) == nil)
        buffer.writeString("CAPA\r\n")
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: "CAPA")))

        buffer.writeString(String(repeating: "x", count: 300))
        #expect(framer.next(from: &buffer) == nil)
        #expect(framer.isDiscarding)
        framer.discardBuffered(&buffer)
        buffer.writeString("CAPA\r\n")
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: "CAPA")))
    }

    @Test func invalidUTF8PassesThroughToTheParser() {
        var framer = LineFramer(terminator: .lf, maximumLineLength: 11)
        var buffer = ByteBuffer(bytes: [0xFF, 0xFE, 0x0A])
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(bytes: [0xFF, 0xFE])))
    }
}
