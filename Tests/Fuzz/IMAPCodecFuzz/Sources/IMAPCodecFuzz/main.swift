import IMAPCodec
import MailCore
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// Small limits, so that inputs of a few KiB reach every one of them.
let limits = IMAPLimits(
    commandLength: 256, literalSize: 64, commandSize: 512, appendSize: 1000, appendChunkSize: 16, parenthesisDepth: 8,
    searchDepth: 8, fetchAttributes: 8, sequenceRanges: 8, lineLength: 64)

/// libFuzzer entry point: the input is a client's byte stream, cut into reads whose sizes come
/// from the first byte, fed to an `IMAPFramer` by a simulated gateway that sends `+` for every
/// literal, accepts or refuses APPENDs as the first byte says, and switches to line mode after
/// AUTHENTICATE and NOOP. Nothing may crash; the caller's buffer never holds more than a line
/// in line mode; APPEND's pieces add up to exactly the announced size and are never larger than
/// the chunk limit; a fatal BAD is the last frame. Every parsed command's strings survive the
/// encoder and the parser again, and every mailbox name that decodes as modified UTF-7 encodes
/// back to the same bytes (one spelling per name).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let input = bytes.dropFirst()
    let step = Int(first % 32) + 1
    let acceptAppends = first & 0x20 != 0

    var framer = IMAPFramer(limits: limits)
    var inbound = ByteBuffer()
    var index = input.startIndex
    var append: (tag: IMAPTag, size: Int, received: Int)?
    var failed = false
    // After a fatal BAD the gateway closes the connection, so nothing more is fed.
    while index < input.endIndex && !failed {
        let end = min(index + step, input.endIndex)
        inbound.writeBytes(input[index..<end])
        index = end
        while let frame = framer.next(from: &inbound) {
            precondition(!failed, "a frame after a fatal BAD")
            switch frame {
            case .continuationNeeded(_, let size):
                precondition(size <= limits.literalSize, "literal over the limit")
                framer.continueLiteral()
            case .appendBegin(let tag, let mailbox, _, _, let size, _):
                check(mailbox)
                if acceptAppends {
                    append = (tag, size, 0)
                    framer.acceptAppend()
                } else {
                    framer.refuseAppend()
                }
            case .appendData(let piece):
                precondition(append != nil, "APPEND data without APPEND")
                precondition(piece.readableBytes > 0 && piece.readableBytes <= limits.appendChunkSize, "bad piece size")
                append!.received += piece.readableBytes
                precondition(append!.received <= append!.size, "more APPEND data than announced")
            case .appendEnd(let tag):
                precondition(append?.tag == tag && append?.received == append?.size, "APPEND ended early")
                append = nil
            case .bad(_, _, let fatal):
                append = nil
                failed = fatal
            case .command(let command):
                check(command)
                if command.command.name == .authenticate || command.command.name == .noop { framer.readLine() }
            case .line(let line):
                precondition(line.readableBytes <= limits.lineLength, "line over the limit")
            }
        }
        precondition(inbound.readableBytes <= limits.lineLength + 1, "the framer left too much in the buffer")
    }
    fuzzSession(input, step: step, succeed: acceptAppends)
    return 0
}

/// The same bytes through `IMAPSession` (its framer inside) with a gateway that answers every
/// hand-over at once: logins succeed or fail as the first byte says, every command completes
/// with the state it would lead to, IDLE ends when asked. Nothing may crash, the session never
/// stays waiting once its answer came, and after a close it does nothing more.
func fuzzSession(_ input: ArraySlice<UInt8>, step: Int, succeed: Bool) {
    var session = IMAPSession()
    var configuration = IMAPSessionConfiguration()
    configuration.limits = limits
    configuration.plaintextAllowed = true
    configuration.startTLSAvailable = true
    var inbound = ByteBuffer()
    var pending = session.receive(.opened(configuration))
    var closed = false
    var index = input.startIndex
    while index < input.endIndex && !closed {
        let end = min(index + step, input.endIndex)
        inbound.writeBytes(input[index..<end])
        index = end
        repeat {
            while let action = pending.first {
                pending.removeFirst()
                switch action {
                case .close: closed = true
                case .authenticate:
                    pending += session.receive(succeed ? .authSucceeded(user: "u", saslFinal: nil) : .authFailed(.invalidCredentials))
                case .saslStart, .saslContinue:
                    pending += session.receive(.authFailed(.temporaryFailure))
                case .execute(let command):
                    let state: IMAPSessionState? =
                        switch command.command {
                        case .select: .selected(readOnly: false)
                        case .examine: .selected(readOnly: true)
                        case .close, .unselect: .authenticated
                        default: nil
                        }
                    pending += session.receive(.executed(command.tag, IMAPCompletion(.ok, "done", state: state)))
                case .appendBegin:
                    pending += session.receive(succeed ? .appendAccepted : .appendRefused(IMAPCompletion(.no, "refused")))
                case .appendEnd(let tag), .idleDone(let tag):
                    pending += session.receive(.executed(tag, IMAPCompletion(.ok, "done")))
                case .startTLS:
                    session.discardBufferedInput()
                    inbound.clear()
                    pending += session.receive(.tlsEstablished)
                case .send, .saslAbort, .appendData, .appendAbort, .idleStart, .startCompression:
                    break
                }
            }
            if closed { break }
            precondition(!session.isWaiting, "the session waits though every answer came")
            if let event = session.nextEvent(from: &inbound) { pending = session.receive(event) }
        } while !pending.isEmpty
    }
}

/// Strings from the command are written by the encoder and parsed back unchanged.
func check(_ command: IMAPTaggedCommand) {
    switch command.command {
    case .login(let username, let password):
        var buffer = ByteBuffer(string: "t LOGIN ")
        IMAPResponseEncoder.write(.string(username), into: &buffer)
        buffer.writeString(" ")
        IMAPResponseEncoder.write(.string(password), into: &buffer)
        let again = try? IMAPCommandParser.parse(Array(buffer.readableBytesView))
        precondition(again?.command == command.command, "LOGIN strings did not survive encoding")
    case .select(let mailbox, _), .examine(let mailbox, _), .create(let mailbox, _), .delete(let mailbox),
        .subscribe(let mailbox), .unsubscribe(let mailbox), .status(let mailbox, _), .copy(_, let mailbox, _):
        check(mailbox)
    case .rename(let from, let to):
        check(from)
        check(to)
    default:
        break
    }
}

func check(_ mailbox: IMAPMailbox) {
    if let name = ModifiedUTF7.decode(mailbox.raw) {
        precondition(Array(ModifiedUTF7.encode(name).utf8) == mailbox.raw, "a second spelling of a mailbox name")
    }
}

// SwiftPM binds an executable target's `main` to this file's top-level code, so libFuzzer's
// own `main` is never used: hand the command line to libFuzzer's driver (as POP3CodecFuzz does).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32
) -> Int32

var argumentCount = CommandLine.argc
var arguments: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(runFuzzerDriver(&argumentCount, &arguments) { data, size in fuzz(data, size) })
