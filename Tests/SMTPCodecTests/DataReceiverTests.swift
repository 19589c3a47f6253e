import NIOCore
import Testing

@testable import SMTPCodec

/// The result of feeding a DATA body: chunks, outcome and what was left unconsumed.
private struct Run: Equatable {
    var chunks: [[UInt8]] = []
    var outcome: DataReceiver.Outcome?
    var rest = ""

    var message: String { String(decoding: chunks.joined(), as: UTF8.self) }
}

private func run(_ input: [UInt8], _ configuration: DataReceiver.Configuration, step: Int) -> Run {
    var receiver = DataReceiver(configuration: configuration)
    var result = Run()
    var pending = ByteBuffer()
    var offset = 0
    while offset < input.count {
        let end = min(offset + step, input.count)
        pending.writeBytes(input[offset..<end])
        offset = end
        for event in receiver.receive(&pending) {
            switch event {
            case .chunk(let chunk):
                #expect(chunk.readableBytes <= configuration.flushThreshold)
                result.chunks.append(Array(chunk.readableBytesView))
            case .finished(let outcome):
                #expect(result.outcome == nil)
                result.outcome = outcome
            }
        }
    }
    result.rest = pending.text
    return result
}

/// Feeds whole, one byte at a time and in odd pieces; all three must agree exactly.
private func runAllWays(_ input: String, _ configuration: DataReceiver.Configuration = .init()) -> Run {
    let bytes = Array(input.utf8)
    let whole = run(bytes, configuration, step: max(1, bytes.count))
    #expect(run(bytes, configuration, step: 1) == whole)
    #expect(run(bytes, configuration, step: 3) == whole)
    return whole
}

struct DataReceiverTests {
    /// (input, message, rest): well-formed bodies.
    static let wellFormed: [(String, String, String)] = [
        (".\r\n", "", ""),
        ("\r\n.\r\n", "\r\n", ""),
        ("Subject: hi\r\n\r\nbody\r\n.\r\n", "Subject: hi\r\n\r\nbody\r\n", ""),
        ("a\r\n..\r\n.\r\n", "a\r\n.\r\n", ""),
        ("..leading\r\n.\r\n", ".leading\r\n", ""),
        ("...\r\n.\r\n", "..\r\n", ""),
        (".unstuffed anyway\r\n.\r\n", "unstuffed anyway\r\n", ""),
        ("a\r\n.\r\nQUIT\r\n", "a\r\n", "QUIT\r\n"),
        ("a.\r\n.b\r\n .\r\n.\r\n", "a.\r\nb\r\n .\r\n", ""),
        ("a\r\n.\r\n.\r\n", "a\r\n", ".\r\n"),
    ]

    @Test(arguments: wellFormed)
    func unstuffsAndEnds(input: String, message: String, rest: String) throws {
        let result = runAllWays(input)
        let outcome = try #require(result.outcome)
        #expect(result.message == message)
        #expect(result.rest == rest)
        #expect(outcome.size == message.utf8.count)
        #expect(outcome.rejection == nil)
        #expect(!outcome.sawBareLineEnding)
    }

    /// SMTP smuggling inputs: none of these may end the message. Each is followed by a smuggled
    /// command and then the real terminator, so the receiver must swallow the smuggled part.
    static let smuggling: [String] = [
        "a\n.\nMAIL FROM:<evil@x>\r\n.\r\n",
        "a\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n",
        "a\r\n.\nMAIL FROM:<evil@x>\r\n.\r\n",
        "a\r.\rMAIL FROM:<evil@x>\r\n.\r\n",
        "a\r.\r\nMAIL FROM:<evil@x>\r\n.\r\n",
        "a\r\n.\rMAIL FROM:<evil@x>\r\n.\r\n",
        "a\r\n.\r\rMAIL FROM:<evil@x>\r\n.\r\n",
        "a\n\r\n.\n\r\nMAIL FROM:<evil@x>\r\n.\r\n",
        "\n.\r\nMAIL FROM:<evil@x>\r\n.\r\n",
        "a\r\r\n.\r\r\nMAIL FROM:<evil@x>\r\n.\r\n",
    ]

    @Test(arguments: smuggling)
    func smugglingNeverEndsTheMessage(input: String) throws {
        let rejected = runAllWays(input + "QUIT\r\n")
        let outcome = try #require(rejected.outcome)
        #expect(rejected.rest == "QUIT\r\n")
        #expect(outcome.sawBareLineEnding)
        #expect(outcome.rejection == .bareLineEndingRejected)
        #expect(outcome.rejection?.code == 550)
        #expect(rejected.chunks.isEmpty)

        let normalized = runAllWays(input + "QUIT\r\n", .init(bareLineEndings: .normalize))
        #expect(normalized.rest == "QUIT\r\n")
        #expect(normalized.outcome?.rejection == nil)
        #expect(normalized.message.contains("MAIL FROM:<evil@x>\r\n"))
        // Normalised content holds no bare CR or LF.
        let bytes = Array(normalized.message.utf8)
        for (index, byte) in bytes.enumerated() where byte == 10 { #expect(index > 0 && bytes[index - 1] == 13) }
        for (index, byte) in bytes.enumerated() where byte == 13 { #expect(index + 1 < bytes.count && bytes[index + 1] == 10) }
    }

    @Test(arguments: [
        ("a\nb\r\n.\r\n", "a\r\nb\r\n"), ("a\rb\r\n.\r\n", "a\r\nb\r\n"), ("a\n..b\r\n.\r\n", "a\r\n.b\r\n"),
        ("x\r\n.\n.\r\n.\r\n", "x\r\n.\r\n.\r\n"),
    ])
    func normalisesBareLineEndings(input: String, message: String) {
        let result = runAllWays(input, .init(bareLineEndings: .normalize))
        #expect(result.message == message)
        #expect(result.outcome?.sawBareLineEnding == true)
        #expect(result.outcome?.size == message.utf8.count)
    }

    @Test func unterminatedMessageNeedsMoreBytes() {
        for input in ["abc", "abc\r\n", "abc\r\n.", "abc\r\n.\r", "abc\n.\n"] {
            #expect(runAllWays(input).outcome == nil)
        }
    }

    @Test(arguments: [(998, false), (999, true)])
    func textLineLimit(length: Int, violates: Bool) throws {
        let line = String(repeating: "x", count: length)
        let accepted = runAllWays(line + "\r\n.\r\n")
        #expect(accepted.outcome?.sawLongLine == violates)
        #expect(accepted.outcome?.rejection == nil)
        #expect(accepted.message == line + "\r\n")
        let strict = runAllWays(line + "\r\n.\r\n", .init(longLines: .reject))
        #expect(strict.outcome?.rejection == (violates ? .lineTooLongInData : nil))
        #expect(strict.outcome?.rejection?.code == (violates ? 500 : nil))
        // The stuffing dot does not count (RFC 5321 §4.5.3.1.6).
        let stuffed = runAllWays(".." + String(repeating: "x", count: length - 1) + "\r\n.\r\n")
        #expect(stuffed.outcome?.sawLongLine == violates)
    }

    /// "12345678\r\n" is 10 octets: exactly at a limit of 10, one over a limit of 9.
    @Test(arguments: [(10, false), (9, true)])
    func sizeLimit(maximum: Int, tooBig: Bool) throws {
        let configuration = DataReceiver.Configuration(maximumSize: maximum, flushThreshold: 4)
        let result = runAllWays("12345678\r\n.\r\nNOOP\r\n", configuration)
        let outcome = try #require(result.outcome)
        #expect(outcome.size == 10)
        #expect(outcome.exceededSize == tooBig)
        #expect(outcome.rejection == (tooBig ? .messageTooBig : nil))
        #expect(result.rest == "NOOP\r\n")
        if !tooBig {
            #expect(result.message == "12345678\r\n")
            #expect(result.chunks.map(\.count) == [4, 4, 2])
        }
    }

    @Test func emptyMessage() {
        let result = runAllWays(".\r\n")
        #expect(result.outcome?.size == 0)
        #expect(result.chunks.isEmpty)
    }

    @Test func chunkBoundariesDoNotDependOnTheWire() {
        var body = ""
        for index in 0..<3000 { body += (index % 7 == 0 ? "." : "") + "line \(index) of the message\r\n" }
        let configuration = DataReceiver.Configuration(flushThreshold: 1000)
        let result = runAllWays(body + ".\r\n", configuration)
        #expect(result.chunks.dropLast().allSatisfy { $0.count == 1000 })
        #expect(result.outcome?.size == result.chunks.joined().count)
    }

    /// A 50 MB message over a 1 MB limit: nothing is kept, everything is consumed.
    @Test func skipsAnOversizedMessageToItsEnd() throws {
        var receiver = DataReceiver(configuration: .init(maximumSize: 1 << 20))
        let line = ByteBuffer(string: String(repeating: "y", count: 998) + "\r\n")
        var kept = 0
        var outcome: DataReceiver.Outcome?
        var block = ByteBuffer()
        for _ in 0..<1000 { block.writeImmutableBuffer(line) }
        for _ in 0..<50 {
            var piece = block
            for event in receiver.receive(&piece) {
                if case .chunk(let chunk) = event { kept += chunk.readableBytes }
            }
            #expect(piece.readableBytes == 0)
        }
        var end = buffer(".\r\n")
        for event in receiver.receive(&end) {
            if case .finished(let finished) = event { outcome = finished }
        }
        let result = try #require(outcome)
        #expect(result.size == 50 * 1000 * 1000)
        #expect(result.rejection == .messageTooBig)
        #expect(kept <= 1 << 20)
    }
}

struct BDATReceiverTests {
    private func run(
        _ input: String, size: Int, last: Bool, already: Int = 0, maximum: Int = 100, step: Int
    )
        -> (chunks: [String], outcome: BDATReceiver.Outcome?, rest: String)
    {
        var receiver = BDATReceiver(
            chunkSize: size, last: last, alreadyReceived: already, maximumSize: maximum, flushThreshold: 4)
        var chunks: [String] = []
        var outcome: BDATReceiver.Outcome?
        var pending = ByteBuffer()
        let bytes = Array(input.utf8)
        var offset = 0
        repeat {
            let end = min(offset + step, bytes.count)
            pending.writeBytes(bytes[offset..<end])
            offset = end
            for event in receiver.receive(&pending) {
                switch event {
                case .chunk(let chunk): chunks.append(chunk.text)
                case .finished(let finished): outcome = finished
                }
            }
        } while offset < bytes.count
        return (chunks, outcome, pending.text)
    }

    @Test(arguments: [1, 2, 100])
    func takesExactlyTheChunk(step: Int) {
        let result = run("a\r\n.\r\n\nbcQUIT\r\n", size: 9, last: false, step: step)
        #expect(result.chunks == ["a\r\n.", "\r\n\nb", "c"])
        #expect(result.outcome == .init(chunkSize: 9, last: false, messageSize: 9, exceededSize: false))
        #expect(result.rest == "QUIT\r\n")
    }

    @Test func zeroSizeLastChunk() {
        let result = run("", size: 0, last: true, already: 42, step: 1)
        #expect(result.chunks.isEmpty)
        #expect(result.outcome == .init(chunkSize: 0, last: true, messageSize: 42, exceededSize: false))
    }

    @Test(arguments: [(10, false), (11, true)])
    func sizeLimitAcrossChunks(chunk: Int, tooBig: Bool) {
        let result = run(String(repeating: "z", count: chunk) + "NOOP", size: chunk, last: true, already: 90, step: 3)
        #expect(result.outcome?.exceededSize == tooBig)
        #expect(result.rest == "NOOP")
        if !tooBig { #expect(result.chunks.joined().count == chunk) }
    }
}
