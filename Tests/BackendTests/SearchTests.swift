import Foundation
import LoftTestSupport
import MailCore
import MailMessage
import RPCProtocol
import RPCTransport
import Testing

@testable import Backend

#if canImport(Glibc)
    import Glibc
#endif

/// `message.search` (RFC 3501 §6.4.4) through the RPC: every key, nesting, NOT and OR, header
/// decoding, bodies in base64 and quoted-printable parts, charsets, attached messages, and a
/// body stored as a file larger than the piece a search reads at a time.
@Suite(.timeLimit(.minutes(2))) struct SearchTests {
    static func day(_ y: Int, _ m: Int, _ d: Int) -> Int64 { Int64(MessageDate.dayNumber(year: y, month: m, day: d)!) * 86_400 }

    static let plain = """
        From: Ann Example <ann@example.org>\r
        To: Bob <bob@example.test>\r
        Cc: carol@example.test\r
        Subject: Quarterly report\r
        Date: Mon, 30 Nov 2026 23:30:00 -0800\r
        \r
        The numbers are in.\r

        """
    static let encoded = """
        From: =?iso-8859-1?q?J=F6rg?= <joerg@example.de>\r
        To: bob@example.test\r
        Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r
        Date: Tue, 1 Dec 2026 09:00:00 +0100\r
        MIME-Version: 1.0\r
        Content-Type: text/plain; charset=utf-8\r
        Content-Transfer-Encoding: quoted-printable\r
        \r
        Sch=C3=B6ne Gr=C3=BC=C3=9Fe, lang=\r
        e Zeile.\r

        """
    static let multipart = """
        From: Ann Example <ann@example.org>\r
        To: dave@example.test\r
        Subject: Invoice\r
        Date: Wed, 02 Dec 2026 08:00:00 +0000\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="outer"\r
        \r
        --outer\r
        Content-Type: text/plain; charset=us-ascii\r
        Content-Transfer-Encoding: base64\r
        \r
        \(Data("Invoice attached, please pay.\r\n".utf8).base64EncodedString())\r
        --outer\r
        Content-Type: text/html; charset=utf-8\r
        \r
        <p>An <b>HTML</b> version</p>\r
        --outer\r
        Content-Type: application/pdf; name="invoice.pdf"\r
        Content-Transfer-Encoding: base64\r
        \r
        \(Data("%PDF-1.4 secretword".utf8).base64EncodedString())\r
        --outer--\r

        """
    static let forwarded = """
        From: Erin <erin@example.test>\r
        Subject: Fwd: old news\r
        MIME-Version: 1.0\r
        Content-Type: multipart/mixed; boundary="b"\r
        \r
        --b\r
        Content-Type: text/plain\r
        \r
        See below.\r
        --b\r
        Content-Type: message/rfc822\r
        \r
        From: Frank <frank@example.test>\r
        Subject: inner\r
        \r
        A forwarded needle inside.\r
        --b--\r

        """
    /// Latin-1 bytes, a folded field, no Subject.
    static let latin1: [UInt8] =
        Array("From: g@example.test\r\nX-Custom: hello\r\n world\r\nDate: 1 Oct 2026 10:00 +0000\r\n".utf8)
        + Array("Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".utf8)
        + [0x43, 0x61, 0x66, 0xE9, 0x20, 0x63, 0x72, 0xE8, 0x6D, 0x65, 0x0D, 0x0A]  // "Café crème"

    /// Where the first 1 MiB piece of a base64 body in 76-character lines ends, decoded: 13,443
    /// whole lines and 22 characters, of which 1,021,688 make whole quanta (the other two
    /// carry over to the next piece).
    static let firstPieceDecoded = 766_266

    /// A 1.5 MiB text body in base64 (2 MiB encoded), stored as a file: one needle across the
    /// end of the first piece, one at the very end.
    static func large() -> [UInt8] {
        var text = [UInt8](repeating: 0, count: 3 << 19)
        let filler = Array("lorem ipsum dolor sit amet ".utf8)
        for i in text.indices { text[i] = filler[i % filler.count] }
        let across = Array("boundaryneedle".utf8)
        text.replaceSubrange((firstPieceDecoded - 5)..<(firstPieceDecoded - 5 + across.count), with: across)
        let end = Array("endneedle".utf8)
        text.replaceSubrange((text.count - end.count)..<text.count, with: end)
        let header = """
            From: big@example.test\r
            Subject: The big one\r
            Date: Thu, 3 Dec 2026 10:00:00 +0000\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r

            """
        return Array(header.utf8) + Array(Data(text).base64EncodedString(options: .lineLength76Characters).utf8) + [0x0D, 0x0A]
    }

    static let delivered = "From: Dave <dave@example.test>\r\nSubject: delivered\r\nDate: Fri, 4 Dec 2026 10:00:00 +0000\r\n\r\nhi\r\n"

    /// The seven messages above in INBOX, UIDs 1 to 7; their sizes and modseqs by UID.
    static func mailbox() async throws -> (BackendHarness, String, sizes: [UInt32: Int64], modseqs: [UInt32: Int64]) {
        let (h, session) = try await SelectTests.harness()
        let appended: [([UInt8], MessageFlags, Int64)] = [
            (Array(plain.utf8), MessageFlags(system: .seen, keywords: ["$Label1"]), day(2026, 11, 15) + 43_200),
            (Array(encoded.utf8), MessageFlags(system: .flagged), day(2026, 12, 1)),
            (Array(multipart.utf8), MessageFlags(system: .answered), day(2026, 12, 1) + 86_399),
            (Array(forwarded.utf8), MessageFlags(), day(2026, 12, 2)),
            (latin1, MessageFlags(system: [.deleted, .draft]), day(2026, 10, 1)),
            (large(), MessageFlags(), day(2026, 12, 3)),
        ]
        for (bytes, flags, date) in appended {
            let started = try await h.gateway.call(
                Methods.messageAppend, MessageAppendParams(session: session, mailbox: "INBOX", flags: flags, internalDate: date))
            var at = 0
            while at < bytes.count {
                let end = min(at + (1 << 20), bytes.count)
                _ = try await h.gateway.call(
                    Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array(bytes[at..<end]))))
                at = end
            }
            _ = try await h.gateway.call(Methods.uploadCommit, UploadParams(upload: started.upload))
        }
        try await h.deliver(Array(delivered.utf8))
        _ = try await h.gateway.call(
            Methods.messageFlags,
            MessageFlagsParams(
                session: session, mailbox: "INBOX", uids: UIDSet("3")!, operation: .add, flags: MessageFlags(keywords: ["$Important"])))
        let listed = try await h.gateway.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        #expect(listed.messages.map(\.uid) == Array(1...7))
        return (
            h, session, Dictionary(uniqueKeysWithValues: listed.messages.map { ($0.uid, $0.size) }),
            Dictionary(uniqueKeysWithValues: listed.messages.map { ($0.uid, $0.modseq) })
        )
    }

    /// Query (JSON), expected UIDs.
    static let table: [(String, [UInt32])] = [
        (#"{"all":true}"#, [1, 2, 3, 4, 5, 6, 7]),
        (#"{"uids":"2:3,6"}"#, [2, 3, 6]),
        (#"{"uids":"5:*"}"#, [5, 6, 7]),
        (#"{"uids":"*"}"#, [7]),
        (#"{"flag":"\\Seen"}"#, [1]),
        (#"{"flag":"\\seen"}"#, [1]),
        (#"{"flag":"\\Flagged"}"#, [2]),
        (#"{"flag":"\\Answered"}"#, [3]),
        (#"{"flag":"\\Deleted"}"#, [5]),
        (#"{"flag":"\\Draft"}"#, [5]),
        (#"{"flag":"$Label1"}"#, [1]),
        (#"{"flag":"$label1"}"#, [1]),
        (#"{"flag":"$Label"}"#, []),
        (#"{"not":{"flag":"\\Seen"}}"#, [2, 3, 4, 5, 6, 7]),
        // Headers: unfolded, RFC 2047-decoded, case-insensitive, by field name.
        (#"{"header":["Subject","quarterly"]}"#, [1]),
        (#"{"header":["SUBJECT","REPORT"]}"#, [1]),
        (#"{"header":["Subject","GRÜßE aus"]}"#, [2]),
        (#"{"header":["Subject","köln"]}"#, [2]),
        (#"{"header":["Subject","=?utf-8?"]}"#, []),
        (#"{"header":["From","jörg"]}"#, [2]),
        (#"{"header":["From","ann@example"]}"#, [1, 3]),
        (#"{"header":["From","Ann Example"]}"#, [1, 3]),
        (#"{"header":["To","bob"]}"#, [1, 2]),
        (#"{"header":["Cc","carol"]}"#, [1]),
        (#"{"header":["Bcc","carol"]}"#, []),
        (#"{"header":["X-Custom","hello world"]}"#, [5]),
        (#"{"header":["X-Custom",""]}"#, [5]),
        (#"{"header":["Subject",""]}"#, [1, 2, 3, 4, 6, 7]),
        (#"{"header":["Subject","inner"]}"#, []),
        (#"{"header":["Subject","big one"]}"#, [6]),
        (#"{"header":["Return-Path","s@remote.test"]}"#, [7]),
        (#"{"header":["Date","nov 2026"]}"#, [1]),
        // Bodies: text parts only, transfer-decoded and converted, attached messages included.
        (#"{"body":"numbers ARE"}"#, [1]),
        (#"{"body":"schöne grüße, lange zeile"}"#, [2]),
        (#"{"body":"invoice attached"}"#, [3]),
        (#"{"body":"html</b> version"}"#, [3]),
        (#"{"body":"secretword"}"#, []),
        (#"{"body":"forwarded needle"}"#, [4]),
        (#"{"body":"café crème"}"#, [5]),
        (#"{"body":"quarterly"}"#, []),
        (#"{"body":"boundaryneedle"}"#, [6]),
        (#"{"body":"endneedle"}"#, [6]),
        (#"{"body":"nowhere to be found"}"#, []),
        (#"{"body":""}"#, [1, 2, 3, 4, 5, 6, 7]),
        (#"{"text":"quarterly"}"#, [1]),
        (#"{"text":"numbers"}"#, [1]),
        (#"{"text":"köln"}"#, [2]),
        (#"{"text":"subject: invoice"}"#, [3]),
        // Internal dates by UTC day; sent dates by the day written in the Date field.
        (#"{"and":[{"uids":"1:6"},{"before":"2026-12-01"}]}"#, [1, 5]),
        (#"{"and":[{"uids":"1:6"},{"on":"2026-12-01"}]}"#, [2, 3]),
        (#"{"and":[{"uids":"1:6"},{"since":"2026-12-02"}]}"#, [4, 6]),
        (#"{"sentBefore":"2026-12-01"}"#, [1, 5]),
        (#"{"sentOn":"2026-11-30"}"#, [1]),
        (#"{"sentOn":"2026-12-01"}"#, [2]),
        (#"{"sentSince":"2026-12-02"}"#, [3, 6, 7]),
        (#"{"not":{"sentSince":"2026-10-01"}}"#, [4]),
        (#"{"modseq":1}"#, [1, 2, 3, 4, 5, 6, 7]),
        // Nesting.
        (#"{"or":[{"flag":"\\Seen"},{"header":["Subject","köln"]}]}"#, [1, 2]),
        (#"{"and":[{"not":{"flag":"\\Seen"}},{"or":[{"header":["From","ann"]},{"body":"nothing"}]}]}"#, [3]),
        (#"{"and":[{"flag":"\\Answered"},{"body":"invoice"},{"header":["To","dave"]}]}"#, [3]),
        (#"{"not":{"or":[{"body":"numbers"},{"uids":"2:*"}]}}"#, []),
        (#"{"or":[{"not":{"header":["From","example.test"]}},{"flag":"\\Draft"}]}"#, [1, 2, 3, 5]),
        (#"{"not":{"and":[{"header":["From","ann"]},{"not":{"body":"invoice"}}]}}"#, [2, 3, 4, 5, 6, 7]),
        (#"{"and":[]}"#, [1, 2, 3, 4, 5, 6, 7]),
        (#"{"or":[]}"#, []),
    ]

    @Test func everyKeyAndNesting() async throws {
        let (h, session, sizes, modseqs) = try await Self.mailbox()
        var table = Self.table
        // Sizes and modseqs as stored.
        let median = sizes.values.sorted()[3]
        table.append((#"{"larger":\#(median)}"#, sizes.filter { $0.value > median }.keys.sorted()))
        table.append((#"{"smaller":\#(median)}"#, sizes.filter { $0.value < median }.keys.sorted()))
        table.append((#"{"larger":100000}"#, [6]))
        let top = try #require(modseqs.values.max())
        table.append((#"{"modseq":\#(top)}"#, modseqs.filter { $0.value >= top }.keys.sorted()))
        #expect(modseqs[3] == top, "the flag change gave message 3 the highest modseq")
        for (json, expected) in table {
            let query = try JSONDecoder().decode(SearchQuery.self, from: Data(json.utf8))
            let result = try await h.gateway.call(
                Methods.messageSearch, MessageSearchParams(session: session, mailbox: "INBOX", query: query))
            let found = result.uids.map { $0.ranges(largest: 7).flatMap { Array($0) } } ?? []
            #expect(found == expected, "\(json)")
            #expect(result.nextAfterUid == nil && result.highestModseq == top, "\(json)")
            // The answer after a UID is the rest of it (the cheap keys suffice to show it).
            if json.contains("\"body\"") || json.contains("\"text\"") { continue }
            let rest = try await h.gateway.call(
                Methods.messageSearch, MessageSearchParams(session: session, mailbox: "INBOX", query: query, afterUid: 3))
            #expect((rest.uids.map { $0.ranges(largest: 7).flatMap { Array($0) } } ?? []) == expected.filter { $0 > 3 }, "\(json) after 3")
        }
        await h.close()
    }

    @Test func refusedQueries() async throws {
        let (h, session) = try await SelectTests.harness()
        func deep(_ levels: Int) -> SearchQuery { levels == 1 ? .all : .not(deep(levels - 1)) }
        let ok = try await h.gateway.call(
            Methods.messageSearch, MessageSearchParams(session: session, mailbox: "INBOX", query: deep(SearchQuery.maxDepth)))
        #expect(ok.uids == nil, "32 levels are fine")
        let wide = SearchQuery.and(Array(repeating: .flag("\\Seen"), count: SearchQuery.maxNodes - 1))
        _ = try await h.gateway.call(Methods.messageSearch, MessageSearchParams(session: session, mailbox: "INBOX", query: wide))
        let refused: [(SearchQuery, String)] = [
            (deep(SearchQuery.maxDepth + 1), "too deep"),
            (.and(Array(repeating: .flag("\\Seen"), count: SearchQuery.maxNodes)), "too many nodes"),
            (.before("2026-13-01"), "no such month"), (.on("2026-02-30"), "no such day"), (.since("1 Dec 2026"), "not ISO"),
            (.sentOn("2026-1-01"), "short month"), (.flag("\\Recent"), "\\Recent"), (.flag("\\Unknown"), "unknown system flag"),
            (.flag("bad flag"), "keyword with a space"), (.larger(-1), "negative size"),
            (.header(field: "Sub ject", contains: "x"), "field name"),
            (.header(field: "", contains: "x"), "empty field name"),
        ]
        for (query, why) in refused {
            await MailboxRulesTests.expectError(.invalidParams, why) {
                try await h.gateway.call(Methods.messageSearch, MessageSearchParams(session: session, mailbox: "INBOX", query: query))
            }
        }
        await MailboxRulesTests.expectError(.noSuchMailbox, "no mailbox") {
            try await h.gateway.call(Methods.messageSearch, MessageSearchParams(session: session, mailbox: "Nope", query: .all))
        }
        await h.close()
    }

    /// A query nested far beyond the limit, sent as a raw line: refused as params, and the
    /// back-end lives on (decoding is recursive; the JSON decoder's own depth limit stops it
    /// long before the stack would).
    @Test func absurdNestingIsRefusedNotFatal() async throws {
        let (h, session) = try await SelectTests.harness()
        let levels = 100_000
        let query = String(repeating: #"{"not":"#, count: levels) + #"{"all":true}"# + String(repeating: "}", count: levels)
        let lines = try Self.exchange(
            path: h.dir + "/gateway.sock",
            [
                #"{"jsonrpc":"2.0","id":1,"method":"hello","params":{"version":1}}"#,
                #"{"jsonrpc":"2.0","id":2,"method":"message.search","params":{"session":"\#(session)","mailbox":"INBOX","query":\#(query)}}"#,
            ])
        let answer = try #require(lines.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        let error = try #require(answer["error"] as? [String: Any])
        let kind = (error["data"] as? [String: Any])?["kind"] as? String
        #expect(kind == "invalid_params" || kind == "parse_error", "\(error)")
        _ = try await h.gateway.call(Methods.ping, Empty())
        await h.close()
    }

    /// Writes `requests` on a new connection to the Unix socket at `path` and reads one answer
    /// line for each.
    static func exchange(path: String, _ requests: [String]) throws -> [String] {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        var lines: [String] = []
        var pending: [UInt8] = []
        for request in requests {
            let bytes = Array((request + "\n").utf8)
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { throw RPCError(.unavailable, "write failed") }
                sent += n
            }
            while !pending.contains(0x0A) {
                var chunk = [UInt8](repeating: 0, count: 65536)
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { throw RPCError(.unavailable, "the back-end closed the connection") }
                pending += chunk[..<n]
            }
            let end = pending.firstIndex(of: 0x0A)!
            lines.append(String(decoding: pending[..<end], as: UTF8.self))
            pending.removeSubrange(...end)
        }
        return lines
    }
}
