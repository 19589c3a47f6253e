import IMAPCodec
import NIOCore
import Testing

/// Commands as RFC 3501's examples and real clients send them, each parsed directly and through
/// the framer, whole and one byte at a time (STYLE §12).
@Suite struct IMAPCommandParserTests {
    static func set(_ ranges: (IMAPSequenceNumber, IMAPSequenceNumber)...) -> IMAPSequenceSet {
        IMAPSequenceSet(ranges.map { IMAPSequenceSet.Range($0.0, $0.1) })
    }
    static func one(_ n: UInt32) -> IMAPSequenceSet { set((.number(n), .number(n))) }
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func peek(_ section: IMAPSection, _ partial: IMAPPartial? = nil) -> IMAPFetchAttribute {
        .bodySection(section, partial: partial, peek: true)
    }
    static func body(_ section: IMAPSection, _ partial: IMAPPartial? = nil) -> IMAPFetchAttribute {
        .bodySection(section, partial: partial, peek: false)
    }

    static let thunderbirdHeaders = [
        "From", "To", "Cc", "Bcc", "Subject", "Date", "Message-ID", "Priority", "X-Priority", "References", "Newsgroups",
        "In-Reply-To", "Content-Type", "Reply-To",
    ]

    /// (wire form without the final CRLF, tag, command).
    static let valid: [(String, IMAPTag, IMAPCommand)] = [
        // RFC 3501 §6.1 and §8.
        ("abcd CAPABILITY", "abcd", .capability),
        // Extensions: RFC 3691, 2342, 2971, 5161, 2177, 4315, 6851.
        ("a UNSELECT", "a", .unselect),
        ("a NAMESPACE", "a", .namespace),
        ("a ID NIL", "a", .id(nil)),
        (
            "a ID (\"name\" \"sodr\" \"version\" NIL)", "a",
            .id([IMAPIDField(name: "name", value: "sodr"), IMAPIDField(name: "version", value: nil)])
        ),
        ("a ENABLE condstore QRESYNC", "a", .enable(["CONDSTORE", "QRESYNC"])),
        ("a IDLE", "a", .idle),
        ("a UID EXPUNGE 3:5,9", "a", .uidExpunge(IMAPSequenceSet([.init(.number(3), .number(5)), .init(.number(9), .number(9))]))),
        ("a MOVE 1:* Trash", "a", .move(IMAPSequenceSet([.init(.number(1), .star)]), to: IMAPMailbox("Trash"), uid: false)),
        ("a UID MOVE 7 \"Old mail\"", "a", .move(IMAPSequenceSet([.init(.number(7), .number(7))]), to: IMAPMailbox("Old mail"), uid: true)),
        ("a002 NOOP", "a002", .noop),
        ("A023 LOGOUT", "A023", .logout),
        ("a001 STARTTLS", "a001", .startTLS),
        ("a001 login mrc secret", "a001", .login(username: bytes("mrc"), password: bytes("secret"))),
        ("A001 AUTHENTICATE GSSAPI", "A001", .authenticate(mechanism: "GSSAPI", initialResponse: nil)),
        ("A142 SELECT INBOX", "A142", .select(IMAPMailbox("INBOX"), parameters: [])),
        ("A932 EXAMINE blurdybloop", "A932", .examine(IMAPMailbox("blurdybloop"), parameters: [])),
        ("A003 CREATE owatagusiam/", "A003", .create(IMAPMailbox("owatagusiam/"))),
        ("A683 DELETE blurdybloop", "A683", .delete(IMAPMailbox("blurdybloop"))),
        // RFC 9208 §4.1.
        ("G0001 GETQUOTA \"!partition/sda4\"", "G0001", .getQuota(root: bytes("!partition/sda4"))),
        ("G0001 getquota \"\"", "G0001", .getQuota(root: [])),
        ("G0002 GETQUOTAROOT inbox", "G0002", .getQuotaRoot(IMAPMailbox("INBOX"))),
        (
            "S0003 STATUS INBOX (MESSAGES DELETED DELETED-STORAGE)", "S0003",
            .status(IMAPMailbox("INBOX"), items: [.messages, .deleted, .deletedStorage])
        ),
        // RFC 6154 §5.3.
        ("t2 CREATE MySpecial (USE (\\Drafts \\Sent))", "t2", .create(IMAPMailbox("MySpecial"), uses: ["\\Drafts", "\\Sent"])),
        ("t2 create Empty (use ())", "t2", .create(IMAPMailbox("Empty"), uses: [])),
        // RFC 5258 §5's examples, RFC 5819 §3 and RFC 6154 §5.2.
        (
            "A02 LIST (SUBSCRIBED) \"\" \"*\"", "A02",
            .list(IMAPListCommand(selection: [.subscribed], reference: [], patterns: [bytes("*")], returns: .init(subscribed: true)))
        ),
        (
            "A03 LIST () \"\" \"%\" RETURN (CHILDREN)", "A03",
            .list(IMAPListCommand(selection: [], reference: [], patterns: [bytes("%")], returns: .init(children: true)))
        ),
        (
            "A04 LIST (REMOTE) \"\" \"%\" RETURN (CHILDREN)", "A04",
            .list(IMAPListCommand(selection: [.remote], reference: [], patterns: [bytes("%")], returns: .init(children: true)))
        ),
        (
            "A05 LIST (remote subscribed) \"\" \"*\"", "A05",
            .list(
                IMAPListCommand(selection: [.remote, .subscribed], reference: [], patterns: [bytes("*")], returns: .init(subscribed: true)))
        ),
        (
            "C04 LIST (SUBSCRIBED RECURSIVEMATCH) \"\" \"%\"", "C04",
            .list(
                IMAPListCommand(
                    selection: [.subscribed, .recursiveMatch], reference: [], patterns: [bytes("%")], returns: .init(subscribed: true)))
        ),
        (
            "BBB LIST \"\" (\"INBOX\" \"Drafts\" \"Sent/%\")", "BBB",
            .list(
                IMAPListCommand(
                    selection: [], reference: [], patterns: [bytes("INBOX"), bytes("Drafts"), bytes("Sent/%")], returns: .init()))
        ),
        (
            "A01 LIST \"\" % RETURN (STATUS (MESSAGES UNSEEN))", "A01",
            .list(IMAPListCommand(selection: [], reference: [], patterns: [bytes("%")], returns: .init(status: [.messages, .unseen])))
        ),
        (
            "t3 LIST (SPECIAL-USE) \"\" \"*\"", "t3",
            .list(IMAPListCommand(selection: [.specialUse], reference: [], patterns: [bytes("*")], returns: .init(specialUse: true)))
        ),
        (
            "t2 LIST \"\" \"%\" RETURN (SPECIAL-USE SUBSCRIBED)", "t2",
            .list(IMAPListCommand(selection: [], reference: [], patterns: [bytes("%")], returns: .init(subscribed: true, specialUse: true)))
        ),
        (
            "t2 LIST \"\" \"%\" RETURN ()", "t2",
            .list(IMAPListCommand(selection: [], reference: [], patterns: [bytes("%")], returns: .init()))
        ),
        ("A683 RENAME blurdybloop sarasoop", "A683", .rename(from: IMAPMailbox("blurdybloop"), to: IMAPMailbox("sarasoop"))),
        ("A685 RENAME foo zowie", "A685", .rename(from: IMAPMailbox("foo"), to: IMAPMailbox("zowie"))),
        ("A002 SUBSCRIBE #news.comp.mail.mime", "A002", .subscribe(IMAPMailbox("#news.comp.mail.mime"))),
        ("A002 UNSUBSCRIBE #news.comp.mail.mime", "A002", .unsubscribe(IMAPMailbox("#news.comp.mail.mime"))),
        ("A101 LIST \"\" \"\"", "A101", .list(IMAPListCommand(reference: [], pattern: []))),
        ("A102 LIST #news.comp.mail.misc \"\"", "A102", .list(IMAPListCommand(reference: bytes("#news.comp.mail.misc"), pattern: []))),
        ("A103 LIST /usr/staff/jones \"\"", "A103", .list(IMAPListCommand(reference: bytes("/usr/staff/jones"), pattern: []))),
        ("A202 LIST ~/Mail/ %", "A202", .list(IMAPListCommand(reference: bytes("~/Mail/"), pattern: bytes("%")))),
        ("A002 LSUB \"#news.\" \"comp.mail.*\"", "A002", .lsub(reference: bytes("#news."), pattern: bytes("comp.mail.*"))),
        ("A003 LSUB \"#news.\" \"comp.%\"", "A003", .lsub(reference: bytes("#news."), pattern: bytes("comp.%"))),
        ("a LIST \"\" foo]bar*", "a", .list(IMAPListCommand(reference: [], pattern: bytes("foo]bar*")))),
        (
            "A042 STATUS blurdybloop (UIDNEXT MESSAGES)", "A042",
            .status(IMAPMailbox("blurdybloop"), items: [.uidNext, .messages])
        ),
        ("FXXZ CHECK", "FXXZ", .check),
        ("A341 CLOSE", "A341", .close),
        ("A202 EXPUNGE", "A202", .expunge),
        (
            "A282 SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", "A282",
            .search(
                charset: nil,
                key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from(bytes("Smith")))]),
                uid: false)
        ),
        (
            "A283 SEARCH TEXT \"string not in mailbox\"", "A283",
            .search(charset: nil, key: .text(bytes("string not in mailbox")), uid: false)
        ),
        (
            "A284 SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX", "A284",
            .search(charset: "UTF-8", key: .text(bytes("XXXXXX")), uid: false)
        ),
        (
            "A654 FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])", "A654",
            .fetch(
                set((.number(2), .number(4))), attributes: [.flags, body(IMAPSection(text: .headerFields(["DATE", "FROM"])))], uid: false)
        ),
        (
            "a003 fetch 12 full", "a003",
            .fetch(one(12), attributes: [.flags, .internalDate, .rfc822Size, .envelope, .body], uid: false)
        ),
        ("a004 fetch 12 body[header]", "a004", .fetch(one(12), attributes: [body(IMAPSection(text: .header))], uid: false)),
        ("A005 FETCH 1 ALL", "A005", .fetch(one(1), attributes: [.flags, .internalDate, .rfc822Size, .envelope], uid: false)),
        ("A006 FETCH 1:* FAST", "A006", .fetch(set((.number(1), .star)), attributes: [.flags, .internalDate, .rfc822Size], uid: false)),
        (
            "A003 STORE 2:4 +FLAGS (\\Deleted)", "A003",
            .store(set((.number(2), .number(4))), IMAPStoreAction(operation: .add, silent: false, flags: ["\\Deleted"]), uid: false)
        ),
        (
            "A003 COPY 2:4 MEETING", "A003", .copy(set((.number(2), .number(4))), to: IMAPMailbox("MEETING"), uid: false)
        ),
        (
            "A999 UID FETCH 4827313:4828442 FLAGS", "A999",
            .fetch(set((.number(4_827_313), .number(4_828_442))), attributes: [.flags], uid: true)
        ),
        // RFC 5256 §3's examples.
        (
            "A283 SORT (SUBJECT REVERSE DATE) UTF-8 ALL", "A283",
            .sort(
                criteria: [IMAPSortCriterion(.subject), IMAPSortCriterion(.date, reverse: true)], charset: "UTF-8", key: .all, uid: false)
        ),
        (
            "A284 UID sort (subject) US-ASCII TEXT \"not in mailbox\"", "A284",
            .sort(criteria: [IMAPSortCriterion(.subject)], charset: "US-ASCII", key: .text(bytes("not in mailbox")), uid: true)
        ),
        (
            "A285 THREAD REFERENCES UTF-8 SINCE 5-MAR-2000", "A285",
            .thread(algorithm: "REFERENCES", charset: "UTF-8", key: .since(IMAPDate(year: 2000, month: 3, day: 5)), uid: false)
        ),
        ("A286 UID THREAD orderedsubject UTF-8 ALL", "A286", .thread(algorithm: "ORDEREDSUBJECT", charset: "UTF-8", key: .all, uid: true)),
        // RFC 4731 §3.1 and RFC 5182 §2's examples.
        (
            "A282 SEARCH RETURN (MIN COUNT) FLAGGED SINCE 1-Feb-1994 NOT FROM \"Smith\"", "A282",
            .search(
                charset: nil,
                key: .and([.flagged, .since(IMAPDate(year: 1994, month: 2, day: 1)), .not(.from(bytes("Smith")))]), uid: false,
                returns: IMAPSearchReturn(min: true, count: true))
        ),
        ("A283 SEARCH RETURN () FLAGGED", "A283", .search(charset: nil, key: .flagged, uid: false, returns: IMAPSearchReturn(all: true))),
        (
            "A301 UID SEARCH RETURN (SAVE) CHARSET UTF-8 UNSEEN", "A301",
            .search(charset: "UTF-8", key: .unseen, uid: true, returns: IMAPSearchReturn(save: true))
        ),
        ("A302 COPY $ \"Other Messages\"", "A302", .copy(.saved, to: IMAPMailbox("Other Messages"), uid: false)),
        ("A303 UID SEARCH UID $ SMALLER 4096", "A303", .search(charset: nil, key: .and([.uid(.saved), .smaller(4096)]), uid: true)),
        ("A304 FETCH $ (UID)", "A304", .fetch(.saved, attributes: [.uid], uid: false)),
        // RFC 7162 §3.1.3, §3.1.4.1 and §3.2.6's examples.
        (
            "a103 UID STORE 6,4,8 (UNCHANGEDSINCE 12121230045) +FLAGS.SILENT (\\Deleted)", "a103",
            .store(
                IMAPSequenceSet([.init(.number(6), .number(6)), .init(.number(4), .number(4)), .init(.number(8), .number(8))]),
                IMAPStoreAction(operation: .add, silent: true, flags: ["\\Deleted"], unchangedSince: 12_121_230_045), uid: true)
        ),
        (
            "a102 STORE 12 (UNCHANGEDSINCE 0) +FLAGS.SILENT ($MDNSent)", "a102",
            .store(one(12), IMAPStoreAction(operation: .add, silent: true, flags: ["$MDNSent"], unchangedSince: 0), uid: false)
        ),
        (
            "s100 UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)", "s100",
            .fetch(set((.number(1), .star)), attributes: [.flags], uid: true, modifiers: IMAPFetchModifiers(changedSince: 12345))
        ),
        (
            "s100 UID FETCH 300:500 (FLAGS) (CHANGEDSINCE 12345 VANISHED)", "s100",
            .fetch(
                set((.number(300), .number(500))), attributes: [.flags], uid: true,
                modifiers: IMAPFetchModifiers(changedSince: 12345, vanished: true))
        ),
        ("a FETCH 1 (MODSEQ)", "a", .fetch(one(1), attributes: [.modseq], uid: false)),
        (
            "A03 SELECT INBOX (QRESYNC (67890007 90060115194045000 41:211,214:541))", "A03",
            .select(
                IMAPMailbox("INBOX"),
                parameters: [IMAPSelectParameter(name: "QRESYNC", value: "(67890007 90060115194045000 41:211,214:541)")])
        ),
        // Python imaplib.
        ("a001 LOGIN \"user\" \"pass\"", "a001", .login(username: bytes("user"), password: bytes("pass"))),
        ("a002 SELECT INBOX", "a002", .select(IMAPMailbox("INBOX"), parameters: [])),
        ("a003 FETCH 1:3 (RFC822)", "a003", .fetch(set((.number(1), .number(3))), attributes: [.rfc822], uid: false)),
        ("a004 UID FETCH 1:* (UID FLAGS)", "a004", .fetch(set((.number(1), .star)), attributes: [.uid, .flags], uid: true)),
        ("a005 SELECT \"inbox\"", "a005", .select(IMAPMailbox("INBOX"), parameters: [])),
        ("a006 EXAMINE iNbOx", "a006", .examine(IMAPMailbox("INBOX"), parameters: [])),
        (
            "a007 LOGIN \"us\\\"er\" \"pa\\\\ss\"", "a007",
            .login(username: bytes("us\"er"), password: bytes("pa\\ss"))
        ),
        (
            "a008 AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==", "a008",
            .authenticate(mechanism: "PLAIN", initialResponse: Array("\0alice\0secret".utf8))
        ),
        ("a009 authenticate plain =", "a009", .authenticate(mechanism: "PLAIN", initialResponse: [])),
        // imapclient.
        (
            "B1 UID FETCH 5 (BODY.PEEK[HEADER.FIELDS (FROM SUBJECT)])", "B1",
            .fetch(one(5), attributes: [peek(IMAPSection(text: .headerFields(["FROM", "SUBJECT"])))], uid: true)
        ),
        ("B2 UID SEARCH ALL", "B2", .search(charset: nil, key: .all, uid: true)),
        ("B3 STATUS \"INBOX\" (MESSAGES UNSEEN)", "B3", .status(IMAPMailbox("INBOX"), items: [.messages, .unseen])),
        (
            "B4 SELECT \"INBOX\" (CONDSTORE)", "B4",
            .select(IMAPMailbox("INBOX"), parameters: [IMAPSelectParameter(name: "CONDSTORE")])
        ),
        // curl.
        ("A002 LIST \"\" *", "A002", .list(IMAPListCommand(reference: [], pattern: bytes("*")))),
        ("A003 SELECT INBOX", "A003", .select(IMAPMailbox("INBOX"), parameters: [])),
        ("A004 FETCH 1 BODY[]", "A004", .fetch(one(1), attributes: [body(IMAPSection())], uid: false)),
        // mbsync.
        (
            "4 UID STORE 5 +FLAGS.SILENT (\\Deleted)", "4",
            .store(one(5), IMAPStoreAction(operation: .add, silent: true, flags: ["\\Deleted"]), uid: true)
        ),
        (
            "5 UID FETCH 1:* (UID FLAGS)", "5", .fetch(set((.number(1), .star)), attributes: [.uid, .flags], uid: true)
        ),
        // Thunderbird.
        ("7 UID fetch 1:* (FLAGS)", "7", .fetch(set((.number(1), .star)), attributes: [.flags], uid: true)),
        (
            "8 UID fetch 5 (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])",
            "8",
            .fetch(one(5), attributes: [.uid, .rfc822Size, .flags, peek(IMAPSection(text: .headerFields(thunderbirdHeaders)))], uid: true)
        ),
        ("9 lsub \"\" \"*\"", "9", .lsub(reference: [], pattern: bytes("*"))),
        (
            "10 UID store 3,5:7 -FLAGS (\\Seen $Forwarded)", "10",
            .store(
                set((.number(3), .number(3)), (.number(5), .number(7))),
                IMAPStoreAction(operation: .remove, silent: false, flags: ["\\Seen", "$Forwarded"]), uid: true)
        ),
        ("11 uid copy 1:2 \"Trash\"", "11", .copy(set((.number(1), .number(2))), to: IMAPMailbox("Trash"), uid: true)),
        // Sections and partials.
        (
            "c1 FETCH 1 (BODY[1.2.3] BODY.PEEK[2.MIME] BODY[1.HEADER] BODY[3.TEXT] BODY[TEXT]<0.2048>)", "c1",
            .fetch(
                one(1),
                attributes: [
                    body(IMAPSection(part: [1, 2, 3])), peek(IMAPSection(part: [2], text: .mime)),
                    body(IMAPSection(part: [1], text: .header)), body(IMAPSection(part: [3], text: .text)),
                    body(IMAPSection(text: .text), IMAPPartial(offset: 0, length: 2048)),
                ], uid: false)
        ),
        (
            "c2 FETCH 1 BODY.PEEK[HEADER.FIELDS.NOT (\"Received\" {4}\r\nX-Ab)]<4294967295.4294967295>", "c2",
            .fetch(
                one(1),
                attributes: [
                    peek(IMAPSection(text: .headerFieldsNot(["Received", "X-Ab"])), IMAPPartial(offset: .max, length: .max))
                ], uid: false)
        ),
        (
            "c3 FETCH 4294967295 (ENVELOPE INTERNALDATE RFC822.HEADER RFC822.TEXT BODY BODYSTRUCTURE MODSEQ)", "c3",
            .fetch(
                one(.max), attributes: [.envelope, .internalDate, .rfc822Header, .rfc822Text, .body, .bodyStructure, .modseq],
                uid: false)
        ),
        // RFC 3516: BINARY, BINARY.PEEK, BINARY.SIZE with section-binary (part numbers only).
        (
            "c5 UID FETCH 1 (BINARY[1.2] BINARY.PEEK[]<0.100> BINARY.SIZE[3] binary.peek[4]<5.6>)", "c5",
            .fetch(
                one(1),
                attributes: [
                    .binary(part: [1, 2], partial: nil, peek: false),
                    .binary(part: [], partial: IMAPPartial(offset: 0, length: 100), peek: true),
                    .binarySize(part: [3]), .binary(part: [4], partial: IMAPPartial(offset: 5, length: 6), peek: true),
                ], uid: true)
        ),
        ("c4 FETCH *:3,7 UID", "c4", .fetch(set((.star, .number(3)), (.number(7), .number(7))), attributes: [.uid], uid: false)),
        // STORE forms.
        ("d1 STORE 1 FLAGS ()", "d1", .store(one(1), IMAPStoreAction(operation: .replace, silent: false, flags: []), uid: false)),
        (
            "d2 STORE 1 -FLAGS.SILENT \\Seen Junk", "d2",
            .store(one(1), IMAPStoreAction(operation: .remove, silent: true, flags: ["\\Seen", "Junk"]), uid: false)
        ),
        (
            "d3 store 1 flags.silent (\\Answered)", "d3",
            .store(one(1), IMAPStoreAction(operation: .replace, silent: true, flags: ["\\Answered"]), uid: false)
        ),
        // SEARCH keys.
        (
            "e1 SEARCH OR (FROM a SUBJECT b) (NOT SEEN) UNDELETED", "e1",
            .search(
                charset: nil,
                key: .and([.or(.and([.from(bytes("a")), .subject(bytes("b"))]), .not(.seen)), .undeleted]), uid: false)
        ),
        (
            "e2 UID SEARCH UID 1:100 (ANSWERED) DELETED DRAFT NEW OLD RECENT UNANSWERED UNDRAFT UNFLAGGED UNSEEN", "e2",
            .search(
                charset: nil,
                key: .and([
                    .uid(set((.number(1), .number(100)))), .answered, .deleted, .draft, .new, .old, .recent, .unanswered,
                    .undraft, .unflagged, .unseen,
                ]), uid: true)
        ),
        (
            "e3 SEARCH KEYWORD $Junk UNKEYWORD Work LARGER 100 SMALLER 4294967295 HEADER Message-ID \"<x@y>\"", "e3",
            .search(
                charset: nil,
                key: .and([
                    .keyword("$Junk"), .unkeyword("Work"), .larger(100), .smaller(.max), .header("Message-ID", bytes("<x@y>")),
                ]), uid: false)
        ),
        (
            "e4 SEARCH BEFORE 01-Feb-1994 ON \"29-Feb-2000\" SENTBEFORE 1-jan-2026 SENTON 31-Dec-1999 SENTSINCE 1-Mar-2024",
            "e4",
            .search(
                charset: nil,
                key: .and([
                    .before(IMAPDate(year: 1994, month: 2, day: 1)), .on(IMAPDate(year: 2000, month: 2, day: 29)),
                    .sentBefore(IMAPDate(year: 2026, month: 1, day: 1)), .sentOn(IMAPDate(year: 1999, month: 12, day: 31)),
                    .sentSince(IMAPDate(year: 2024, month: 3, day: 1)),
                ]), uid: false)
        ),
        (
            "e5 SEARCH BCC a CC b BODY c TO d 2,4:*", "e5",
            .search(
                charset: nil,
                key: .and([
                    .bcc(bytes("a")), .cc(bytes("b")), .body(bytes("c")), .to(bytes("d")),
                    .sequence(set((.number(2), .number(2)), (.number(4), .star))),
                ]),
                uid: false)
        ),
        (
            "e6 SEARCH MODSEQ 620162338", "e6", .search(charset: nil, key: .modseq(620_162_338), uid: false)
        ),
        (
            "e7 SEARCH MODSEQ \"/flags/\\\\draft\" all 620162338", "e7",
            .search(charset: nil, key: .modseq(620_162_338), uid: false)
        ),
        ("e8 SEARCH (ALL)", "e8", .search(charset: nil, key: .all, uid: false)),
        (
            "e9 SEARCH SUBJECT \"caf\u{e9}\"", "e9", .search(charset: nil, key: .subject(bytes("caf\u{e9}")), uid: false)
        ),
        // Literals.
        ("f1 LOGIN {4}\r\nuser {0}\r\n", "f1", .login(username: bytes("user"), password: [])),
        ("f2 LOGIN alice {11}\r\npass\r\nword!", "f2", .login(username: bytes("alice"), password: bytes("pass\r\nword!"))),
        ("f3 LOGIN {5+}\r\nalice {3+}\r\n{}\"", "f3", .login(username: bytes("alice"), password: bytes("{}\""))),
        ("f4 SELECT {5}\r\ninBoX", "f4", .select(IMAPMailbox("INBOX"), parameters: [])),
        (
            "f5 RENAME {3}\r\nold {3}\r\nnew", "f5", .rename(from: IMAPMailbox("old"), to: IMAPMailbox("new"))
        ),
        (
            "f6 LIST {0}\r\n {1}\r\n%", "f6", .list(IMAPListCommand(reference: [], pattern: bytes("%")))
        ),
        // SELECT parameters (RFC 4466, RFC 7162).
        (
            "g1 SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))", "g1",
            .select(
                IMAPMailbox("INBOX"),
                parameters: [IMAPSelectParameter(name: "QRESYNC", value: "(67890007 20050715194045000 41,43:211,214:541)")])
        ),
        (
            "g2 EXAMINE Drafts (condstore X-FOO 12)", "g2",
            .examine(
                IMAPMailbox("Drafts"),
                parameters: [IMAPSelectParameter(name: "CONDSTORE"), IMAPSelectParameter(name: "X-FOO", value: "12")])
        ),
        // Mailbox names in modified UTF-7 (§5.1.3) stay encoded.
        (
            "h1 CREATE ~peter/mail/&U,BTFw-/&ZeVnLIqe-", "h1", .create(IMAPMailbox("~peter/mail/&U,BTFw-/&ZeVnLIqe-"))
        ),
        (
            "h2 STATUS Archive (UIDVALIDITY RECENT HIGHESTMODSEQ SIZE)", "h2",
            .status(IMAPMailbox("Archive"), items: [.uidValidity, .recent, .highestModseq, .size])
        ),
    ]

    @Test(arguments: valid)
    func parses(wire: String, tag: IMAPTag, command: IMAPCommand) throws {
        let expected = IMAPTaggedCommand(tag: tag, command: command)
        #expect(try IMAPCommandParser.parse(Array(wire.utf8)) == expected)
        let frames = FramerDriver().framesBothWays(wire + "\r\n")
        #expect(frames.last == .command(expected))
        #expect(frames.dropLast().allSatisfy { if case .continuationNeeded(tag, _) = $0 { true } else { false } })
    }

    @Test func synchronizingLiteralsAskOncePerLiteral() {
        let frames = FramerDriver().framesBothWays("f5 RENAME {3}\r\nold {3}\r\nnew\r\n")
        #expect(frames.count == 3)
        #expect(frames[0] == .continuationNeeded(tag: "f5", size: 3))
        #expect(frames[1] == .continuationNeeded(tag: "f5", size: 3))
    }

    /// (wire form, the tag the error keeps, the code).
    static let malformed: [(String, IMAPTag?, IMAPSyntaxError.Code)] = [
        ("", nil, .invalidTag),
        ("NOOP", nil, .invalidTag),
        (" a NOOP", nil, .invalidTag),
        ("a+ NOOP", nil, .invalidTag),
        ("a* NOOP", nil, .invalidTag),
        ("a", nil, .invalidTag),
        ("a ", "a", .unexpectedEnd),
        ("a FOO", "a", .unknownCommand),
        ("a UID CHECK", "a", .unknownCommand),
        ("a ID (\"name\")", "a", .invalidParameter),
        ("a ID BOGUS", "a", .invalidParameter),
        ("a UID EXPUNGE", "a", .unexpectedEnd),
        ("a UID", "a", .unexpectedEnd),
        ("a NOOP x", "a", .unexpectedCharacters),
        ("a NOOP ", "a", .unexpectedCharacters),
        ("a  NOOP", "a", .unknownCommand),
        ("a LOGIN user", "a", .unexpectedEnd),
        ("a LOGIN  user pass", "a", .invalidString),
        ("a LOGIN user pass extra", "a", .unexpectedCharacters),
        ("a LOGIN \"user pass", "a", .invalidString),
        ("a LOGIN \"us\\er\" pass", "a", .invalidString),
        ("a LOGIN {5}\r\nabc", "a", .invalidLiteral),
        ("a LOGIN {x}\r\nabc", "a", .invalidLiteral),
        ("a LOGIN {99999999999999999999}\r\nabc", "a", .invalidLiteral),
        ("a SELECT", "a", .unexpectedEnd),
        ("a SELECT INBOX ()", "a", .invalidParameter),
        // RFC 5258 §3: unknown options are BAD; RECURSIVEMATCH needs SUBSCRIBED (§3.1, RFC 6154 §6).
        ("a LIST (BOGUS) \"\" *", "a", .invalidParameter),
        ("a LIST (RECURSIVEMATCH) \"\" *", "a", .invalidParameter),
        ("a LIST (REMOTE RECURSIVEMATCH) \"\" *", "a", .invalidParameter),
        ("a LIST (SPECIAL-USE RECURSIVEMATCH) \"\" *", "a", .invalidParameter),
        ("a LIST \"\" * RETURN (BOGUS)", "a", .invalidParameter),
        ("a LIST \"\" * RETURNS (CHILDREN)", "a", .invalidParameter),
        ("a LIST \"\" * RETURN (STATUS (BOGUS))", "a", .unknownStatusItem),
        ("a LIST \"\" () RETURN (CHILDREN)", "a", .invalidString),
        ("a CREATE x (FOO (\\Sent))", "a", .invalidParameter),
        ("a CREATE x (USE (Sent))", "a", .invalidParameter),
        ("a CREATE x ()", "a", .invalidParameter),
        ("a GETQUOTA", "a", .unexpectedEnd),
        ("a SEARCH RETURN (PARTIAL 1:5) ALL", "a", .invalidParameter),
        ("a SORT () UTF-8 ALL", "a", .invalidParameter),
        ("a SORT (COLOUR) UTF-8 ALL", "a", .invalidParameter),
        ("a SORT (REVERSE) UTF-8 ALL", "a", .expectedSpace),
        ("a SORT (DATE) ALL", "a", .unexpectedEnd),
        ("a THREAD REFERENCES UTF-8", "a", .unexpectedEnd),
        ("a SEARCH RETURN (MIN", "a", .unexpectedEnd),
        ("a FETCH $,1 FLAGS", "a", .expectedSpace),
        // RFC 7162: CHANGEDSINCE needs a mod-sequence above 0; VANISHED needs UID FETCH and
        // CHANGEDSINCE (§3.2.6); UNCHANGEDSINCE is the only STORE modifier.
        ("a FETCH 1 FLAGS (CHANGEDSINCE 0)", "a", .invalidNumber),
        ("a UID FETCH 1 FLAGS (VANISHED)", "a", .invalidParameter),
        ("a FETCH 1 FLAGS (CHANGEDSINCE 5 VANISHED)", "a", .invalidParameter),
        ("a FETCH 1 FLAGS (FROB 5)", "a", .invalidParameter),
        ("a FETCH 1 FLAGS (CHANGEDSINCE 99999999999999999999)", "a", .numberTooLarge),
        ("a STORE 1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)", "a", .invalidNumber),
        ("a STORE 1 (FROB 1) +FLAGS (\\Seen)", "a", .invalidParameter),
        ("a GETQUOTAROOT", "a", .unexpectedEnd),
        ("a GETQUOTAROOT INBOX x", "a", .unexpectedCharacters),
        ("a SELECT INBOX (1X)", "a", .invalidParameter),
        ("a SELECT INBOX CONDSTORE", "a", .unexpectedCharacters),
        ("a STATUS INBOX ()", "a", .unknownStatusItem),
        ("a STATUS INBOX (MESSAGES BOGUS)", "a", .unknownStatusItem),
        ("a STATUS INBOX MESSAGES", "a", .unexpectedCharacters),
        ("a FETCH 0 FLAGS", "a", .invalidSequenceSet),
        ("a FETCH 01 FLAGS", "a", .invalidSequenceSet),
        ("a FETCH 1: FLAGS", "a", .invalidSequenceSet),
        ("a FETCH 1,,2 FLAGS", "a", .invalidSequenceSet),
        ("a FETCH 4294967296 FLAGS", "a", .numberTooLarge),
        ("a FETCH 1 ()", "a", .unknownFetchAttribute),
        ("a FETCH 1 (FLAGS ALL)", "a", .unknownFetchAttribute),
        ("a FETCH 1 BOGUS", "a", .unknownFetchAttribute),
        ("a FETCH 1 BODY.PEEK", "a", .invalidSection),
        ("a FETCH 1 BODY[MIME]", "a", .invalidSection),
        ("a FETCH 1 BODY[1.]", "a", .invalidSection),
        ("a FETCH 1 BINARY[1.TEXT]", "a", .invalidSection),
        ("a FETCH 1 BINARY[HEADER]", "a", .invalidSection),
        ("a FETCH 1 BINARY.SIZE", "a", .invalidSection),
        ("a FETCH 1 BINARY.SIZE[1]<0.5>", "a", .unexpectedCharacters),
        ("a FETCH 1 BODY[0]", "a", .invalidNumber),
        ("a FETCH 1 BODY[HEADER.FIELDS]", "a", .expectedSpace),
        ("a FETCH 1 BODY[HEADER.FIELDS ()]", "a", .invalidString),
        ("a FETCH 1 BODY[HEADER.FIELDS (a:b)]", "a", .invalidHeaderName),
        ("a FETCH 1 BODY[TEXT", "a", .unexpectedEnd),
        ("a FETCH 1 BODY[]<0.0>", "a", .invalidNumber),
        ("a FETCH 1 BODY[]<1>", "a", .invalidSection),
        ("a FETCH 1 BODY[]<4294967296.1>", "a", .numberTooLarge),
        ("a FETCH 1 (FLAGS", "a", .unexpectedEnd),
        ("a FETCH 1 (FLAGS  UID)", "a", .unknownFetchAttribute),
        ("a STORE 1 FLAGS", "a", .unexpectedEnd),
        ("a STORE 1 XFLAGS (\\Seen)", "a", .invalidStoreAction),
        ("a STORE 1 +FLAGS (\\Seen", "a", .unexpectedEnd),
        ("a STORE 1 +FLAGS (\\)", "a", .invalidFlag),
        ("a STORE 1 +FLAGS (\\*)", "a", .invalidFlag),
        ("a SEARCH", "a", .unexpectedEnd),
        ("a SEARCH BOGUS", "a", .unknownSearchKey),
        ("a SEARCH FROM", "a", .unexpectedEnd),
        ("a SEARCH OR SEEN", "a", .unexpectedEnd),
        ("a SEARCH NOT", "a", .unexpectedEnd),
        ("a SEARCH (SEEN", "a", .unexpectedEnd),
        ("a SEARCH ()", "a", .unknownSearchKey),
        ("a SEARCH SINCE 32-Jan-2020", "a", .invalidDate),
        ("a SEARCH SINCE 29-Feb-1900", "a", .invalidDate),
        ("a SEARCH SINCE 1-Foo-2020", "a", .invalidDate),
        ("a SEARCH SINCE 1-Jan-20", "a", .invalidDate),
        ("a SEARCH SINCE \"1-Jan-2020", "a", .unexpectedEnd),
        ("a SEARCH SINCE \"1-Jan-2020 ALL", "a", .invalidDate),
        ("a SEARCH LARGER 4294967296", "a", .numberTooLarge),
        ("a SEARCH MODSEQ 9223372036854775808", "a", .numberTooLarge),
        ("a SEARCH CHARSET", "a", .unexpectedEnd),
        ("a AUTHENTICATE", "a", .unexpectedEnd),
        ("a AUTHENTICATE PLAIN ***", "a", .invalidBase64),
        ("a AUTHENTICATE PLAIN AGFsaWN", "a", .invalidBase64),
        ("a AUTHENTICATE PLAIN = x", "a", .unexpectedCharacters),
        ("a APPEND INBOX", "a", .missingLiteral),
        ("a COPY 1", "a", .unexpectedEnd),
        ("a NOOP\r", "a", .unexpectedCharacters),
        ("a LOGIN us\u{7f}er pass", "a", .expectedSpace),
    ]

    @Test(arguments: malformed)
    func refuses(wire: String, tag: IMAPTag?, code: IMAPSyntaxError.Code) {
        #expect(throws: IMAPSyntaxError.self) { try IMAPCommandParser.parse(Array(wire.utf8)) }
        do {
            _ = try IMAPCommandParser.parse(Array(wire.utf8))
        } catch {
            #expect(error.code == code, "\(wire.debugDescription): \(error.code)")
            #expect(error.tag == tag)
        }
    }

    @Test func errorsNameTheCommand() {
        #expect(throws: IMAPSyntaxError(.invalidSequenceSet, tag: "a1", command: .fetch)) {
            try IMAPCommandParser.parse(Array("a1 FETCH x FLAGS".utf8))
        }
        let error = IMAPSyntaxError(.invalidSequenceSet, tag: "a1", command: .fetch)
        #expect(error.message == "FETCH: invalid sequence set")
        #expect(IMAPSyntaxError(.unknownCommand, tag: "a1").message == "unknown command")
    }

    @Test func refusedCommandsThroughTheFramerKeepTheTag() {
        let frames = FramerDriver().framesBothWays("a1 FETCH x FLAGS\r\nBAD\r\na2 FOO\r\na3 NOOP\r\n")
        #expect(frames.map(\.badTag?.tag) == ["a1", nil, "a2", nil])
        #expect(frames.first == .bad(tag: "a1", message: "FETCH: invalid sequence set", fatal: false))
        #expect(frames.last == .command(IMAPTaggedCommand(tag: "a3", command: .noop)))
    }

    // MARK: date-time

    static let dateTimes: [(String, Int64, Int)] = [
        ("\"01-Jan-2026 10:00:00 +0000\"", 1_767_261_600, 0),
        ("\"17-Jul-1996 02:44:25 -0700\"", 837_596_665, -420),
        ("\" 1-Feb-1994 00:00:00 +0130\"", 760_055_400, 90),
        ("\"1-Feb-1994 00:00:00 +0130\"", 760_055_400, 90),
        ("\"29-Feb-2024 23:59:59 +1400\"", 1_709_200_799, 840),
        ("\"01-Jan-1970 00:00:00 +0000\"", 0, 0),
    ]

    @Test(arguments: dateTimes)
    func appendDateTimes(text: String, seconds: Int64, zone: Int) {
        let frames = FramerDriver(acceptAppends: false).framesBothWays("a APPEND INBOX \(text) {0}\r\n")
        #expect(
            frames == [
                .appendBegin(
                    tag: "a", mailbox: IMAPMailbox("INBOX"), flags: [], date: IMAPDateTime(secondsSince1970: seconds, zoneMinutes: zone),
                    size: 0, synchronizing: true)
            ])
    }

    static let badDateTimes = [
        "\"01-Jan-2026 10:00:00\"", "\"01-Jan-2026 24:00:00 +0000\"", "\"01-Jan-2026 10:60:00 +0000\"",
        "\"31-Apr-2026 10:00:00 +0000\"", "\"01-Jan-2026 10:00:00 +0060\"", "\"01-Jan-2026 10:00 +0000\"",
        "\"01-Jan-2026  10:00:00 +0000\"", "01-Jan-2026",
    ]

    @Test(arguments: badDateTimes)
    func appendRefusesBadDateTimes(text: String) {
        let frames = FramerDriver().framesBothWays("a APPEND INBOX \(text) {0}\r\n")
        #expect(frames.count == 1)
        #expect(frames.first?.badTag?.tag == "a")
        #expect(frames.first?.badTag?.fatal == false)
    }

    // MARK: Limits

    /// RFC 7162 §3.2.5: the QRESYNC parameter's four forms, and what is not one.
    @Test func qresyncParameter() {
        let all = IMAPQResyncParameter("(67890007 90060115194045000 41:211,214:541 (1:20 500:509))")
        #expect(all?.uidValidity == 67_890_007 && all?.modseq == 90_060_115_194_045_000)
        #expect(all?.knownUIDs == IMAPSequenceSet([.init(.number(41), .number(211)), .init(.number(214), .number(541))]))
        #expect(all?.sequenceMatch?.sequences == Self.set((.number(1), .number(20))))
        #expect(all?.sequenceMatch?.uids == Self.set((.number(500), .number(509))))
        #expect(IMAPQResyncParameter("(1 2)") == IMAPQResyncParameter(uidValidity: 1, modseq: 2))
        #expect(IMAPQResyncParameter("(1 2 3:*)")?.knownUIDs == Self.set((.number(3), .star)))
        #expect(IMAPQResyncParameter("(1 2 (1 5))")?.sequenceMatch?.uids == Self.one(5))
        for bad in ["", "()", "(0 2)", "(1 0)", "(1)", "(1 2", "(1 2 x)", "(1 2 3 (4))", "(1 2) x", "1 2"] {
            #expect(IMAPQResyncParameter(bad) == nil, "\(bad)")
        }
    }

    @Test func sequenceRangesAtTheLimit() {
        let limits = IMAPLimits(sequenceRanges: 3)
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a FETCH 1,2,3:4 FLAGS".utf8), limits: limits) }
        #expect(throws: IMAPSyntaxError(.tooManyRanges, tag: "a", command: .fetch)) {
            try IMAPCommandParser.parse(Array("a FETCH 1,2,3:4,5 FLAGS".utf8), limits: limits)
        }
        let defaults = IMAPLimits()
        let many = (1...defaults.sequenceRanges).map { String($0 * 2) }.joined(separator: ",")
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a UID FETCH \(many) FLAGS".utf8)) }
        #expect(throws: IMAPSyntaxError(.tooManyRanges, tag: "a", command: .fetch)) {
            try IMAPCommandParser.parse(Array("a UID FETCH \(many),1 FLAGS".utf8))
        }
    }

    @Test func fetchAttributesAtTheLimit() {
        let limit = IMAPLimits().fetchAttributes
        let atLimit = Array(repeating: "UID", count: limit).joined(separator: " ")
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a FETCH 1 (\(atLimit))".utf8)) }
        #expect(throws: IMAPSyntaxError(.tooManyFetchAttributes, tag: "a", command: .fetch)) {
            try IMAPCommandParser.parse(Array("a FETCH 1 (\(atLimit) UID)".utf8))
        }
    }

    @Test func searchDepthAtTheLimit() {
        let limit = IMAPLimits().searchDepth
        let nots = String(repeating: "NOT ", count: limit)
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a SEARCH \(nots)SEEN".utf8)) }
        #expect(throws: IMAPSyntaxError(.searchTooDeep, tag: "a", command: .search)) {
            try IMAPCommandParser.parse(Array("a SEARCH NOT \(nots)SEEN".utf8))
        }
        let ors = String(repeating: "OR SEEN ", count: limit)
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a SEARCH \(ors)SEEN".utf8)) }
        #expect(throws: IMAPSyntaxError(.searchTooDeep, tag: "a", command: .search)) {
            try IMAPCommandParser.parse(Array("a SEARCH OR SEEN \(ors)SEEN".utf8))
        }
        // OR (OR (...: each OR and each parenthesis is a level.
        let half = limit / 2
        let nested = String(repeating: "OR (", count: half) + "SEEN" + String(repeating: ") SEEN", count: half)
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a SEARCH \(nested)".utf8)) }
        let deeper = "OR (" + nested + ") SEEN"
        #expect(throws: IMAPSyntaxError(.searchTooDeep, tag: "a", command: .search)) {
            try IMAPCommandParser.parse(Array("a SEARCH \(deeper)".utf8))
        }
    }

    @Test func parenthesisDepthAtTheLimit() {
        let limit = IMAPLimits().parenthesisDepth
        // select-param values nest parentheses with no search-key depth involved.
        let value = String(repeating: "(", count: limit - 1) + "1" + String(repeating: ")", count: limit - 1)
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a SELECT INBOX (X \(value))".utf8)) }
        #expect(throws: IMAPSyntaxError(.nestingTooDeep, tag: "a", command: .select)) {
            try IMAPCommandParser.parse(Array("a SELECT INBOX (X (\(value)))".utf8))
        }
        // In SEARCH the parentheses count against both limits; the lower one wins.
        let loose = IMAPLimits(parenthesisDepth: 4, searchDepth: 100)
        #expect(throws: Never.self) { try IMAPCommandParser.parse(Array("a SEARCH ((((SEEN))))".utf8), limits: loose) }
        #expect(throws: IMAPSyntaxError(.nestingTooDeep, tag: "a", command: .search)) {
            try IMAPCommandParser.parse(Array("a SEARCH (((((SEEN)))))".utf8), limits: loose)
        }
    }
}
