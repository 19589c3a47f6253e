import Foundation
import JSONCodec
import MailMessage
import Testing

@Suite struct CorpusTests {
    static let files =
        Fixtures.files(in: "messages", extensions: ["txt", "eml"]) + Fixtures.files(in: "dkim", extensions: ["msg"])

    @Test func corpusIsPresent() {
        if let missing = Fixtures.missing { Issue.record("\(missing)") }
        #expect(Self.files.count >= 30, "only \(Self.files.count) corpus files in \(Fixtures.corpus.path)")
    }

    /// Every file parses, every offset is in bounds and ordered, and the result survives JSON.
    @Test(arguments: files)
    func parsesWithConsistentOffsets(path: String) throws {
        let (bytes, message) = try Fixtures.parse(path)
        #expect(message.body.headerStart == 0)
        #expect(message.body.end == bytes.count)
        func check(_ part: BodyStructure, within bounds: Range<Int>) {
            #expect(bounds.lowerBound <= part.headerStart)
            #expect(part.headerStart <= part.bodyStart)
            #expect(part.bodyStart <= part.end)
            #expect(part.end <= bounds.upperBound)
            #expect(part.size == part.end - part.bodyStart)
            switch part.content {
            case .single: break
            case .multipart(let children):
                for child in children { check(child, within: part.bodyRange) }
            case .message(_, let body):
                #expect(body.headerStart == part.bodyStart)
                check(body, within: part.bodyRange)
            }
        }
        check(message.body, within: 0..<bytes.count)
        let json = try JSONEncoder().encode(message)
        #expect(try JSONDecoder().decode(ParsedMessage.self, from: json) == message)
        // The text parts read from the JSON alone are those of the whole structure.
        #expect(TextPart.of(parsedMessageJSON: json) == TextPart.of(message.body))
        // The fast codec reads what Codable writes, and Codable reads what it writes.
        #expect(try ParsedMessage(jsonBytes: Array(json)) == message)
        #expect(try JSONDecoder().decode(ParsedMessage.self, from: Data(message.jsonBytes)) == message)
        #expect(try Envelope(jsonBytes: Array(JSONEncoder().encode(message.envelope))) == message.envelope)
        #expect(try JSONDecoder().decode(Envelope.self, from: Data(message.envelope.jsonBytes)) == message.envelope)
    }

    @Test func simpleMultipart() throws {
        let (bytes, message) = try Fixtures.parse("messages/simple-multipart.eml")
        let body = message.body
        #expect(body.type == "multipart" && body.subtype == "mixed")
        #expect(body[parameter: "boundary"] == "----=_NextPart_000_003F_01CE98CE.6E826F90")
        #expect(body.children.count == 2)
        #expect(message.truncated == false)

        let text = try #require(message.part(at: [1]))
        #expect(text.type == "text" && text.subtype == "plain")
        #expect(text[parameter: "charset"] == "utf-8")
        #expect(text.encoding == "7BIT")
        #expect(Fixtures.text(bytes, text.bodyRange) == "This is the message body.\n")
        #expect(text.lines == 1)
        #expect(
            Fixtures.text(bytes, text.headerRange)
                == "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n")

        let attachment = try #require(message.part(at: [2]))
        #expect(attachment.type == "application" && attachment.subtype == "octet-stream")
        #expect(attachment.encoding == "BASE64")
        #expect(
            attachment.disposition
                == ContentDisposition(
                    type: "attachment", parameters: [MIMEParameter(name: "filename", value: "attachment.txt")]))
        #expect(attachment.lines == nil)
        let encoded = Array(bytes[attachment.bodyRange])
        #expect(
            String(decoding: TransferDecoding.base64(encoded), as: UTF8.self)
                == "This is the base64 encoded attachment.")
        #expect(
            Fixtures.text(bytes, message.bodyRange).hasPrefix("This is the multipart preamble.\n\n------=_NextPart"))

        #expect(message.envelope.subject == "this is a simple multipart message")
        #expect(message.envelope.from == [EnvelopeAddress(mailbox: "mimekit", host: "example.com")])
        #expect(message.envelope.sender == message.envelope.from)
        #expect(message.envelope.messageID == "<54AD68C9E3B0184CAC6041320424FD1B5B81E74D@localhost.localdomain>")
        #expect(message.envelope.date == "Tue, 12 Nov 2013 09:12:42 -0500")
    }

    @Test func embeddedMessage() throws {
        let (bytes, message) = try Fixtures.parse("messages/simple-embedded-message.eml")
        let embedded = try #require(message.part(at: [2]))
        #expect(embedded.type == "message" && embedded.subtype == "rfc822")
        let envelope = try #require(embedded.embeddedEnvelope)
        #expect(envelope.subject == "embedded message")
        #expect(envelope.to == [EnvelopeAddress(mailbox: "mimekit", host: "example.com")])
        let inner = try #require(message.part(at: [2, 1]))
        #expect(inner.type == "text" && inner.subtype == "plain")
        #expect(Fixtures.text(bytes, inner.bodyRange) == "This is the embedded message body.\n")
        #expect(embedded.lines == 8)
        #expect(
            Fixtures.text(bytes, try #require(embedded.embeddedBody).headerRange).hasPrefix(
                "From: mimekit@example.com\n"))
    }

    /// rfc2060.txt labels every leaf with the section number that should reach it.
    @Test(arguments: [
        [1], [2], [3, 1], [3, 2], [4, 1], [4, 2, 1], [4, 2, 2, 1], [4, 2, 2, 2],
    ])
    func sectionNumbers(path: [Int]) throws {
        let (bytes, message) = try Fixtures.parse("messages/rfc2060.txt")
        let part = try #require(message.part(at: path))
        let label = path.map(String.init).joined(separator: ".")
        #expect(Fixtures.text(bytes, part.bodyRange) == "This part specifier should be: \(label)\n")
    }

    @Test func sectionNumbersOfContainers() throws {
        let (_, message) = try Fixtures.parse("messages/rfc2060.txt")
        #expect(message.part(at: [3])?.embeddedEnvelope?.subject == "This part specifier should be: 3")
        #expect(message.part(at: [4])?.subtype == "mixed")
        #expect(message.part(at: [4, 2])?.embeddedEnvelope?.subject == "This part specifier should be: 4.2")
        #expect(message.part(at: [4, 2, 2])?.subtype == "alternative")
        #expect(message.part(at: [4, 2])?.type == "message")
        #expect(message.part(at: [5]) == nil)
        #expect(message.part(at: [1, 1]) == nil)
        #expect(message.part(at: [0]) == nil)
        #expect(message.part(at: []) == message.body)
    }

    @Test func japaneseSubjectDecodes() throws {
        let (_, message) = try Fixtures.parse("messages/japanese.txt")
        #expect(message.envelope.subject?.hasPrefix("=?ISO-2022-JP?B?") == true)
        #expect(message.envelope.decodedSubject == "日本語メールテスト (testing Japanese emails)")
        #expect(message.body[parameter: "charset"] == "ISO-2022-JP")
    }

    @Test func stackOverflowTerminates() throws {
        let (_, message) = try Fixtures.parse("messages/stack-overflow.txt")
        #expect(message.truncated)
        #expect(message.envelope.subject == "Message Subject")
        #expect(message.envelope.messageID == "<aasfasdfasdfa@bb>")
    }

    @Test func digestDefaultsToMessage() throws {
        let (_, message) = try Fixtures.parse("messages/multipart-digest.txt")
        #expect(message.envelope.from == [EnvelopeAddress(mailbox: "user", host: "domain.org")])
        // The top-level body is message/rfc822, so part 1 is that body and 1.n are the digest's parts.
        #expect(message.part(at: [1]) == message.body)
        let digest = try #require(message.body.embeddedBody)
        #expect(digest.subtype == "digest")
        #expect(digest.children.count == 2)
        let second = try #require(message.part(at: [1, 2]))
        #expect(second.type == "message" && second.subtype == "rfc822")
        #expect(second.embeddedEnvelope?.subject == "m2")
    }

    @Test func emptyInnerMultipartStaysASibling() throws {
        let (_, message) = try Fixtures.parse("messages/empty-multipart.txt")
        #expect(message.body.children.count == 2)
        #expect(message.part(at: [1])?.subtype == "alternative")
        #expect(message.part(at: [1])?.children.isEmpty == true)
        #expect(message.part(at: [2])?.subtype == "plain")
    }

    @Test func missingSubtypeFallsBackToTextPlain() throws {
        let (_, message) = try Fixtures.parse("messages/missing-subtype.txt")
        #expect(message.body.type == "text" && message.body.subtype == "plain")
        #expect(message.body[parameter: "charset"] == "us-ascii")
    }

    @Test func multipartWithoutCloseDelimiter() throws {
        let (bytes, message) = try Fixtures.parse("dkim/multipart-no-end-boundary.msg")
        let last = try #require(message.body.children.last)
        #expect(last.end == bytes.count)
    }
}
