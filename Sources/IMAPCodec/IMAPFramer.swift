public import NIOCore

/// Cuts the client's byte stream into IMAP commands (RFC 3501 §2.2, §4.3, §7.5; RFC 7888):
/// lines, with literals `{n}` CRLF (synchronizing: the client waits for `+`) and `{n+}` CRLF
/// (LITERAL+: the octets follow at once) read by count, not by scanning; APPEND's message
/// streamed in pieces rather than buffered; and a line mode for AUTHENTICATE and IDLE.
///
/// Memory is bounded by the limits whatever the client sends: an over-long line is skipped as
/// it arrives, not collected, and a refused literal is read past without keeping it. A bare LF
/// ends a line as CRLF does (RFC 3501 requires CRLF; enough broken clients send LF alone).
public struct IMAPFramer: Sendable {
    public var limits: IMAPLimits
    /// The APPEND size the gateway accepts; larger APPENDs are still reported by `.appendBegin`
    /// for the gateway to refuse with `NO [TOOBIG]`. It bounds how far the framer reads past a
    /// refused non-synchronizing literal before it gives up on the connection.
    public var maximumAppendSize: Int

    private enum State: Sendable {
        /// Reading a command line.
        case command
        /// `.continuationNeeded` was returned; waiting for `continueLiteral()`.
        case awaitingContinuation(size: Int)
        /// Reading a literal of an ordinary command into `command`.
        case literal(remaining: Int)
        /// `.appendBegin` was returned; waiting for `acceptAppend()` or `refuseAppend()`.
        case awaitingAppendDecision(tag: IMAPTag, size: Int, synchronizing: Bool)
        case appendData(tag: IMAPTag, remaining: Int)
        /// APPEND's message was read; its CRLF is next.
        case appendEnd(tag: IMAPTag)
        /// Discarding the rest of a refused command.
        case skipping(Skip)
        /// A fatal `.bad` was returned: nothing more is read.
        case failed
    }

    /// What is left of a refused command: the rest of a line, or the octets of a
    /// non-synchronizing literal it announced (after which the command's next line follows).
    private struct Skip: Sendable {
        enum Phase: Sendable {
            /// The end of the line; `tail` holds its last octets, to find a literal marker.
            case line(tail: [UInt8])
            case literal(remaining: Int)
        }
        var phase: Phase
        /// The `.bad` to answer once the command is skipped, or nil to skip silently.
        var report: (tag: IMAPTag?, message: String)?
        /// Whether a `{n+}` at the end of a skipped line announces octets to skip (not in line mode).
        var literals: Bool
    }

    private var state = State.command
    /// The command so far: its lines without their CRLF, each literal as `{n}` CRLF and its data.
    private var command: [UInt8] = []
    /// Where the line being read starts in `command`.
    private var lineStart = 0
    /// The bytes of the command's lines (no literal data, no line terminators).
    private var lineBytes = 0
    /// The bytes of the command's literals.
    private var literalBytes = 0
    private var lineModeRequested = false
    /// In line mode, how much of the caller's buffer is known to hold no LF, so that a line
    /// arriving an octet at a time is scanned once, not once per octet.
    private var lineModeScanned = 0

    /// How many octets of a skipped line's end are kept to spot `{n+}`: enough for any size
    /// below 10^20.
    private static let tailLength = 32

    public init(limits: IMAPLimits = IMAPLimits()) {
        self.limits = limits
        self.maximumAppendSize = limits.appendSize
    }

    /// The next frame, consuming its bytes from `buffer`; nil when more bytes are needed (or the
    /// framer waits for `continueLiteral()`, `acceptAppend()` or `refuseAppend()`, or a fatal
    /// `.bad` was returned). Bytes after the frame stay in `buffer`.
    public mutating func next(from buffer: inout ByteBuffer) -> IMAPFrame? {
        while true {
            let step: Step
            switch state {
            case .failed, .awaitingContinuation, .awaitingAppendDecision:
                return nil
            case .command:
                step = lineModeRequested ? readModeLine(&buffer) : readCommandLine(&buffer)
            case .literal(let remaining):
                step = readLiteral(&buffer, remaining: remaining)
            case .appendData(let tag, let remaining):
                step = readAppendData(&buffer, tag: tag, remaining: remaining)
            case .appendEnd(let tag):
                step = readAppendEnd(&buffer, tag: tag)
            case .skipping(let skip):
                step = readSkipped(&buffer, skip)
            }
            switch step {
            case .frame(let frame): return frame
            case .needMore: return nil
            case .again: continue
            }
        }
    }

    /// After `.continuationNeeded` (and the gateway's `+`): read the literal.
    public mutating func continueLiteral() {
        guard case .awaitingContinuation(let size) = state else { return }
        state = .literal(remaining: size)
    }

    /// After `.appendBegin`: stream the message as `.appendData`, then `.appendEnd`. For a
    /// synchronizing literal the gateway sends `+` too.
    public mutating func acceptAppend() {
        guard case .awaitingAppendDecision(let tag, let size, _) = state else { return }
        resetCommand()
        state = size > 0 ? .appendData(tag: tag, remaining: size) : .appendEnd(tag: tag)
    }

    /// After `.appendBegin`, once the gateway answered `NO`: a synchronizing literal will not be
    /// sent, so the next line is a new command; a non-synchronizing one is read past silently,
    /// with the rest of its line.
    public mutating func refuseAppend() {
        guard case .awaitingAppendDecision(_, let size, let synchronizing) = state else { return }
        resetCommand()
        state =
            synchronizing
            ? .command : .skipping(Skip(phase: .literal(remaining: size), report: nil, literals: true))
    }

    /// Reads the next line as `.line`, not as a command: an AUTHENTICATE response (RFC 3501
    /// §6.2.2) or IDLE's `DONE` (RFC 2177). Call it between commands.
    public mutating func readLine() {
        lineModeRequested = true
    }

    // MARK: Steps

    private enum Step {
        case frame(IMAPFrame)
        case needMore
        case again
    }

    /// Collects a line of the command, up to `IMAPLimits.commandLength` for all its lines:
    ///
    ///     command         = tag SP (...) CRLF
    ///     literal         = "{" number "}" CRLF *CHAR8
    private mutating func readCommandLine(_ buffer: inout ByteBuffer) -> Step {
        let view = buffer.readableBytesView
        guard !view.isEmpty else { return .needMore }
        let newline = view.firstIndex(of: IMAPCharacter.lf)
        let available = (newline ?? view.endIndex) - view.startIndex
        // One octet over the limit is kept for a CR whose LF has not arrived.
        let room = limits.commandLength + 1 - lineBytes - (command.count - lineStart)
        let taken = min(available, max(room, 0))
        command.append(contentsOf: view.prefix(taken))
        buffer.moveReaderIndex(forwardBy: taken)
        var lineLength = command.count - lineStart
        if newline != nil, taken == available, command.last == IMAPCharacter.cr, lineLength > 0 {
            lineLength -= 1
        }
        if taken < available || lineBytes + lineLength > limits.commandLength {
            return refuseLine(IMAPSyntaxError.Code.lineTooLong.description, skipping: true)
        }
        guard newline != nil else { return .needMore }
        buffer.moveReaderIndex(forwardBy: 1)
        if command.count - lineStart > lineLength { command.removeLast() }
        lineBytes += lineLength
        return lineEnded()
    }

    /// A whole line of the command is in `command[lineStart...]`, without its terminator.
    private mutating func lineEnded() -> Step {
        let line = command[lineStart...]
        if line.contains(0) { return refuseLine(IMAPSyntaxError.Code.nulCharacter.description, skipping: false) }
        if lineBytes + literalBytes > limits.commandSize {
            return refuseLine(IMAPSyntaxError.Code.commandTooLarge.description, skipping: false)
        }
        guard let marker = Self.literalMarker(line) else {
            if command.isEmpty { return .again }  // an empty line between commands: ignored
            let frame: IMAPFrame
            do {
                frame = .command(try IMAPCommandParser.parse(command, limits: limits))
            } catch {
                frame = .bad(tag: error.tag, message: error.message, fatal: false)
            }
            resetCommand()
            return .frame(frame)
        }
        return literalAnnounced(marker)
    }

    /// The line ended in `{n}` or `{n+}`: APPEND's message, or a literal to read into the command.
    private mutating func literalAnnounced(_ marker: LiteralMarker) -> Step {
        let tag = IMAPCharacter.tag(of: command)
        if !marker.synchronizing, let bound = limits.nonSynchronizingLiteralSize, let size = marker.size, size > bound {
            // RFC 7888 §5 and §4: BAD with TOOBIG, and the octets the client sends anyway read past.
            let message = "[TOOBIG] a non-synchronizing literal may have at most \(bound) octets (LITERAL-)"
            return refuseLiteral(marker, tag: tag, message: message, bound: Self.isAppend(command) ? maximumAppendSize : limits.literalSize)
        }
        if let tag, Self.isAppend(command) {
            do {
                let header = try IMAPCommandParser.parseAppend(command, limits: limits)
                state = .awaitingAppendDecision(tag: tag, size: header.size, synchronizing: header.synchronizing)
                return .frame(
                    .appendBegin(
                        tag: tag, mailbox: header.mailbox, flags: header.flags, date: header.date, size: header.size,
                        synchronizing: header.synchronizing))
            } catch {
                // `tag APPEND {n}`: the mailbox name is the literal, read as any other.
                if lineStart + marker.start != tag.utf8.count + 8 {
                    return refuseLiteral(marker, tag: tag, message: error.message, bound: maximumAppendSize)
                }
            }
        }
        guard let size = marker.size else {
            return refuseLiteral(marker, tag: tag, message: IMAPSyntaxError.Code.invalidLiteral.description, bound: -1)
        }
        if size > limits.literalSize || lineBytes + literalBytes + size > limits.commandSize {
            return refuseLiteral(marker, tag: tag, message: IMAPSyntaxError.Code.literalTooLarge.description, bound: -1)
        }
        command.append(IMAPCharacter.cr)
        command.append(IMAPCharacter.lf)
        literalBytes += size
        guard marker.synchronizing else {
            state = .literal(remaining: size)
            return .again
        }
        guard let tag else {
            // The command cannot succeed; the client waits for "+", so it sends nothing more.
            resetCommand()
            return .frame(.bad(tag: nil, message: IMAPSyntaxError.Code.invalidTag.description, fatal: false))
        }
        state = .awaitingContinuation(size: size)
        return .frame(.continuationNeeded(tag: tag, size: size))
    }

    /// Refuses a command whose line announced a literal. A synchronizing literal will not be
    /// sent; a non-synchronizing one is read past when it is at most `bound` octets, and
    /// otherwise ends the connection (RFC 7888 §4).
    private mutating func refuseLiteral(_ marker: LiteralMarker, tag: IMAPTag?, message: String, bound: Int) -> Step {
        resetCommand()
        if marker.synchronizing { return .frame(.bad(tag: tag, message: message, fatal: false)) }
        guard let size = marker.size, size <= bound else {
            state = .failed
            return .frame(.bad(tag: tag, message: message, fatal: true))
        }
        state = .skipping(Skip(phase: .literal(remaining: size), report: (tag, message), literals: true))
        return .again
    }

    /// Refuses the command whose line is being read: `skipping` when the rest of the line is
    /// still to come, otherwise the line ended and only a literal it announced is left.
    private mutating func refuseLine(_ message: String, skipping: Bool) -> Step {
        let tag = IMAPCharacter.tag(of: command)
        let tail = Array(command[lineStart...].suffix(Self.tailLength))
        resetCommand()
        let skip = Skip(phase: .line(tail: tail), report: (tag, message), literals: true)
        if skipping {
            state = .skipping(skip)
            return .again
        }
        return skipLineEnded(skip, tail: tail)
    }

    private mutating func readLiteral(_ buffer: inout ByteBuffer, remaining: Int) -> Step {
        let count = min(remaining, buffer.readableBytes)
        guard count > 0 || remaining == 0 else { return .needMore }
        command.append(contentsOf: buffer.readableBytesView.prefix(count))
        buffer.moveReaderIndex(forwardBy: count)
        if count < remaining {
            state = .literal(remaining: remaining - count)
            return .needMore
        }
        state = .command
        lineStart = command.count
        return .again
    }

    private mutating func readAppendData(_ buffer: inout ByteBuffer, tag: IMAPTag, remaining: Int) -> Step {
        let count = min(remaining, buffer.readableBytes, limits.appendChunkSize)
        guard count > 0, let piece = buffer.readSlice(length: count) else { return .needMore }
        state = count < remaining ? .appendData(tag: tag, remaining: remaining - count) : .appendEnd(tag: tag)
        return .frame(.appendData(piece))
    }

    /// The CRLF after APPEND's message (§6.3.11). Anything else (MULTIAPPEND, RFC 3502, is not
    /// offered) refuses the command once its line is skipped.
    private mutating func readAppendEnd(_ buffer: inout ByteBuffer, tag: IMAPTag) -> Step {
        let view = buffer.readableBytesView
        guard let first = view.first else { return .needMore }
        var terminator = 0
        if first == IMAPCharacter.lf {
            terminator = 1
        } else if first == IMAPCharacter.cr {
            guard view.count >= 2 else { return .needMore }
            if view[view.startIndex + 1] == IMAPCharacter.lf { terminator = 2 }
        }
        guard terminator > 0 else {
            state = .skipping(
                Skip(phase: .line(tail: []), report: (tag, "expected CRLF after the APPEND message"), literals: true))
            return .again
        }
        buffer.moveReaderIndex(forwardBy: terminator)
        state = .command
        return .frame(.appendEnd(tag: tag))
    }

    /// One line in line mode, handed over without its terminator.
    private mutating func readModeLine(_ buffer: inout ByteBuffer) -> Step {
        let view = buffer.readableBytesView
        guard let newline = view.dropFirst(lineModeScanned).firstIndex(of: IMAPCharacter.lf) else {
            lineModeScanned = view.count
            if view.count > limits.lineLength + 1 {
                lineModeRequested = false
                lineModeScanned = 0
                state = .skipping(
                    Skip(phase: .line(tail: []), report: (nil, IMAPSyntaxError.Code.lineTooLong.description), literals: false))
                return .again
            }
            return .needMore
        }
        lineModeRequested = false
        lineModeScanned = 0
        var length = newline - view.startIndex
        let total = length + 1
        if length > 0, view[newline - 1] == IMAPCharacter.cr { length -= 1 }
        guard length <= limits.lineLength else {
            buffer.moveReaderIndex(forwardBy: total)
            return .frame(.bad(tag: nil, message: IMAPSyntaxError.Code.lineTooLong.description, fatal: false))
        }
        let line = buffer.getSlice(at: buffer.readerIndex, length: length) ?? ByteBuffer()
        buffer.moveReaderIndex(forwardBy: total)
        return .frame(.line(line))
    }

    private mutating func readSkipped(_ buffer: inout ByteBuffer, _ skip: Skip) -> Step {
        switch skip.phase {
        case .literal(let remaining):
            let count = min(remaining, buffer.readableBytes)
            buffer.moveReaderIndex(forwardBy: count)
            var next = skip
            next.phase = count < remaining ? .literal(remaining: remaining - count) : .line(tail: [])
            state = .skipping(next)
            return count < remaining ? .needMore : .again
        case .line(let tail):
            let view = buffer.readableBytesView
            guard !view.isEmpty else { return .needMore }
            let newline = view.firstIndex(of: IMAPCharacter.lf)
            let end = newline ?? view.endIndex
            var kept = tail + view[max(view.startIndex, end - Self.tailLength)..<end]
            if kept.count > Self.tailLength { kept.removeFirst(kept.count - Self.tailLength) }
            buffer.moveReaderIndex(forwardBy: end - view.startIndex)
            guard newline != nil else {
                var next = skip
                next.phase = .line(tail: kept)
                state = .skipping(next)
                return .needMore
            }
            buffer.moveReaderIndex(forwardBy: 1)
            if kept.last == IMAPCharacter.cr { kept.removeLast() }
            return skipLineEnded(skip, tail: kept)
        }
    }

    /// A skipped line ended with `tail`: a `{n+}` there means n octets and another line follow.
    private mutating func skipLineEnded(_ skip: Skip, tail: [UInt8]) -> Step {
        if skip.literals, let marker = Self.literalMarker(tail[...]), !marker.synchronizing {
            guard let size = marker.size, size <= max(maximumAppendSize, limits.literalSize) else {
                state = .failed
                return .frame(
                    .bad(
                        tag: skip.report?.tag ?? nil, message: skip.report?.message ?? IMAPSyntaxError.Code.literalTooLarge.description,
                        fatal: true))
            }
            var next = skip
            next.phase = .literal(remaining: size)
            state = .skipping(next)
            return .again
        }
        state = .command
        guard let report = skip.report else { return .again }
        return .frame(.bad(tag: report.tag, message: report.message, fatal: false))
    }

    private mutating func resetCommand() {
        if command.count > 4096 { command = [] } else { command.removeAll(keepingCapacity: true) }
        lineStart = 0
        lineBytes = 0
        literalBytes = 0
        state = .command
    }

    // MARK: Grammar the framer needs

    struct LiteralMarker {
        /// Where `{` is in the line's collection.
        var start: Int
        /// nil when the number does not fit an `Int`.
        var size: Int?
        var synchronizing: Bool
    }

    /// `"{" number ["+"] "}"` at the very end of a line (RFC 3501 §9, RFC 7888 §3). Nothing
    /// else valid ends in `}`: `{` is not an ATOM-CHAR and a quoted string ends in DQUOTE.
    static func literalMarker(_ line: ArraySlice<UInt8>) -> LiteralMarker? {
        guard line.last == IMAPCharacter.closeBrace else { return nil }
        var index = line.endIndex - 1
        var synchronizing = true
        if index > line.startIndex, line[index - 1] == IMAPCharacter.plus {
            synchronizing = false
            index -= 1
        }
        let digitsEnd = index
        while index > line.startIndex, IMAPCharacter.isDigit(line[index - 1]) { index -= 1 }
        guard index < digitsEnd, index > line.startIndex, line[index - 1] == IMAPCharacter.openBrace else { return nil }
        var size: Int? = 0
        for digit in line[index..<digitsEnd] {
            guard let value = size else { break }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            size = overflowA || overflowB ? nil : sum
        }
        return LiteralMarker(start: index - 1 - line.startIndex, size: size, synchronizing: synchronizing)
    }

    /// Whether the command is `tag SP "APPEND" SP ...`.
    static func isAppend(_ command: [UInt8]) -> Bool {
        guard let space = command.firstIndex(of: IMAPCharacter.space) else { return false }
        let name = command[(space + 1)...].prefix(7)
        return name.count == 7 && IMAPCharacter.keyword(name) == "APPEND "
    }
}
