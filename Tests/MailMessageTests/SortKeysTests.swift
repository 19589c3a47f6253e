import MailCore
import MailMessage
import Testing

/// RFC 5256 §2.1's base subject, §2.2's sent date and §3's message IDs, as a table.
@Suite struct SortKeysTests {
    static let subjects: [(String, String, Bool)] = [
        ("Lunch", "Lunch", false),
        ("Re: Lunch", "Lunch", true),
        ("RE: re:   Lunch  ", "Lunch", true),
        ("Fwd: Lunch", "Lunch", true),
        ("FW:Lunch", "Lunch", true),
        ("Re[2]: Lunch", "Lunch", true),
        ("[list] Re: Lunch", "Lunch", true),
        ("[list] Lunch", "Lunch", false),
        ("[list]", "[list]", false),
        ("Lunch (fwd)", "Lunch", true),
        ("[Fwd: Re: Lunch]", "Lunch", true),
        ("Re: [Fwd: Lunch] (fwd)", "Lunch", true),
        ("\tRe:\tLunch\r\n at  noon", "Lunch at noon", true),
        ("", "", false),
        ("Re:", "", true),
        ("Reply to all", "Reply to all", false),
    ]

    @Test(arguments: subjects)
    func baseSubject(_ subject: String, _ base: String, _ marked: Bool) {
        let result = SortKeys.baseSubject(subject)
        #expect(result.base == base && result.isReplyOrForward == marked, "\(subject)")
    }

    @Test func keysFromAHeader() {
        let header = Array(
            """
            From: "Bob B" <Bob@Example.Test>
            To: alice@example.test, carol@example.test
            Subject: =?UTF-8?Q?Re=3A_=C3=9Cbung?=
            Date: 31 Dec 2000 16:01:33 -0800
            Message-ID: <"01KF8JCEOCBS0045PS"@xxx.yyy.com>
            References: <a@x> junk <b@x>
            In-Reply-To: <c@x>

            """.replacingOccurrences(of: "\n", with: "\r\n").utf8)
        let keys = SortKeys(header: header)
        #expect(keys.sentDate == 978_307_293, "§2.2: 1 Jan 2001 00:01:33 UTC")
        #expect(keys.baseSubject == "übung" && keys.isReplyOrForward)
        #expect(keys.from == "bob" && keys.to == "alice" && keys.cc == "")
        #expect(keys.messageID == "<01KF8JCEOCBS0045PS@xxx.yyy.com>", "§3: quoting normalised")
        #expect(keys.references == ["<a@x>", "<b@x>"], "References wins over In-Reply-To")
        let noReferences = SortKeys(header: Array("In-Reply-To: <c@x> (sent by c)\r\nDate: nonsense\r\n\r\n".utf8))
        #expect(noReferences.references == ["<c@x>"] && noReferences.sentDate == nil && noReferences.messageID == nil)
    }
}
