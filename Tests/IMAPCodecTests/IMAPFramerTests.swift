import IMAPCodec
import NIOCore
import Testing

@Suite struct IMAPFramerTests {
    static func command(_ tag: IMAPTag, _ command: IMAPCommand) -> IMAPFrame {
        .command(IMAPTaggedCommand(tag: tag, command: command))
    }
    static func login(_ tag: IMAPTag, _ user: String, _ password: [UInt8]) -> IMAPFrame {
        command(tag, .login(username: Array(user.utf8), password: password))
    }
    static let noop = command("n", .noop)

    // MARK: Literals

    @Test func emptyLiteral() {
        #expect(
            FramerDriver().framesBothWays("a LOGIN u {0}\r\n\r\nn NOOP\r\n") == [
                .continuationNeeded(tag: "a", size: 0), Self.login("a", "u", []), Self.noop,
            ])
    }

    @Test func literalThenMoreArguments() {
        #expect(
            FramerDriver().framesBothWays("a STATUS {5}\r\nDraft (MESSAGES)\r\n") == [
                .continuationNeeded(tag: "a", size: 5), Self.command("a", .status(IMAPMailbox("Draft"), items: [.messages])),
            ])
    }

    @Test func nonSynchronizingLiteralsAskNothing() {
        #expect(
            FramerDriver().framesBothWays("a LOGIN {1+}\r\nu {4+}\r\np\r\nq\r\nn NOOP\r\n") == [
                Self.login("a", "u", Array("p\r\nq".utf8)), Self.noop,
            ])
    }

    @Test func literalDataIsNotScanned() {
        // NUL, a bare LF and a literal marker inside literal data are data.
        let password: [UInt8] = [0, 10, 0x7B, 0x35, 0x7D, 13, 10, 0xFF]
        let input = Array("a LOGIN u {8}\r\n".utf8) + password + Array("\r\n".utf8)
        #expect(FramerDriver().framesBothWays(input) == [.continuationNeeded(tag: "a", size: 8), Self.login("a", "u", password)])
    }

    @Test func bareLineFeedsEndLines() {
        #expect(
            FramerDriver().framesBothWays("a LOGIN u {2}\npw\nn NOOP\n") == [
                .continuationNeeded(tag: "a", size: 2), Self.login("a", "u", Array("pw".utf8)), Self.noop,
            ])
    }

    @Test func emptyLinesAreIgnored() {
        #expect(FramerDriver().framesBothWays("\r\n\n\r\nn NOOP\r\n") == [Self.noop])
    }

    @Test func nulOutsideLiteralsIsRefused() {
        let frames = FramerDriver().framesBothWays("a LOGIN u\u{0} p\r\nn NOOP\r\n")
        #expect(frames == [.bad(tag: "a", message: "NUL character in command", fatal: false), Self.noop])
    }

    @Test func framerWaitsForTheContinuation() {
        var framer = IMAPFramer()
        var buffer = ByteBuffer(string: "a LOGIN u {2}\r\npw\r\n")
        #expect(framer.next(from: &buffer) == .continuationNeeded(tag: "a", size: 2))
        #expect(framer.next(from: &buffer) == nil)
        #expect(buffer.readableBytes == 4)
        framer.continueLiteral()
        #expect(framer.next(from: &buffer) == Self.login("a", "u", Array("pw".utf8)))
        #expect(buffer.readableBytes == 0)
    }

    @Test func pipelinedBytesStayInTheBuffer() {
        var framer = IMAPFramer()
        var buffer = ByteBuffer(string: "n NOOP\r\nm NOOP\r\n")
        #expect(framer.next(from: &buffer) == Self.noop)
        #expect(buffer.readableBytes == 8)
    }

    @Test func synchronizingLiteralOverTheLimit() {
        let limits = IMAPLimits(literalSize: 10)
        let atLimit = FramerDriver(limits: limits).framesBothWays("a LOGIN u {10}\r\n0123456789\r\n")
        #expect(atLimit == [.continuationNeeded(tag: "a", size: 10), Self.login("a", "u", Array("0123456789".utf8))])
        // The client waits for "+" that never comes, so its next line is a new command.
        let over = FramerDriver(limits: limits).framesBothWays("a LOGIN u {11}\r\nn NOOP\r\n")
        #expect(over == [.bad(tag: "a", message: "literal too large", fatal: false), Self.noop])
    }

    @Test func defaultLiteralLimit() {
        let size = IMAPLimits().literalSize
        let data = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let atLimit = FramerDriver().frames(Array("a LOGIN u {\(size)+}\r\n".utf8) + data + Array("\r\n".utf8))
        #expect(atLimit == [Self.login("a", "u", data)])
        let over = FramerDriver().frames("a LOGIN u {\(size + 1)}\r\n")
        #expect(over == [.bad(tag: "a", message: "literal too large", fatal: false)])
    }

    @Test func nonSynchronizingLiteralOverTheLimitIsFatal() {
        let limits = IMAPLimits(literalSize: 10)
        let frames = FramerDriver(limits: limits).framesBothWays("a LOGIN u {11+}\r\n01234567890\r\nn NOOP\r\n")
        #expect(frames == [.bad(tag: "a", message: "literal too large", fatal: true)])
    }

    /// RFC 7888 §5: with LITERAL-, `{n+}` up to 4096 octets is read as LITERAL+ would; one
    /// more is BAD [TOOBIG] and read past, in a command or as APPEND's message; a synchronizing
    /// literal of any size is unaffected.
    @Test func literalMinusAtTheLimit() {
        var limits = IMAPLimits()
        limits.nonSynchronizingLiteralSize = IMAPLimits.literalMinusSize
        let driver = FramerDriver(limits: limits)
        let size = IMAPLimits.literalMinusSize
        let data = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let refused = IMAPFrame.bad(
            tag: "a", message: "[TOOBIG] a non-synchronizing literal may have at most 4096 octets (LITERAL-)", fatal: false)
        for step in [nil, 1] {
            let atLimit = driver.frames(Array("a LOGIN u {\(size)+}\r\n".utf8) + data + Array("\r\n".utf8), step: step)
            #expect(atLimit == [Self.login("a", "u", data)])
            let over = driver.frames(Array("a LOGIN u {\(size + 1)+}\r\n".utf8) + data + Array("x\r\nn NOOP\r\n".utf8), step: step)
            #expect(over == [refused, Self.noop])
            let append = driver.frames(Array("a APPEND INBOX {\(size + 1)+}\r\n".utf8) + data + Array("x\r\nn NOOP\r\n".utf8), step: step)
            #expect(append == [refused, Self.noop])
            let synchronizing = driver.frames(Array("a LOGIN u {\(size + 1)}\r\n".utf8) + data + Array("x\r\n".utf8), step: step)
            #expect(synchronizing == [.continuationNeeded(tag: "a", size: size + 1), Self.login("a", "u", data + [UInt8(ascii: "x")])])
        }
    }

    @Test func hugeLiteralSizes() {
        #expect(
            FramerDriver().framesBothWays("a LOGIN u {99999999999999}\r\nn NOOP\r\n") == [
                .bad(tag: "a", message: "literal too large", fatal: false), Self.noop,
            ])
        #expect(
            FramerDriver().framesBothWays("a LOGIN u {99999999999999999999999}\r\nn NOOP\r\n") == [
                .bad(tag: "a", message: "invalid literal", fatal: false), Self.noop,
            ])
        #expect(FramerDriver().framesBothWays("a LOGIN u {99999999999999+}\r\n").first?.badTag?.fatal == true)
    }

    @Test func literalWithoutATagIsRefusedAtOnce() {
        #expect(
            FramerDriver().framesBothWays("+x LOGIN {3}\r\nn NOOP\r\n") == [
                .bad(tag: nil, message: "invalid tag", fatal: false), Self.noop,
            ])
    }

    // MARK: Limits on lines and commands

    @Test func commandLengthAtTheLimit() {
        let limit = IMAPLimits().commandLength
        let prefix = "a LOGIN u "
        let atLimit = prefix + String(repeating: "p", count: limit - prefix.utf8.count)
        #expect(FramerDriver().frames(atLimit + "\r\n") == [Self.login("a", "u", Array(atLimit.utf8.dropFirst(prefix.utf8.count)))])
        #expect(FramerDriver().frames(atLimit + "\n") == [Self.login("a", "u", Array(atLimit.utf8.dropFirst(prefix.utf8.count)))])
        #expect(
            FramerDriver().frames(atLimit + "p\r\nn NOOP\r\n") == [
                .bad(tag: "a", message: "line too long", fatal: false), Self.noop,
            ])
    }

    @Test func commandLengthCountsEveryLine() {
        let limits = IMAPLimits(commandLength: 24)
        // "a LOGIN {5}" is 11 octets, " {3}" 4 more; then "xxxxxxxxx" is 9: 24 in all.
        let atLimit = "a LOGIN {5}\r\nalice {3}\r\npw!\r\n"
        #expect(
            FramerDriver(limits: limits).framesBothWays("a LOGIN {5}\r\nalice {9}\r\n123456789\r\n").last
                == Self.login("a", "alice", Array("123456789".utf8)))
        #expect(FramerDriver(limits: limits).framesBothWays(atLimit).last == Self.login("a", "alice", Array("pw!".utf8)))
        let over = FramerDriver(limits: IMAPLimits(commandLength: 14)).framesBothWays("a LOGIN {5}\r\nalice xyz\r\nn NOOP\r\n")
        #expect(over.suffix(2) == [.bad(tag: "a", message: "line too long", fatal: false), Self.noop])
    }

    @Test func overlongLinesAreSkippedAsTheyArrive() {
        let limits = IMAPLimits(commandLength: 16)
        var framer = IMAPFramer(limits: limits)
        var buffer = ByteBuffer(string: "a1 LOGIN user verylongpassword")
        #expect(framer.next(from: &buffer) == nil)
        #expect(buffer.readableBytes == 0)
        for _ in 0..<1000 {
            buffer.writeString("0123456789")
            #expect(framer.next(from: &buffer) == nil)
            #expect(buffer.readableBytes == 0)
        }
        buffer.writeString("\r\nn NOOP\r\n")
        #expect(framer.next(from: &buffer) == .bad(tag: "a1", message: "line too long", fatal: false))
        #expect(framer.next(from: &buffer) == Self.noop)
    }

    @Test func overlongLineWithALiteralSkipsTheLiteralToo() {
        let limits = IMAPLimits(commandLength: 16)
        let input = "a1 LOGIN user verylongpassword {5+}\r\nn NOO\r\nn NOOP\r\n"
        #expect(
            FramerDriver(limits: limits).framesBothWays(input) == [
                .bad(tag: "a1", message: "line too long", fatal: false), Self.noop,
            ])
        // A synchronizing one is never sent: the next line is a command.
        let sync = "a1 LOGIN user verylongpassword {5}\r\nn NOOP\r\n"
        #expect(
            FramerDriver(limits: limits).framesBothWays(sync) == [.bad(tag: "a1", message: "line too long", fatal: false), Self.noop])
    }

    @Test func overlongLineWithoutATag() {
        let frames = FramerDriver(limits: IMAPLimits(commandLength: 8)).framesBothWays("0123456789abcdef\r\nn NOOP\r\n")
        #expect(frames == [.bad(tag: nil, message: "line too long", fatal: false), Self.noop])
    }

    @Test func commandSizeAtTheLimit() {
        let input = "a SEARCH TEXT {10}\r\n0123456789 TEXT {10}\r\n0123456789 TEXT {10}\r\n0123456789\r\n"
        // Lines: "a SEARCH TEXT {10}" (18) + " TEXT {10}" (10) twice = 38; literals 30.
        let limits = IMAPLimits(literalSize: 10, commandSize: 68)
        let text = IMAPSearchKey.text(Array("0123456789".utf8))
        #expect(
            FramerDriver(limits: limits).framesBothWays(input).last
                == Self.command("a", .search(charset: nil, key: .and([text, text, text]), uid: false)))
        var smaller = limits
        smaller.commandSize = 67
        // The third literal is refused, so the client never sends it.
        let refused = "a SEARCH TEXT {10}\r\n0123456789 TEXT {10}\r\n0123456789 TEXT {10}\r\nn NOOP\r\n"
        let frames = FramerDriver(limits: smaller).framesBothWays(refused)
        #expect(frames.suffix(2) == [.bad(tag: "a", message: "literal too large", fatal: false), Self.noop])
        // Over the size after the last literal, in the line that follows it.
        let trailing = "a SEARCH TEXT {10}\r\n0123456789 ALL\r\nn NOOP\r\n"
        let tight = IMAPLimits(literalSize: 10, commandSize: 31)
        #expect(FramerDriver(limits: tight).framesBothWays(trailing).suffix(2).first?.badTag?.tag == "a")
        let exact = IMAPLimits(literalSize: 10, commandSize: 32)
        #expect(
            FramerDriver(limits: exact).framesBothWays(trailing).suffix(2) == [
                Self.command("a", .search(charset: nil, key: .and([text, .all]), uid: false)), Self.noop,
            ])
    }

    // MARK: Line mode

    @Test func lineModeReadsOneLine() {
        let driver = FramerDriver(lineModeAfter: [.authenticate])
        let frames = driver.framesBothWays("a AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\nn NOOP\r\n")
        #expect(
            frames == [
                Self.command("a", .authenticate(mechanism: "PLAIN", initialResponse: nil)),
                .line(ByteBuffer(string: "AGFsaWNlAHNlY3JldA==")), Self.noop,
            ])
        let done = FramerDriver(lineModeAfter: [.noop]).framesBothWays("n NOOP\r\nDONE\nn NOOP\r\n*\r\n")
        #expect(done == [Self.noop, .line(ByteBuffer(string: "DONE")), Self.noop, .line(ByteBuffer(string: "*"))])
    }

    @Test func lineModeLimit() {
        let limit = IMAPLimits().lineLength
        let driver = FramerDriver(lineModeAfter: [.noop])
        let atLimit = String(repeating: "A", count: limit)
        #expect(driver.frames("n NOOP\r\n\(atLimit)\r\n") == [Self.noop, .line(ByteBuffer(string: atLimit))])
        #expect(
            driver.frames("n NOOP\r\n\(atLimit)A\r\nn NOOP\r\n") == [
                Self.noop, .bad(tag: nil, message: "line too long", fatal: false), Self.noop,
            ])
        #expect(
            driver.frames("n NOOP\r\n\(atLimit)A\r\nn NOOP\r\n", step: 1000) == [
                Self.noop, .bad(tag: nil, message: "line too long", fatal: false), Self.noop,
            ])
    }

    // MARK: APPEND

    static let message = Array("From: a@example.org\r\nSubject: {5}\r\n\r\nbody\r\n.\r\n\u{0}\u{FF}".utf8)

    @Test func appendStreamsTheMessage() {
        let input =
            Array("A003 APPEND saved-messages (\\Seen) {\(Self.message.count)}\r\n".utf8) + Self.message + Array("\r\nn NOOP\r\n".utf8)
        let frames = FramerDriver().framesBothWays(input)
        #expect(
            frames == [
                .appendBegin(
                    tag: "A003", mailbox: IMAPMailbox("saved-messages"), flags: ["\\Seen"], date: nil, size: Self.message.count,
                    synchronizing: true),
                .appendData(ByteBuffer(bytes: Self.message)), .appendEnd(tag: "A003"), Self.noop,
            ])
    }

    @Test func appendInPiecesNoLargerThanTheChunk() {
        let driver = FramerDriver(limits: IMAPLimits(appendChunkSize: 7))
        let input = Array("a APPEND INBOX {\(Self.message.count)+}\r\n".utf8) + Self.message + Array("\r\n".utf8)
        let frames = driver.framesBothWays(input)
        #expect(frames.count == 3)
        #expect(frames[1] == .appendData(ByteBuffer(bytes: Self.message)))
        #expect(frames[2] == .appendEnd(tag: "a"))
    }

    static let appendFixtures: [(String, IMAPMailbox, [String], IMAPDateTime?, Bool)] = [
        // curl, imaplib, mbsync with LITERAL+, Thunderbird.
        ("A005 APPEND INBOX (\\Seen) ", IMAPMailbox("INBOX"), ["\\Seen"], nil, true),
        ("a APPEND INBOX () ", IMAPMailbox("INBOX"), [], nil, true),
        (
            "6 APPEND \"INBOX\" (\\Seen) \"01-Jan-2026 10:00:00 +0000\" ", IMAPMailbox("INBOX"), ["\\Seen"],
            IMAPDateTime(secondsSince1970: 1_767_261_600, zoneMinutes: 0), false
        ),
        ("12 append \"Sent\" (\\Seen $NotJunk) ", IMAPMailbox("Sent"), ["\\Seen", "$NotJunk"], nil, true),
        ("b APPEND {5}\r\ninbox ", IMAPMailbox("INBOX"), [], nil, true),
        (
            "c APPEND {4+}\r\nSent \" 7-Mar-2025 09:05:00 -0130\" ", IMAPMailbox("Sent"), [],
            IMAPDateTime(secondsSince1970: 1_741_343_700, zoneMinutes: -90), true
        ),
        // RFC 3516 §4.4: the message as a literal8, which may hold NUL.
        ("d APPEND INBOX ~", IMAPMailbox("INBOX"), [], nil, true),
        ("e APPEND Drafts (\\Draft) ~", IMAPMailbox("Drafts"), ["\\Draft"], nil, false),
    ]

    @Test(arguments: appendFixtures)
    func appendForms(prefix: String, mailbox: IMAPMailbox, flags: [String], date: IMAPDateTime?, synchronizing: Bool) {
        let line = prefix + "{\(Self.message.count)\(synchronizing ? "" : "+")}"
        let input = Array(line.utf8) + Array("\r\n".utf8) + Self.message + Array("\r\n".utf8)
        let frames = FramerDriver().framesBothWays(input)
        let tag = String(line.prefix { $0 != " " })
        #expect(
            Array(frames.drop { if case .continuationNeeded = $0 { true } else { false } }) == [
                .appendBegin(tag: tag, mailbox: mailbox, flags: flags, date: date, size: Self.message.count, synchronizing: synchronizing),
                .appendData(ByteBuffer(bytes: Self.message)), .appendEnd(tag: tag),
            ])
    }

    @Test func emptyAppend() {
        #expect(
            FramerDriver().framesBothWays("a APPEND INBOX {0}\r\n\r\n") == [
                .appendBegin(tag: "a", mailbox: IMAPMailbox("INBOX"), flags: [], date: nil, size: 0, synchronizing: true),
                .appendEnd(tag: "a"),
            ])
    }

    @Test func appendOverTheMaximumIsStillReported() {
        let frames = FramerDriver(acceptAppends: false).framesBothWays("a APPEND INBOX {99999999999999}\r\nn NOOP\r\n")
        #expect(
            frames == [
                .appendBegin(tag: "a", mailbox: IMAPMailbox("INBOX"), flags: [], date: nil, size: 99_999_999_999_999, synchronizing: true),
                Self.noop,
            ])
    }

    @Test func refusedSynchronizingAppend() {
        let frames = FramerDriver(acceptAppends: false).framesBothWays("a APPEND INBOX {10}\r\nn NOOP\r\n")
        #expect(
            frames == [
                .appendBegin(tag: "a", mailbox: IMAPMailbox("INBOX"), flags: [], date: nil, size: 10, synchronizing: true), Self.noop,
            ])
    }

    @Test func refusedNonSynchronizingAppendIsSkipped() {
        let input = Array("a APPEND INBOX {\(Self.message.count)+}\r\n".utf8) + Self.message + Array("\r\nn NOOP\r\n".utf8)
        let frames = FramerDriver(acceptAppends: false).framesBothWays(input)
        #expect(
            frames == [
                .appendBegin(tag: "a", mailbox: IMAPMailbox("INBOX"), flags: [], date: nil, size: Self.message.count, synchronizing: false),
                Self.noop,
            ])
    }

    @Test func appendMustEndWithCRLF() {
        let input = "a APPEND INBOX {3}\r\nabc {3+}\r\ndef\r\nn NOOP\r\n"
        #expect(
            FramerDriver().framesBothWays(input) == [
                .appendBegin(tag: "a", mailbox: IMAPMailbox("INBOX"), flags: [], date: nil, size: 3, synchronizing: true),
                .appendData(ByteBuffer(string: "abc")), .bad(tag: "a", message: "expected CRLF after the APPEND message", fatal: false),
                Self.noop,
            ])
        let crThenJunk = "a APPEND INBOX {3}\r\nabc\rx\r\nn NOOP\r\n"
        #expect(FramerDriver().framesBothWays(crThenJunk).suffix(2).first?.badTag?.tag == "a")
    }

    @Test func malformedAppendIsRefusedBeforeItsMessage() {
        // A bad flag list: the synchronizing literal is never sent.
        #expect(
            FramerDriver().framesBothWays("a APPEND INBOX (\\) {3}\r\nn NOOP\r\n") == [
                .bad(tag: "a", message: "APPEND: invalid flag", fatal: false), Self.noop,
            ])
        // A non-synchronizing one is read past.
        #expect(
            FramerDriver().framesBothWays("a APPEND INBOX (\\) {3+}\r\nabc\r\nn NOOP\r\n") == [
                .bad(tag: "a", message: "APPEND: invalid flag", fatal: false), Self.noop,
            ])
    }

    // MARK: Read sizes do not matter

    /// A deterministic generator, so a failure replays.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let words = [
        "a1 ", "NOOP", "LOGIN", "APPEND", "INBOX", "FETCH", "SEARCH", "UID", "1:*", "BODY[", "]", "(", ")", "\"", "\\",
        " ", "{", "}", "+", "0", "3", "12", "{3}", "{2+}", "\r\n", "\n", "\r", "\u{0}", "NOT", "OR", "x", "é",
        "AUTHENTICATE", "\"01-Jan-2026 10:00:00 +0000\"",
    ]

    @Test(arguments: 0..<30)
    func randomInputFramesTheSameAtAnyReadSize(seed: UInt64) {
        var generator = SplitMix(state: seed)
        var input: [UInt8] = []
        for _ in 0..<200 { input += Array(Self.words.randomElement(using: &generator)!.utf8) }
        let driver = FramerDriver(
            limits: IMAPLimits(commandLength: 64, literalSize: 8, commandSize: 96, appendChunkSize: 5, lineLength: 20),
            acceptAppends: seed % 2 == 0, lineModeAfter: [.authenticate, .noop])
        let whole = driver.frames(input)
        #expect(driver.frames(input, step: 1) == whole)
        #expect(driver.frames(input, step: Int(seed % 7) + 2) == whole)
    }
}
