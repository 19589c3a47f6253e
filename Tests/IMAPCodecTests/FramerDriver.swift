import IMAPCodec
import NIOCore
import Testing

/// Feeds bytes to an `IMAPFramer` in reads of `step` octets and plays the gateway: it answers
/// `.continuationNeeded` with `continueLiteral()` and `.appendBegin` with `acceptAppend()` or
/// `refuseAppend()`. Consecutive `.appendData` pieces are joined, so runs with different read
/// sizes compare equal; each piece is checked against the chunk limit as it comes.
struct FramerDriver {
    var limits = IMAPLimits()
    var acceptAppends = true
    /// Calls `readLine()` after every command whose name is in this list.
    var lineModeAfter: Set<IMAPCommandName> = []

    func frames(_ input: [UInt8], step: Int? = nil) -> [IMAPFrame] {
        var framer = IMAPFramer(limits: limits)
        var buffer = ByteBuffer()
        var frames: [IMAPFrame] = []
        var offset = 0
        let step = step ?? max(input.count, 1)
        repeat {
            let end = min(offset + step, input.count)
            buffer.writeBytes(input[offset..<end])
            offset = end
            while let frame = framer.next(from: &buffer) {
                switch frame {
                case .continuationNeeded: framer.continueLiteral()
                case .appendBegin: if acceptAppends { framer.acceptAppend() } else { framer.refuseAppend() }
                case .command(let command) where lineModeAfter.contains(command.command.name): framer.readLine()
                case .appendData(let piece):
                    #expect(piece.readableBytes > 0 && piece.readableBytes <= limits.appendChunkSize)
                    if case .appendData(var joined) = frames.last {
                        var piece = piece
                        joined.writeBuffer(&piece)
                        frames[frames.count - 1] = .appendData(joined)
                        continue
                    }
                default: break
                }
                frames.append(frame)
            }
        } while offset < input.count
        return frames
    }

    func frames(_ input: String, step: Int? = nil) -> [IMAPFrame] { frames(Array(input.utf8), step: step) }

    /// The frames for `input` fed whole and fed one byte at a time, which must agree.
    func framesBothWays(_ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> [IMAPFrame] {
        let whole = frames(input)
        let byByte = frames(input, step: 1)
        #expect(whole == byByte, "whole and byte-at-a-time differ", sourceLocation: sourceLocation)
        return whole
    }

    func framesBothWays(_ input: String, sourceLocation: SourceLocation = #_sourceLocation) -> [IMAPFrame] {
        framesBothWays(Array(input.utf8), sourceLocation: sourceLocation)
    }
}

extension IMAPFrame {
    /// The tag and fatality of a `.bad`, for tests that do not pin the message.
    var badTag: (tag: IMAPTag?, fatal: Bool)? {
        if case .bad(let tag, _, let fatal) = self { (tag, fatal) } else { nil }
    }
}
