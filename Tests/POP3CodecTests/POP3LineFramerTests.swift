import NIOCore
import POP3Codec
import Testing

@Suite struct POP3LineFramerTests {
    /// Frames `input` delivered in the given chunk size; nil for oversize lines.
    static func frame(_ input: String, chunkSize: Int, limit: Int = 255) -> (lines: [String?], maxBuffered: Int) {
        var framer = POP3LineFramer(maximumLineLength: limit)
        var buffer = ByteBuffer()
        var lines: [String?] = []
        var maxBuffered = 0
        let bytes = Array(input.utf8)
        var index = 0
        while index < bytes.count {
            buffer.writeBytes(bytes[index..<min(index + chunkSize, bytes.count)])
            index += chunkSize
            while let outcome = framer.next(from: &buffer) {
                switch outcome {
                case .line(let line): lines.append(String(buffer: line))
                case .lineTooLong: lines.append(nil)
                }
            }
            maxBuffered = max(maxBuffered, buffer.readableBytes)
        }
        return (lines, maxBuffered)
    }

    static let fixtures: [(String, [String?])] = [
        ("STAT\r\n", ["STAT"]),
        ("STAT\n", ["STAT"]),
        ("USER a\r\nPASS b c\r\nSTAT\n", ["USER a", "PASS b c", "STAT"]),
        ("\r\n", [""]),
        ("NOOP", []),
        ("NOOP\r", []),
        ("a\rb\r\n", ["a\rb"]),
        ("\(String(repeating: "x", count: 253))\r\nSTAT\r\n", [String(repeating: "x", count: 253), "STAT"]),
        ("\(String(repeating: "x", count: 253))\nSTAT\r\n", [String(repeating: "x", count: 253), "STAT"]),
        ("\(String(repeating: "x", count: 254))\r\nSTAT\r\n", [nil, "STAT"]),
        ("\(String(repeating: "x", count: 254))\nSTAT\r\n", [nil, "STAT"]),
        ("\(String(repeating: "x", count: 1000))\r\nSTAT\r\n", [nil, "STAT"]),
        ("\(String(repeating: "x", count: 1000))", [nil]),
    ]

    @Test(arguments: fixtures)
    func framesWholeAndByteByByte(input: String, expected: [String?]) {
        for chunkSize in [1, 2, 7, 64, 4096] {
            let result = Self.frame(input, chunkSize: chunkSize)
            #expect(result.lines == expected, "chunk size \(chunkSize)")
            #expect(result.maxBuffered <= 255)
        }
    }

    @Test func oversizeLineNeverBuffersMoreThanTheLimit() {
        let result = Self.frame(String(repeating: "A", count: 100_000) + "\r\nQUIT\r\n", chunkSize: 1000, limit: 255)
        #expect(result.lines == [nil, "QUIT"])
        #expect(result.maxBuffered <= 1000 + 255)
    }

    @Test func largerLimitForSASLResponses() {
        let response = String(repeating: "Q", count: 4000)
        #expect(Self.frame(response + "\r\n", chunkSize: 512, limit: 12_288).lines == [response])
        #expect(Self.frame(response + "\r\n", chunkSize: 512, limit: 255).lines == [nil])
    }

    /// RFC 2595 §4: after STLS the gateway drops what the client sent ahead of the handshake.
    @Test func discardBufferedDropsPipelinedInput() {
        var framer = POP3LineFramer()
        var buffer = ByteBuffer(string: "STLS\r\nUSER evil\r\nPASS x")
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: "STLS")))
        framer.discardBuffered(&buffer)
        #expect(buffer.readableBytes == 0)
        #expect(framer.next(from: &buffer) == nil)
        buffer.writeString("CAPA\r\n")
        #expect(framer.next(from: &buffer) == .line(ByteBuffer(string: "CAPA")))
    }
}
