/// Every bound the IMAP codec enforces, in one place (STYLE §7). The defaults suit a public
/// server; the gateway overrides them from the configuration (the APPEND maximum comes from the
/// message size limit). Each has a test at the limit and one over it.
public struct IMAPLimits: Sendable, Hashable {
    /// The bytes of one command's lines, without literal data and without line terminators.
    public var commandLength: Int
    /// One literal in a command other than APPEND's message (a password, a search string).
    public var literalSize: Int
    /// One command's lines and literals together (APPEND's message excepted).
    public var commandSize: Int
    /// The largest APPEND message the gateway accepts (RFC 7889 APPENDLIMIT). The framer does not
    /// refuse larger ones (the gateway answers `NO [TOOBIG]`); it is the bound on how much a
    /// refused non-synchronizing literal it reads past to stay in step with the client.
    public var appendSize: Int
    /// The largest piece of APPEND's message one `.appendData` frame carries.
    public var appendChunkSize: Int
    /// Nested parentheses anywhere in a command.
    public var parenthesisDepth: Int
    /// Nested search keys: each `NOT`, `OR` and parenthesis is one level.
    public var searchDepth: Int
    /// Data items in one FETCH, after ALL, FAST and FULL are expanded.
    public var fetchAttributes: Int
    /// Comma-separated ranges in one sequence set; the default is `MailCore.UIDSet.maxRanges`,
    /// so every set the codec accepts also fits the RPC.
    public var sequenceRanges: Int
    /// One line in line mode (`IMAPFramer.readLine()`): an AUTHENTICATE response or `DONE`.
    public var lineLength: Int
    /// RFC 7888 §5 LITERAL-: the largest `{n+}` literal; nil for LITERAL+ (only the limits
    /// above). A larger one is refused with `BAD [TOOBIG]` and read past (within those limits).
    public var nonSynchronizingLiteralSize: Int?
    public static let literalMinusSize = 4096

    public init(
        commandLength: Int = 64 * 1024,
        literalSize: Int = 64 * 1024,
        commandSize: Int = 1024 * 1024,
        appendSize: Int = 50 * 1024 * 1024,
        appendChunkSize: Int = 64 * 1024,
        parenthesisDepth: Int = 32,
        searchDepth: Int = 32,
        fetchAttributes: Int = 64,
        sequenceRanges: Int = 10_000,
        lineLength: Int = 16 * 1024
    ) {
        self.commandLength = commandLength
        self.literalSize = literalSize
        self.commandSize = commandSize
        self.appendSize = appendSize
        self.appendChunkSize = max(1, appendChunkSize)
        self.parenthesisDepth = parenthesisDepth
        self.searchDepth = searchDepth
        self.fetchAttributes = fetchAttributes
        self.sequenceRanges = sequenceRanges
        self.lineLength = lineLength
    }
}
