import LineFraming
import NIOCore
import POP3Codec

#if canImport(Glibc)
    import Glibc
#endif

/// libFuzzer entry point: the input is a client's byte stream, cut into reads whose sizes come
/// from the first byte, framed by `LineFramer` and fed to a `POP3Session` whose back-end
/// answers alternate between yes and no, either at once or one read later (the gateway feeds
/// pipelined lines while a back-end call is in flight). The session must never crash; what it
/// writes of a message must be the message dot-stuffed, ending in the one terminating
/// CRLF "." CRLF; every line also goes through the command parser, the whole input through the
/// message encoder with and without TOP.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let input = bytes.dropFirst()
    let step = Int(first % 32) + 1
    let deferAnswers = first & 0x20 != 0

    let configuration = POP3SessionConfiguration(
        greetingTimestamp: "<1.2@fuzz.test>", tlsActive: first & 0x40 != 0, stlsAvailable: true,
        plaintextAllowed: first & 0x80 != 0, saslMechanisms: [.plain, .login, .cramMD5, .scramSHA256])
    // The messages the simulated maildrop holds: pieces of the input itself.
    let message = ByteBuffer(bytes: input.prefix(300))
    let maildrop = [
        POP3MaildropEntry(uid: "1.1", size: message.readableBytes), POP3MaildropEntry(uid: "1.2", size: 0),
        POP3MaildropEntry(uid: "1.3", size: 7),
    ]

    var session = POP3Session()
    var framer = LineFramer(maximumLineLength: POP3Command.maximumLineLength)
    var inbound = ByteBuffer()
    var pending = session.receive(.opened(configuration))[...]
    var later: [POP3Event] = []
    var answer = false
    var index = input.startIndex
    var closed = false
    while !closed {
        while let action = pending.popFirst() {
            answer.toggle()
            var events: [POP3Event] = []
            switch action {
            case .send, .write, .releaseMaildrop, .reportError, .saslAbort: break
            case .close: closed = true
            case .startTLS: events = [.tlsEstablished]
            case .authenticate(let credentials):
                let user: String =
                    switch credentials {
                    case .password(let user, _, _), .apop(let user, _, _), .cramMD5(let user, _, _): user
                    }
                events = [answer ? .authSucceeded(user: user, saslFinal: nil) : .authFailed(.invalidCredentials)]
            case .saslStart:
                events = [
                    answer ? .saslChallenge(ByteBuffer(string: "r=abc,s=c2FsdA==,i=4096")) : .authFailed(.throttled(retryAfterSeconds: 3))
                ]
            case .saslContinue:
                events = [answer ? .authSucceeded(user: "u", saslFinal: ByteBuffer(string: "v=x")) : .authFailed(.invalidCredentials)]
            case .acquireMaildrop: events = [answer ? .maildropLoaded(maildrop) : .maildropInUse]
            case .fetchMessage(let uid, _):
                if answer || uid != "1.1" {
                    events = [.messageChunk(uid == "1.1" ? message : ByteBuffer(string: ".\r\nx\r")), .messageEnd]
                } else {
                    events = [.messageFailed]
                }
            case .commitDeletions: events = [answer ? .updateCommitted : .updateFailed]
            }
            if deferAnswers { later += events } else { for event in events { pending.append(contentsOf: session.receive(event)) } }
        }
        if closed { break }
        if !later.isEmpty {
            let event = later.removeFirst()
            pending.append(contentsOf: session.receive(event))
            continue
        }
        guard index < input.endIndex else { break }
        let end = min(index + step, input.endIndex)
        inbound.writeBytes(input[index..<end])
        index = end
        framer.maximumLineLength = session.maximumLineLength
        while let outcome = framer.next(from: &inbound) {
            switch outcome {
            case .line(let line): pending.append(contentsOf: session.receive(.line(line)))
            case .lineTooLong: pending.append(contentsOf: session.receive(.lineTooLong))
            }
            framer.maximumLineLength = session.maximumLineLength
        }
    }
    _ = session.receive(.peerClosed)

    var lineBuffer = ByteBuffer(bytes: input)
    var lines = LineFramer(maximumLineLength: 12 * 1024)
    while let outcome = lines.next(from: &lineBuffer) {
        if case .line(let line) = outcome { _ = try? POP3Command.parse(line, maximumLineLength: 12 * 1024) }
    }

    // The multi-line encoding: nothing but the terminator may be a line of one ".".
    for topLines in [nil, Int(first % 4)] {
        var encoder = POP3MessageEncoder(topLines: topLines)
        var output = ByteBuffer()
        var rest = input[...]
        while !rest.isEmpty {
            let n = min(step, rest.count)
            encoder.encode(ByteBuffer(bytes: rest.prefix(n)), into: &output)
            rest = rest.dropFirst(n)
        }
        encoder.finish(into: &output)
        let text = Array(output.readableBytesView)
        precondition(text.count >= 3 && Array(text.suffix(3)) == Array(".\r\n".utf8), "no terminator")
        var lineStart = 0
        for i in text.indices where text[i] == UInt8(ascii: "\n") {
            precondition(i > 0 && text[i - 1] == UInt8(ascii: "\r"), "bare LF in output")
            let line = text[lineStart..<(i - 1)]
            if line == [UInt8(ascii: ".")] { precondition(i == text.count - 1, "terminator before the end") }
            lineStart = i + 1
        }
        for i in text.indices where text[i] == UInt8(ascii: "\r") {
            precondition(i + 1 < text.count && text[i + 1] == UInt8(ascii: "\n"), "bare CR in output")
        }
        if topLines == nil { precondition(text.count >= input.count + 3, "bytes lost") }
    }
    return 0
}

// SwiftPM binds an executable target's `main` to this file's top-level code, so libFuzzer's
// own `main` is never used: hand the command line to libFuzzer's driver (as SMTPCodecFuzz does).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

var argumentCount = CommandLine.argc
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argumentCount, &arguments) { data, size in fuzz(data, size) })
