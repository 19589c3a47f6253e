import Foundation
import MailMessage
import Testing

@Suite struct HeaderDecodingTests {
    // RFC 2047 §8 examples, plus charsets and malformed words.
    @Test(arguments: [
        ("=?US-ASCII?Q?Keith_Moore?=", "Keith Moore"),
        ("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=", "Keld Jørn Simonsen"),
        ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
        ("(=?ISO-8859-1?Q?a?=)", "(a)"),
        ("(=?ISO-8859-1?Q?a?= b)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)"),
        ("(=?ISO-8859-1?Q?a_b?=)", "(a b)"),
        ("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)"),
        ("=?utf-8?B?SGVsbG8gV29ybGQ=?=", "Hello World"),
        ("=?UTF-8?b?w6nDqA==?=", "éè"),
        // A character split across two words in the same charset.
        ("=?utf-8?B?w6k=?= =?utf-8?B?w6g=?=", "éè"),
        ("=?utf-8?Q?=E2=82?= =?utf-8?Q?=AC?=", "€"),
        ("=?iso-8859-15?Q?=A4?=", "€"),
        ("=?iso-8859-2?Q?=B1?=", "ą"),
        ("=?windows-1252?Q?=80?=", "€"),
        ("=?windows-1251?B?7+Dw?=", "пар"),
        ("=?koi8-r?B?8NLJ18XU?=", "Привет"),
        ("=?utf-8*en?Q?lang?=", "lang"),
        ("=?x-unknown?Q?abc?= tail", "=?x-unknown?Q?abc?= tail"),
        ("=?utf-8?X?abc?=", "=?utf-8?X?abc?="),
        ("=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"),
        ("=?utf-8?Q?has space?=", "=?utf-8?Q?has space?="),
        ("plain text", "plain text"),
        ("a =?utf-8?Q?b?= c", "a b c"),
        ("", ""),
    ])
    func encodedWords(input: String, expected: String) {
        #expect(EncodedWord.decode(input) == expected)
    }

    @Test(arguments: [
        ("text/plain; charset=utf-8", "text", "plain", [("charset", "utf-8")]),
        ("TEXT/HTML ; CHARSET=\"ISO-8859-1\"", "text", "html", [("charset", "ISO-8859-1")]),
        ("multipart/mixed;\r\n\tboundary=\"----=_Part\"", "multipart", "mixed", [("boundary", "----=_Part")]),
        (
            "text/plain (comment); format=flowed (x); delsp=yes", "text", "plain",
            [("format", "flowed"), ("delsp", "yes")]
        ),
        (
            "application/octet-stream; name=my file (1).txt", "application", "octet-stream",
            [("name", "my file (1).txt")]
        ),
        ("text/plain; name=\"a\\\"b\"", "text", "plain", [("name", "a\"b")]),
        ("text/plain;; ;charset=x; junk; =v", "text", "plain", [("charset", "x")]),
        // RFC 2231 §3 continuations, §4 charset and language, §4.1 both combined.
        (
            "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"",
            "message", "external-body",
            [("access-type", "URL"), ("url", "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar")]
        ),
        (
            "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A", "application", "x-stuff",
            [("title", "This is ***fun***")]
        ),
        (
            "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"",
            "application", "x-stuff", [("title", "This is even more ***fun*** isn't it!")]
        ),
        ("application/pdf; name*=utf-8''%E2%82%AC%20rates.pdf", "application", "pdf", [("name", "€ rates.pdf")]),
        ("application/pdf; name*=iso-8859-1''caf%E9.pdf", "application", "pdf", [("name", "café.pdf")]),
        ("application/pdf; name*1=\"b\"; name*0=\"a\"", "application", "pdf", [("name", "ab")]),
        ("application/pdf; name=\"plain.pdf\"; name*=utf-8''ext.pdf", "application", "pdf", [("name", "ext.pdf")]),
        ("application/pdf; name*0*=utf-8''%C3; name*1*=%A9.pdf", "application", "pdf", [("name", "é.pdf")]),
    ])
    func contentType(input: String, type: String, subtype: String, parameters: [(String, String)]) throws {
        let parsed = try #require(ContentType.parse(input))
        #expect(parsed.type == type)
        #expect(parsed.subtype == subtype)
        #expect(parsed.parameters == parameters.map { MIMEParameter(name: $0.0, value: $0.1) })
    }

    @Test(arguments: ["", "text", "text/", "/plain", "; charset=x", "(only a comment)"])
    func invalidContentType(input: String) {
        #expect(ContentType.parse(input) == nil)
    }

    @Test func contentDisposition() throws {
        let parsed = try #require(
            ContentDisposition.parse("Attachment; filename*=utf-8''na%C3%AFve.txt; size=42"))
        #expect(parsed.type == "attachment")
        #expect(parsed[parameter: "filename"] == "naïve.txt")
        #expect(parsed[parameter: "SIZE"] == "42")
        #expect(ContentDisposition.parse("  ") == nil)
    }

    static let epoch = Date(timeIntervalSince1970: 0)

    @Test(arguments: [
        ("Tue, 12 Nov 2013 09:12:42 -0500", 1_384_265_562),
        ("12 Nov 2013 14:12:42 +0000", 1_384_265_562),
        ("Tue, 12 Nov 2013 14:12:42 GMT", 1_384_265_562),
        ("Tue, 12 Nov 2013 14:12:42 UT", 1_384_265_562),
        ("Tue, 12 Nov 2013 09:12:42 EST", 1_384_265_562),
        ("Tue, 12 Nov 2013 10:12:42 EDT", 1_384_265_562),
        ("Tue, 12 Nov 2013 06:12:42 PST", 1_384_265_562),
        ("Tue, 12 Nov 2013 14:12:42 Z", 1_384_265_562),
        ("Tue, 12 Nov 2013 14:12:42 X", 1_384_265_562),
        ("Tue, 12 Nov 13 14:12:42 +0000", 1_384_265_562),
        ("Tue, 12 Nov 113 14:12:42 +0000", 1_384_265_562),
        ("Tue , 12 Nov 2013 14:12 +0000 (UTC)", 1_384_265_520),
        ("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)", 837_595_405),
        ("1 Jan 70 00:00:00 +0000", 0),
        ("Sat, 29 Feb 2020 23:59:60 +0100", 1_583_017_200),
        ("Tue, 12 Nov 2013 14:12:42", 1_384_265_562),
        ("Nov 12 2013 14:12:42 +0000", 1_384_265_562),
    ])
    func dates(input: String, seconds: Int) {
        #expect(MessageDate.parse(input) == Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    @Test(arguments: [
        "", "garbage", "Tue, 32 Nov 2013 14:12:42 +0000", "12 Foo 2013 14:12:42 +0000", "12 Nov 2013",
        "12 Nov 2013 25:00:00 +0000", "12 Nov 99999999999999999999 10:00 +0000", "12 Nov 2013 10:xx",
    ])
    func invalidDates(input: String) {
        #expect(MessageDate.parse(input) == nil)
    }

    @Test func headerFieldsLookupAndUnfolding() {
        let headers = HeaderFields(
            parsing: Array("Subject: a\r\n\tb\r\nX-Dup: 1\r\nx-dup : 2\r\nLatin: caf\u{E9}\r\n\r\nbody".utf8))
        #expect(headers.count == 4)
        #expect(headers["subject"] == "a\tb")
        #expect(headers.values(named: "X-DUP") == ["1", "2"])
        #expect(headers[0].rawValue == Array(" a\r\n\tb".utf8))
        #expect(headers["Missing"] == nil)
        let latin1 = HeaderFields(parsing: [0x41, 0x3A, 0x20, 0x63, 0xE9, 0x0A])
        #expect(latin1["a"] == "cé")
    }
}

/// `HeaderFields.values(named:inHeader:)`, the one-field scan a search uses, finds what the
/// whole parse finds.
@Suite struct HeaderFieldScanTests {
    static let headers: [String] = [
        "Subject: one\r\nsubject : two\r\n  folded\r\nFrom: a@b\r\n\r\nSubject: in the body\r\n",
        "X: 1\nSUBJECT:\tthree\n\tfour\n",
        "Subject: =?utf-8?q?caf=C3=A9?=\r\nBad line\r\nSubject: after the end\r\n",
        " continuation first\r\nSubject: no\r\n",
        "Subject: no blank line",
        "Subj\u{e9}ct: latin\r\nSubject: plain\r\n",
        "",
    ]

    @Test(arguments: headers) func sameAsTheWholeParse(text: String) {
        let bytes = Array(text.utf8)
        for name in ["Subject", "subject", "From", "X", "Nope"] {
            #expect(
                HeaderFields.values(named: name, inHeader: bytes) == HeaderFields(parsing: bytes).values(named: name),
                "\(name) in \(text.debugDescription)")
        }
    }
}
