public import NIOCore

/// What to do with a CR or LF that is not part of a CRLF pair inside message content.
public enum BareLineEndingPolicy: Sendable, Hashable {
    /// Read the message to its end and answer `550 5.6.0` (Postfix's
    /// `smtpd_forbid_bare_newline = reject`): the safe default against SMTP smuggling.
    case reject
    /// Store a bare CR or LF as CRLF. The message still ends only at `CRLF.CRLF`.
    case normalize
}

/// What to do with a text line over 998 octets (RFC 5321 §4.5.3.1.6).
public enum LongLinePolicy: Sendable, Hashable {
    /// Answer `500 5.5.2` after the message ends.
    case reject
    /// Keep the line as it is and record the violation in the outcome.
    case accept
}

/// Receives the content of a DATA command (RFC 5321 §4.1.1.4) up to its terminator, removing
/// dot-stuffing (§4.5.2) and handing out the message in chunks of at most `flushThreshold`
/// bytes, so memory stays bounded whatever the message size.
///
/// The message ends at `CRLF "." CRLF` and nowhere else, where the first CRLF is a real CRLF.
/// `LF.LF`, `LF.CRLF`, `CRLF.LF`, `CR.CR` and the like never end it (the SMTP smuggling
/// defence); a bare CR or LF is recorded and, by policy, rejects the message or is normalised.
///
/// Chunk boundaries depend only on the content, never on how the bytes were split on the wire.
public struct DataReceiver: Sendable {
    public struct Configuration: Sendable, Hashable {
        public var maximumSize: Int
        public var bareLineEndings: BareLineEndingPolicy
        public var longLines: LongLinePolicy
        public var maximumLineLength: Int
        public var flushThreshold: Int

        public init(
            maximumSize: Int = SMTPLimits.messageSize, bareLineEndings: BareLineEndingPolicy = .reject,
            longLines: LongLinePolicy = .accept, maximumLineLength: Int = SMTPLimits.textLine,
            flushThreshold: Int = SMTPLimits.chunkFlushThreshold
        ) {
            self.maximumSize = maximumSize
            self.bareLineEndings = bareLineEndings
            self.longLines = longLines
            self.maximumLineLength = maximumLineLength
            self.flushThreshold = max(1, flushThreshold)
        }
    }

    /// How the message ended.
    public struct Outcome: Sendable, Hashable {
        /// Octets of message content after unstuffing (and normalising), counted past the limit too:
        /// RFC 1870 §3's message size, which excludes the terminating `.CRLF`.
        public var size: Int
        public var exceededSize: Bool
        public var sawBareLineEnding: Bool
        public var sawLongLine: Bool
        /// The policy the outcome was judged by.
        public var configuration: Configuration

        /// The reply that refuses the message, or nil when the message may be committed.
        /// A smuggling attempt is reported before size, size before line length.
        public var rejection: SMTPReply? {
            if sawBareLineEnding, configuration.bareLineEndings == .reject { return .bareLineEndingRejected }
            if exceededSize { return .messageTooBig }
            if sawLongLine, configuration.longLines == .reject { return .lineTooLongInData }
            return nil
        }
    }

    public enum Event: Sendable, Equatable {
        /// Message bytes in order; concatenated, they are the message.
        case chunk(ByteBuffer)
        /// The terminator was read. Chunks already handed out must be discarded when
        /// `outcome.rejection` is not nil.
        case finished(Outcome)
    }

    private enum State: Sendable {
        /// At the start of a line. `afterCRLF` is false after a bare CR or LF: such a line start
        /// may unstuff a dot but can never begin the terminator.
        case lineStart(afterCRLF: Bool)
        case dot(afterCRLF: Bool)
        case dotCR(afterCRLF: Bool)
        case text
        case cr
        case done
    }

    public let configuration: Configuration
    private var state: State = .lineStart(afterCRLF: true)
    private var pending = ByteBuffer()
    private var size = 0
    private var lineLength = 0
    private var sawBareLineEnding = false
    private var sawLongLine = false

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public var isFinished: Bool {
        if case .done = state { return true }
        return false
    }

    /// Bytes are kept (and handed out) only while the message can still be committed.
    private var keeping: Bool {
        size <= configuration.maximumSize
            && !(sawBareLineEnding && configuration.bareLineEndings == .reject)
            && !(sawLongLine && configuration.longLines == .reject)
    }

    /// Consumes bytes from the front of `buffer` up to and including the terminator; bytes after
    /// it (pipelined commands, RFC 2920) stay in `buffer`.
    public mutating func receive(_ buffer: inout ByteBuffer) -> [Event] {
        var events: [Event] = []
        guard !isFinished else { return events }
        let consumed = buffer.withUnsafeReadableBytes { bytes in consume(bytes, into: &events) }
        buffer.moveReaderIndex(forwardBy: consumed)
        return events
    }

    private mutating func consume(_ bytes: UnsafeRawBufferPointer, into events: inout [Event]) -> Int {
        let cr = UInt8(ascii: "\r")
        let lf = UInt8(ascii: "\n")
        let dot = UInt8(ascii: ".")
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch state {
            case .done:
                return index
            case .text:
                if byte == cr {
                    state = .cr
                } else if byte == lf {
                    bareLineEnding(events: &events)
                } else {
                    // Fast path: copy the run of ordinary bytes up to the next CR or LF.
                    var end = index + 1
                    while end < bytes.count, bytes[end] != cr, bytes[end] != lf { end += 1 }
                    lineLength += end - index
                    if lineLength > configuration.maximumLineLength { sawLongLine = true }
                    emit(UnsafeRawBufferPointer(rebasing: bytes[index..<end]), events: &events)
                    index = end
                    continue
                }
            case .lineStart(let afterCRLF):
                lineLength = 0
                if byte == dot {
                    state = .dot(afterCRLF: afterCRLF)
                } else if byte == cr {
                    state = .cr
                } else if byte == lf {
                    bareLineEnding(events: &events)
                } else {
                    state = .text
                    continue
                }
            case .dot(let afterCRLF):
                if byte == cr {
                    state = .dotCR(afterCRLF: afterCRLF)
                } else if byte == lf {
                    // `.LF` is not a terminator; the dot stays as content.
                    emitByte(dot, events: &events)
                    bareLineEnding(events: &events)
                } else {
                    // RFC 5321 §4.5.2: a leading period on a line with other characters is deleted.
                    state = .text
                    continue
                }
            case .dotCR(let afterCRLF):
                if byte == lf, afterCRLF {
                    flush(events: &events)
                    events.append(.finished(outcome))
                    state = .done
                    return index + 1
                }
                emitByte(dot, events: &events)
                if byte == lf {
                    // `.CRLF` after a bare line ending: a content line holding one dot.
                    emitLineEnd(events: &events)
                    state = .lineStart(afterCRLF: true)
                } else {
                    bareLineEnding(events: &events)
                    continue
                }
            case .cr:
                if byte == lf {
                    emitLineEnd(events: &events)
                    state = .lineStart(afterCRLF: true)
                } else {
                    bareLineEnding(events: &events)
                    continue
                }
            }
            index += 1
        }
        return index
    }

    /// A CR or LF outside a CRLF pair (RFC 5321 §2.3.8): recorded, written as CRLF, and the next
    /// line start can never begin the terminator.
    private mutating func bareLineEnding(events: inout [Event]) {
        sawBareLineEnding = true
        emitLineEnd(events: &events)
        state = .lineStart(afterCRLF: false)
    }

    private mutating func emitLineEnd(events: inout [Event]) {
        emitByte(UInt8(ascii: "\r"), events: &events)
        emitByte(UInt8(ascii: "\n"), events: &events)
    }

    private mutating func emitByte(_ byte: UInt8, events: inout [Event]) {
        withUnsafeBytes(of: byte) { emit($0, events: &events) }
    }

    private mutating func emit(_ bytes: UnsafeRawBufferPointer, events: inout [Event]) {
        size += bytes.count
        guard keeping else {
            pending.clear()
            return
        }
        var rest = bytes
        while !rest.isEmpty {
            let room = configuration.flushThreshold - pending.readableBytes
            let part = UnsafeRawBufferPointer(rebasing: rest.prefix(room))
            pending.writeBytes(part)
            rest = UnsafeRawBufferPointer(rebasing: rest.dropFirst(part.count))
            if pending.readableBytes == configuration.flushThreshold { flush(events: &events) }
        }
    }

    private mutating func flush(events: inout [Event]) {
        guard keeping, pending.readableBytes > 0 else { return }
        events.append(.chunk(pending))
        pending = ByteBuffer()
        pending.reserveCapacity(min(configuration.flushThreshold, 4096))
    }

    private var outcome: Outcome {
        Outcome(
            size: size, exceededSize: size > configuration.maximumSize, sawBareLineEnding: sawBareLineEnding,
            sawLongLine: sawLongLine, configuration: configuration)
    }
}
