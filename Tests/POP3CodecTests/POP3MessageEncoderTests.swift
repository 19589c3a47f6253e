import NIOCore
import POP3Codec
import Testing

/// Encodes `input` split into the given chunk sizes (the rest in a last chunk).
func encodeMessage(_ input: [UInt8], topLines: Int? = nil, splits: [Int]) -> String {
    var encoder = POP3MessageEncoder(topLines: topLines)
    var output = ByteBuffer()
    var rest = input[...]
    for split in splits where split <= rest.count {
        encoder.encode(ByteBuffer(bytes: rest.prefix(split)), into: &output)
        rest = rest.dropFirst(split)
    }
    encoder.encode(ByteBuffer(bytes: rest), into: &output)
    encoder.finish(into: &output)
    return String(buffer: output)
}

/// Checks one fixture whole, one byte at a time, and split in two at every position.
func expectEncoding(
    _ input: String, topLines: Int? = nil, _ expected: String, sourceLocation: SourceLocation = #_sourceLocation
) {
    let bytes = Array(input.utf8)
    #expect(encodeMessage(bytes, topLines: topLines, splits: []) == expected, "whole", sourceLocation: sourceLocation)
    let oneByOne = Array(repeating: 1, count: bytes.count)
    #expect(
        encodeMessage(bytes, topLines: topLines, splits: oneByOne) == expected, "bytewise",
        sourceLocation: sourceLocation)
    for position in 0...bytes.count {
        #expect(
            encodeMessage(bytes, topLines: topLines, splits: [position]) == expected, "split at \(position)",
            sourceLocation: sourceLocation)
    }
}

@Suite struct POP3DotStufferTests {
    static let fixtures: [(String, String)] = [
        ("", ".\r\n"),
        ("a", "a\r\n.\r\n"),
        ("a\r\n", "a\r\n.\r\n"),
        ("Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n.\r\n"),
        (".", "..\r\n.\r\n"),
        (".\r\n", "..\r\n.\r\n"),
        ("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"),
        ("..x\r\n", "...x\r\n.\r\n"),
        ("a.b\r\n.c", "a.b\r\n..c\r\n.\r\n"),
        ("bare\nlf\n", "bare\r\nlf\r\n.\r\n"),
        ("x\n.\ny", "x\r\n..\r\ny\r\n.\r\n"),
        ("smuggle\n.\r\nMAIL", "smuggle\r\n..\r\nMAIL\r\n.\r\n"),
        ("cr\r.\r\nend", "cr\r\n..\r\nend\r\n.\r\n"),
        ("trailing cr\r", "trailing cr\r\n.\r\n"),
        ("\r\n\r\n", "\r\n\r\n.\r\n"),
        ("\n", "\r\n.\r\n"),
        ("\r\r\n", "\r\n\r\n.\r\n"),
        ("no final newline", "no final newline\r\n.\r\n"),
        ("utf8 é\r\n.é", "utf8 é\r\n..é\r\n.\r\n"),
    ]

    @Test(arguments: fixtures)
    func stuffsAtEveryChunkBoundary(input: String, expected: String) {
        expectEncoding(input, expected)
    }

    /// Random mixes of the bytes that matter, in random chunks, against a line-by-line model.
    @Test func agreesWithALineModel() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("\r\n.a".utf8)
        for _ in 0..<500 {
            let input = (0..<Int.random(in: 0...40, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            // The model: split into lines at CRLF, bare CR or bare LF; stuff; join with CRLF.
            var lines: [[UInt8]] = [[]]
            var i = 0
            while i < input.count {
                if input[i] == UInt8(ascii: "\r") || input[i] == UInt8(ascii: "\n") {
                    if input[i] == UInt8(ascii: "\r"), i + 1 < input.count, input[i + 1] == UInt8(ascii: "\n") { i += 1 }
                    lines.append([])
                } else {
                    lines[lines.count - 1].append(input[i])
                }
                i += 1
            }
            if lines.last!.isEmpty { lines.removeLast() }
            let expected =
                lines.map { ($0.first == UInt8(ascii: ".") ? [UInt8(ascii: ".")] : []) + $0 + Array("\r\n".utf8) }
                .joined() + Array(".\r\n".utf8)
            var stuffer = POP3DotStuffer()
            var output = ByteBuffer()
            var rest = input[...]
            while !rest.isEmpty {
                let n = Int.random(in: 1...rest.count, using: &generator)
                stuffer.encode(ByteBuffer(bytes: rest.prefix(n)), into: &output)
                rest = rest.dropFirst(n)
            }
            stuffer.finish(into: &output)
            #expect(Array(output.readableBytesView) == Array(expected), "\(input)")
        }
    }

    @Test func stufferAloneMatchesEncoder() {
        var stuffer = POP3DotStuffer()
        var output = ByteBuffer()
        stuffer.encode(ByteBuffer(string: ".a\n"), into: &output)
        stuffer.encode(ByteBuffer(string: ".b"), into: &output)
        stuffer.finish(into: &output)
        #expect(String(buffer: output) == "..a\r\n..b\r\n.\r\n")
    }

    /// Memory stays bounded: each chunk's output is written out at once, nothing is retained.
    @Test func largeMessageStreamsChunkByChunk() {
        var encoder = POP3MessageEncoder()
        let chunk = ByteBuffer(string: String(repeating: ".line of text\n", count: 1000))
        var total = 0
        for _ in 0..<100 {
            var output = ByteBuffer()
            encoder.encode(chunk, into: &output)
            #expect(output.readableBytes == chunk.readableBytes + 2000)
            total += output.readableBytes
        }
        var tail = ByteBuffer()
        encoder.finish(into: &tail)
        #expect(String(buffer: tail) == ".\r\n")
        #expect(total == 100 * (14 + 2) * 1000)
    }
}

@Suite struct POP3TopFilterTests {
    static let message = "From: a\r\nSubject: b\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n"

    static let fixtures: [(String, Int, String)] = [
        (message, 0, "From: a\r\nSubject: b\r\n\r\n.\r\n"),
        (message, 1, "From: a\r\nSubject: b\r\n\r\nline 1\r\n.\r\n"),
        (message, 2, "From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\n.\r\n"),
        (message, 3, "From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n"),
        (message, 50, "From: a\r\nSubject: b\r\n\r\nline 1\r\n..line 2\r\nline 3\r\n.\r\n"),
        ("From: a\nSubject: b\n\nbody 1\nbody 2\n", 1, "From: a\r\nSubject: b\r\n\r\nbody 1\r\n.\r\n"),
        ("From: a\r\n\r\nlast line without end", 5, "From: a\r\n\r\nlast line without end\r\n.\r\n"),
        ("From: a\r\n\r\nlast line without end", 1, "From: a\r\n\r\nlast line without end\r\n.\r\n"),
        ("From: a\r\nonly headers\r\n", 0, "From: a\r\nonly headers\r\n.\r\n"),
        ("From: a\r\nno end", 0, "From: a\r\nno end\r\n.\r\n"),
        ("\r\nbody without headers\r\nsecond\r\n", 1, "\r\nbody without headers\r\n.\r\n"),
        ("\r\nbody\r\n", 0, "\r\n.\r\n"),
        ("H: v\r\n\r\n\r\n\r\nx\r\n", 2, "H: v\r\n\r\n\r\n\r\n.\r\n"),
        ("H: v\r\n\r\nb1\rb2\r\n", 1, "H: v\r\n\r\nb1\r\n.\r\n"),
        ("", 3, ".\r\n"),
    ]

    @Test(arguments: fixtures)
    func cutsAtEveryChunkBoundary(input: String, lines: Int, expected: String) {
        expectEncoding(input, topLines: lines, expected)
    }

    @Test func reportsCompletionSoTheRestCanBeSkipped() {
        var filter = POP3TopFilter(bodyLines: 1)
        #expect(filter.admit(ByteBuffer(string: "H: v\r\n\r\nbody\r\nmore")) == 14)
        #expect(filter.isComplete)
        #expect(filter.admit(ByteBuffer(string: "anything")) == 0)
    }
}
