import MailCore
import Testing

@testable import MailFolders

/// Maildir names and mbox quoting (issue 14's import and export), as tables.
@Suite struct MaildirTests {
    static let keywords: [Character: String] = ["a": "$Junk", "b": "project-x"]

    @Test(
        arguments: [
            ("1700000000.M1P2.host:2,S", ["\\Seen"]),
            ("1700000000.M1P2.host:2,FRS", ["\\Seen", "\\Answered", "\\Flagged"]),
            ("1700000000.M1P2.host:2,DPTab", ["\\Deleted", "\\Draft", "$Forwarded", "$Junk", "project-x"]),
            ("1700000000.M1P2.host:2,Sz", ["\\Seen"]),  // a letter the keywords file does not name
            ("1700000000.M1P2.host", []),  // in new/: no info yet
            ("1700000000.M1P2.host,S=1234:2,S", ["\\Seen"]),
        ] as [(String, [String])])
    func flagsFromTheName(name: String, flags: [String]) {
        #expect(Maildir.flags(fileName: name, keywords: Self.keywords) == MessageFlags(names: flags))
    }

    @Test func anInvalidKeywordDoesNotCostTheOtherFlags() {
        let flags = Maildir.flags(fileName: "x:2,STa", keywords: ["a": "bad]keyword"])
        #expect(flags == MessageFlags(names: ["\\Seen", "\\Deleted"]))
    }

    @Test func infoRoundTripsWithLettersAssignedInOrder() {
        var letters = ["$Junk"]
        let flags = MessageFlags(names: ["\\Seen", "\\Flagged", "$Forwarded", "project-x", "$Junk"])!
        let info = Maildir.info(flags, letters: &letters)
        #expect(info == ":2,FPSab" && letters == ["$Junk", "project-x"])
        let back = Maildir.flags(fileName: "x" + info, keywords: Maildir.keywords(Maildir.keywordsFile(letters)))
        #expect(back == flags)
        var full = (0..<26).map { "k\($0)" }
        #expect(Maildir.info(MessageFlags(names: ["k99"])!, letters: &full) == ":2,", "no 27th letter")
    }

    @Test(
        arguments: [
            (".Sent", "Sent"), (".Lists.Swift", "Lists/Swift"), (".Entw&APw-rfe", "Entwürfe"), (".INBOX", "INBOX"), ("cur", nil),
            (".", nil), ("..", nil), (".a..b", nil), (".&Jjo", nil),
        ] as [(String, String?)])
    func maildirPlusPlusFolders(directory: String, folder: String?) {
        #expect(Maildir.folder(maildirPlusPlus: directory) == folder)
        if let folder, folder != "INBOX" { #expect(Maildir.directory(maildirPlusPlus: folder) == directory) }
    }

    @Test func dovecotUIDListKeepsTheOrder() {
        let text = "3 V1796349507 N3 Gabc\n2 W38 :1796349508.M2P1.vm,S=34\n1 :1796349507.M1P1.vm,S=34\nnot a line\n"
        #expect(Maildir.uids(text) == ["1796349508.M2P1.vm,S=34": 2, "1796349507.M1P1.vm,S=34": 1])
        #expect(Maildir.base("1796349507.M1P1.vm,S=34:2,FSab") == "1796349507.M1P1.vm,S=34")
        #expect(Maildir.base("1796349507.M1P1.vm") == "1796349507.M1P1.vm")
        let written = Maildir.uidlistFile(["a", "b"], uidValidity: 7)
        #expect(written == "3 V7 N3\n1 :a\n2 :b\n" && Maildir.uids(written) == ["a": 1, "b": 2])
    }

    @Test func aDotInAFolderNameCannotBeASeparator() {
        #expect(Maildir.directory(maildirPlusPlus: "v1.2/notes") == ".v1_2.notes")
        #expect(Maildir.directory(maildirPlusPlus: "INBOX") == nil)
    }

    @Test func lineEndings() {
        #expect(LineEndings.crlf(Array("a\nb\r\nc\n".utf8)) == Array("a\r\nb\r\nc\r\n".utf8))
        #expect(LineEndings.lf(Array("a\r\nb\r\rc\r\n".utf8)) == Array("a\nb\r\rc\n".utf8))
    }
}

@Suite struct MboxTests {
    static let file = """
        From alice@example.org Thu Dec  3 12:00:00 2026
        Subject: one
        Status: RO
        X-Status: AF
        X-Keywords: $Junk

        >From the start of a line
        >>From quoted once
        >>>From quoted twice

        From MAILER-DAEMON Fri Dec  4 01:02:03 2026
        Subject: two

        body

        """

    @Test func mboxrdUnquotesOneLevel() {
        let entries = Mbox.read(Array(Self.file.utf8), quoting: .mboxrd)
        #expect(entries.count == 2)
        #expect(
            entries[0].message
                == Array("Subject: one\r\n\r\nFrom the start of a line\r\n>From quoted once\r\n>>From quoted twice\r\n".utf8))
        #expect(entries[0].flags == MessageFlags(names: ["\\Seen", "\\Answered", "\\Flagged", "$Junk"]))
        #expect(entries[0].date == Mbox.date(fromLine: "From x Thu Dec  3 12:00:00 2026"))
        #expect(entries[1].message == Array("Subject: two\r\n\r\nbody\r\n".utf8) && entries[1].flags == MessageFlags())
        #expect(entries[1].date == Mbox.date(fromLine: "From x Fri Dec  4 01:02:03 2026"))
    }

    @Test func mboxoLeavesDeeperQuotes() {
        let entries = Mbox.read(Array(Self.file.utf8), quoting: .mboxo)
        #expect(
            String(decoding: entries[0].message, as: UTF8.self).contains(
                "\r\nFrom the start of a line\r\n>>From quoted once\r\n>>>From quoted twice\r\n"))
    }

    @Test(arguments: Mbox.Quoting.allCases)
    func writeThenReadGivesTheMessageBack(quoting: Mbox.Quoting) {
        let message = Array("Return-Path: <bob@example.org>\r\nSubject: x\r\n\r\nFrom here\r\n>From there\r\nlast\r\n".utf8)
        let flags = MessageFlags(names: ["\\Seen", "\\Draft", "$Forwarded"])!
        let written = Mbox.write(message, flags: flags, date: 1_796_347_242, quoting: quoting)
        #expect(String(decoding: written, as: UTF8.self).hasPrefix("From bob@example.org Fri Dec  4 01:20:42 2026\n"))
        let back = Mbox.read(written + written, quoting: quoting)
        #expect(back.count == 2)
        if quoting == .mboxrd {
            #expect(back[0].message == message, "mboxrd gives every line back")
        }
        #expect(back[0].flags == flags && back[0].date == 1_796_347_242)
    }

    @Test(
        arguments: [
            (0, "Thu Jan  1 00:00:00 1970"), (951_782_400, "Tue Feb 29 00:00:00 2000"), (1_796_347_242, "Fri Dec  4 01:20:42 2026"),
        ] as [(Int64, String)])
    func asctime(seconds: Int64, text: String) {
        #expect(Mbox.asctime(seconds) == text)
        #expect(Mbox.date(fromLine: "From x \(text)") == seconds)
    }

    /// The spans alone (what a mapped file is walked with): one blank line before a From line
    /// is the separator, a second one belongs to the message; no blank line is needed.
    @Test func spansLeaveOutOneSeparatorLine() {
        let bytes = Array("From a\nx\n\n\nFrom b\ny\nFrom c\n".utf8)
        let spans = Mbox.messages(in: bytes)
        #expect(spans.map { String(decoding: bytes[$0.content], as: UTF8.self) } == ["x\n\n", "y\n", ""])
        #expect(spans.map { String(decoding: bytes[$0.fromLine], as: UTF8.self) } == ["From a", "From b", "From c"])
        #expect(Mbox.entry(bytes, spans[0], quoting: .mboxrd).message == Array("x\r\n\r\n".utf8))
        #expect(Mbox.messages(in: Array("no From line at all\n".utf8)).isEmpty)
    }

    @Test func fromLinesWithoutADateOrWithAZone() {
        #expect(Mbox.date(fromLine: "From someone") == nil)
        #expect(Mbox.date(fromLine: "From x Fri Dec  4 01:20:42 2026 +0000") == 1_796_347_242)
    }
}
