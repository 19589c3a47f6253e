public import NIOCore

/// What `IMAPFramer.next(from:)` hands the gateway: a whole parsed command, or a step of a
/// command whose literal the gateway must agree to before the client sends it (RFC 3501 §7.5),
/// or a streamed piece of APPEND's message.
public enum IMAPFrame: Sendable, Equatable {
    /// A whole command, every literal in it read.
    case command(IMAPTaggedCommand)
    /// A command that does not parse, or breaks a limit: answer `tag BAD message`, or
    /// `* BAD message` when not even a tag could be read. The framer has already skipped to the
    /// end of the command (or, for a synchronizing literal it refused, the client will not send
    /// it). `fatal` means the input cannot be resynchronised (a non-synchronizing literal over
    /// the limit, or one too large to read past in a command being skipped): answer, then close.
    /// A line over the limit is skipped as it arrives and is not fatal. After `.appendData`, a
    /// `.bad` instead of `.appendEnd` means the message is to be dropped. In line mode a `.bad`
    /// (a line over `IMAPLimits.lineLength`) has no tag: answer with the pending command's.
    case bad(tag: IMAPTag?, message: String, fatal: Bool)
    /// The command so far announced a synchronizing literal `{size}` within the limits (in any
    /// command but APPEND's message): send `+ Ready`, then call `framer.continueLiteral()`. The
    /// framer reads nothing more until then.
    case continuationNeeded(tag: IMAPTag, size: Int)
    /// `tag APPEND mailbox [flags] [date-time] {size}`: the message literal is next. Check it
    /// (quota, size, the mailbox) and call `framer.acceptAppend()` then, for a synchronizing
    /// literal, send `+ Ready`; or answer `tag NO …` and call `framer.refuseAppend()` (for a
    /// non-synchronizing literal the framer then skips the bytes).
    case appendBegin(tag: IMAPTag, mailbox: IMAPMailbox, flags: [String], date: IMAPDateTime?, size: Int, synchronizing: Bool)
    /// Part of APPEND's message, in order; together exactly `size` bytes.
    case appendData(ByteBuffer)
    /// The CRLF that ends APPEND was read: commit the message and answer.
    case appendEnd(tag: IMAPTag)
    /// In line mode (`framer.readLine()`): one line without its CRLF, for an AUTHENTICATE
    /// response (RFC 3501 §6.2.2) or IDLE's `DONE` (RFC 2177).
    case line(ByteBuffer)
}
