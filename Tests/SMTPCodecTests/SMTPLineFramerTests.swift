import NIOCore
import Testing

@testable import SMTPCodec

/// Frames `input` fed in pieces of `step` bytes, returning the frames (lines as text).
private func frames(_ input: [UInt8], limit: Int, step: Int) -> (frames: [String], buffered: Int) {
    var framer = SMTPLineFramer()
    var pending = ByteBuffer()
    var result: [String] = []
    var maxBuffered = 0
    var offset = 0
    while offset < input.count {
        let end = min(offset + step, input.count)
        pending.writeBytes(input[offset..<end])
        offset = end
        maxBuffered = max(maxBuffered, pending.readableBytes)
        while let frame = framer.next(from: &pending, limit: limit) {
            switch frame {
            case .line(let line): result.append(line.text)
            case .tooLong: result.append("<too long>")
            }
        }
    }
    if pending.readableBytes > 0 { result.append("<partial \(pending.readableBytes)>") }
    return (result, maxBuffered)
}

struct SMTPLineFramerTests {
    static let x510 = String(repeating: "x", count: 510)

    static let fixtures: [(String, [String])] = [
        ("NOOP\r\n", ["NOOP"]),
        ("NOOP\r\nQUIT\r\n", ["NOOP", "QUIT"]),
        ("NOOP\nQUIT\n", ["NOOP", "QUIT"]),
        ("\r\n", [""]),
        ("NO\rOP\r\n", ["NO\rOP"]),
        ("NOOP", ["<partial 4>"]),
        (x510 + "\r\n", [x510]),
        (x510 + "y\r\nQUIT\r\n", ["<too long>", "QUIT"]),
        (x510 + "y\n", [x510 + "y"]),
        (x510 + "yy\n", ["<too long>"]),
        (String(repeating: "z", count: 5000) + "\r\nNOOP\r\n", ["<too long>", "NOOP"]),
    ]

    @Test(arguments: fixtures)
    func framesWholeAndByteByByte(input: String, expected: [String]) {
        let bytes = Array(input.utf8)
        #expect(frames(bytes, limit: SMTPLimits.commandLine, step: bytes.count).frames == expected)
        #expect(frames(bytes, limit: SMTPLimits.commandLine, step: 1).frames == expected)
        #expect(frames(bytes, limit: SMTPLimits.commandLine, step: 7).frames == expected)
    }

    @Test func neverBuffersAnOversizedLine() {
        var framer = SMTPLineFramer()
        var pending = ByteBuffer()
        for _ in 0..<1000 {
            pending.writeBytes([UInt8](repeating: 65, count: 1000))
            #expect(framer.next(from: &pending, limit: 512) == nil)
            #expect(pending.readableBytes < 512)
        }
        #expect(framer.isDiscarding)
        pending.writeString("tail\r\nQUIT\r\n")
        #expect(framer.next(from: &pending, limit: 512) == .tooLong)
        #expect(framer.next(from: &pending, limit: 512) == .line(buffer("QUIT")))
    }

    @Test func authenticationLinesHaveTheirOwnLimit() {
        let line = String(repeating: "A", count: SMTPLimits.authenticationLine - 2)
        #expect(frames(Array((line + "\r\n").utf8), limit: SMTPLimits.authenticationLine, step: 100).frames == [line])
        #expect(
            frames(Array((line + "A\r\n").utf8), limit: SMTPLimits.authenticationLine, step: 100).frames == ["<too long>"])
    }
}
