import NIOCore
import SMTPCodec

#if canImport(Glibc)
    import Glibc
#endif

/// libFuzzer entry point: the input is a client's byte stream, cut into reads whose sizes come
/// from the first byte, fed to an `SMTPSession` whose back-end answers alternate between yes and
/// no. Every line also goes through the command parser, and the whole input through a
/// `DataReceiver`. The session must never crash, must never hand out more message bytes than it
/// received, and a DATA message must end only at CRLF.CRLF.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let input = bytes.dropFirst()
    let step = Int(first % 64) + 1

    var configuration = SMTPSessionConfiguration(
        hostname: "fuzz.test", tlsAvailable: true, authMechanisms: [.plain, .login, .cramMD5],
        plaintextAuthAllowed: first & 0x80 != 0, maximumMessageSize: 4096, maximumRecipients: 5, maximumErrors: 50,
        flushThreshold: 97)
    configuration.verifiesSender = first & 0x40 != 0
    var session = SMTPSession()
    var pending = session.receive(.opened(configuration))[...]
    var answer = false
    var uploaded = 0
    var index = input.startIndex
    while true {
        while let action = pending.popFirst() {
            answer.toggle()
            var event: SMTPEvent?
            switch action {
            case .send, .beginMessage, .abortMessage, .messageRefused, .close: break
            case .pauseGreeting: event = .greetingPauseEnded
            case .appendMessage(let chunk): uploaded += chunk.readableBytes
            case .startTLS: event = answer ? .tlsEstablished : .tlsFailed
            case .checkSender: event = .senderChecked(answer ? .accepted : .rejected(.unknownRecipient))
            case .checkRecipient: event = .recipientChecked(answer ? .accepted : .rejected(.unknownRecipient))
            case .issueChallenge: event = .challengeIssued("<1.2@fuzz.test>")
            case .relaySASL(_, _, let first):
                event = .saslStepped(
                    first
                        ? .challenge(Array("r=abc,s=c2FsdA==,i=4096".utf8))
                        : answer ? .succeeded(identity: "u", final: [118, 61]) : .failed(.authenticationFailed))
            case .authenticate: event = .authenticationFinished(answer ? .succeeded(identity: "u") : .failed(.authenticationFailed))
            case .commitMessage:
                event = .messageCommitted(answer ? .committed(queueID: "Q", recipients: [.delivered]) : .failed(.localError))
            }
            if let event { pending.append(contentsOf: session.receive(event)) }
        }
        guard index < input.endIndex, !session.isClosed else { break }
        let end = min(index + step, input.endIndex)
        pending.append(contentsOf: session.receive(.received(ByteBuffer(bytes: input[index..<end]))))
        index = end
    }
    precondition(uploaded <= input.count * 2, "more message bytes out than in")

    for line in input.split(separator: UInt8(ascii: "\n")) { _ = try? SMTPCommandParser.parse(Array(line)) }

    var receiver = DataReceiver(configuration: .init(maximumSize: 1 << 16, flushThreshold: step))
    var buffer = ByteBuffer(bytes: input)
    for event in receiver.receive(&buffer) {
        if case .finished = event {
            let consumed = Array(input.prefix(input.count - buffer.readableBytes))
            precondition(consumed.count >= 3 && consumed.suffix(3) == [46, 13, 10], "a message ended without .CRLF")
            precondition(consumed.count == 3 || consumed.dropLast(3).suffix(2) == [13, 10], "a message ended without CRLF.CRLF")
        }
    }
    return 0
}

// SwiftPM links an executable target with `main` bound to this file's top-level code, so
// libFuzzer's own `main` is never used: hand the command line to libFuzzer's driver here.
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

var argumentCount = CommandLine.argc
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argumentCount, &arguments) { data, size in fuzz(data, size) })
