import Foundation
import JSONCodec
import MailCore
import NIOCore
import RPCProtocol
import Testing

@testable import RPCTransport

/// `message.list` pages go through JSONCodec instead of Codable: what one side writes the other
/// must read, in both directions, and an answer written either way reads the same.
@Suite struct FastResultTests {
    static let pages: [MessageListResult] = [
        MessageListResult(uidValidity: 1, uidNext: 1, highestModseq: 0, messages: [], nextAfterUid: nil),
        MessageListResult(
            uidValidity: 4_294_967_295, uidNext: 9, highestModseq: 9_007_199_254_740_993,
            messages: [
                MessageSummary(uid: 1, flags: MessageFlags(), internalDate: -5, size: 0, modseq: 1),
                MessageSummary(
                    uid: 4_294_967_295, flags: MessageFlags(system: [.seen, .flagged, .deleted], keywords: ["$Label1", "Work"]),
                    internalDate: 1_764_547_200, size: 26_944, modseq: 77,
                    structure: JSONText(
                        validating: #" {"envelope":{"subject":"a \"quoted\" \\ line\nbreak ✓"},"body":{"n":[1,-2.5e3,true,null]}} "#),
                    envelope: JSONText(validating: #"{"from":[{"mailbox":"a","host":"b.example"}],"subject":"Grüße 😀 \u0001"}"#)),
            ], nextAfterUid: 4_294_967_295),
    ]

    @Test(arguments: pages.indices)
    func pagesReadWhatTheOtherCoderWrites(index: Int) throws {
        let page = Self.pages[index]
        var fast = ByteBuffer()
        try JSONRPC.encodeResult(page, id: .number(7), into: &fast)
        let foundation = try JSONEncoder().encode(page)
        let foundationLine = ByteBuffer(string: #"{"jsonrpc":"2.0","id":7,"result":"# + String(decoding: foundation, as: UTF8.self) + "}")
        for line in [fast, foundationLine] {
            let read = try JSONRPC.decodeResult(MessageListResult.self, from: line)
            #expect(Self.same(read.messages, page.messages))
            #expect(read.uidValidity == page.uidValidity && read.uidNext == page.uidNext)
            #expect(read.highestModseq == page.highestModseq && read.nextAfterUid == page.nextAfterUid)
        }
        #expect(Self.same(try JSONDecoder().decode(MessageListResult.self, from: Data(page.jsonBytes)).messages, page.messages))
        // The fast writer splices the JSON in as it was given.
        #expect(try JSONRPC.decodeResult(MessageListResult.self, from: fast).messages == page.messages)
    }

    /// `message.sort` and `message.thread` answers, written by either coder and read by the other.
    @Test func sortAndThreadResultsBothWays() throws {
        for sort in [
            MessageSortResult(uids: [], total: 0, highestModseq: 1),
            MessageSortResult(uids: [4_294_967_295, 1, 77], total: 10_000, highestModseq: 9_007_199_254_740_993),
        ] {
            for read in try Self.readBothWays(sort) {
                #expect(read.uids == sort.uids && read.total == sort.total && read.highestModseq == sort.highestModseq)
            }
        }
        for thread in [
            MessageThreadResult(uids: [], depths: [], threads: 0, nextOffset: nil, highestModseq: 0),
            MessageThreadResult(uids: [3, 0, 5], depths: [0, 1, 2], threads: 2, nextOffset: 2, highestModseq: 12),
        ] {
            for read in try Self.readBothWays(thread) {
                #expect(read.uids == thread.uids && read.depths == thread.depths && read.threads == thread.threads)
                #expect(read.nextOffset == thread.nextOffset && read.highestModseq == thread.highestModseq)
            }
        }
    }

    /// `result` written by JSONRPC's writer and by Foundation's, each read back by JSONRPC.
    static func readBothWays<Result: Codable & Sendable>(_ result: Result) throws -> [Result] {
        var fast = ByteBuffer()
        try JSONRPC.encodeResult(result, id: .number(3), into: &fast)
        let foundation = ByteBuffer(
            string: #"{"jsonrpc":"2.0","id":3,"result":"# + String(decoding: try JSONEncoder().encode(result), as: UTF8.self) + "}")
        return try [fast, foundation].map { try JSONRPC.decodeResult(Result.self, from: $0) }
    }

    /// Equal summaries, their JSON values compared as values (Foundation orders members and
    /// writes numbers its own way).
    static func same(_ a: [MessageSummary], _ b: [MessageSummary]) -> Bool {
        func value(_ text: JSONText?) -> NSObject? {
            text.flatMap { try? JSONSerialization.jsonObject(with: Data($0.bytes)) as? NSObject }
        }
        func plain(_ m: MessageSummary) -> MessageSummary {
            MessageSummary(uid: m.uid, flags: m.flags, internalDate: m.internalDate, size: m.size, modseq: m.modseq)
        }
        return a.count == b.count
            && zip(a, b).allSatisfy { x, y in
                plain(x) == plain(y) && value(x.structure) == value(y.structure) && value(x.envelope) == value(y.envelope)
            }
    }

    @Test(arguments: [
        #"{"jsonrpc":"2.0","id":1,"result":{"uidValidity":1,"uidNext":1,"messages":[]}}"#,
        #"{"jsonrpc":"2.0","id":1,"result":{"uidValidity":1,"uidNext":1,"highestModseq":0,"messages":[{"uid":1}]}}"#,
        #"{"jsonrpc":"2.0","id":1,"result":{"uidValidity":1,"uidNext":1,"highestModseq":0,"messages":[],"x":[1,2}}"#,
        #"{"jsonrpc":"2.0","id":1}"#,
    ])
    func incompleteOrBrokenPagesAreErrors(line: String) {
        #expect(throws: (any Error).self) { try JSONRPC.decodeResult(MessageListResult.self, from: ByteBuffer(string: line)) }
    }

    @Test(arguments: [0, 1, 2, 3, 1000, 300_000])
    func bytesReadWhatTheOtherCoderWrites(count: Int) throws {
        let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        let batch = MessageReadBatchResult(
            messages: [
                MessageChunk(uid: 3, data: Base64Data(bytes), total: Int64(count) + 5),
                MessageChunk(uid: 9, data: Base64Data([]), total: 0),
            ],
            missing: [4, 4_294_967_295])
        let read = MessageReadResult(data: Base64Data(bytes), total: 1 << 40, offset: 17)
        let encoder = JSONEncoder()
        let batchLines = [
            try MessageReadBatchResult(jsonBytes: Array(encoder.encode(batch))),
            try JSONDecoder().decode(MessageReadBatchResult.self, from: Data(batch.jsonBytes)),
        ]
        for decoded in batchLines {
            #expect(decoded.messages.map(\.uid) == [3, 9] && decoded.messages.map(\.total) == [Int64(count) + 5, 0])
            #expect(decoded.messages.map(\.data) == [Base64Data(bytes), Base64Data([])] && decoded.missing == batch.missing)
        }
        for decoded in [
            try MessageReadResult(jsonBytes: Array(encoder.encode(read))),
            try JSONDecoder().decode(MessageReadResult.self, from: Data(read.jsonBytes)),
        ] {
            #expect(decoded.data == read.data && decoded.total == read.total && decoded.offset == read.offset)
        }
        #expect(throws: JSONReadError.self) { try MessageReadResult(jsonBytes: Array(#"{"data":"%%%%","total":1,"offset":0}"#.utf8)) }
    }

    /// What is spliced into an answer must be one JSON value and nothing more.
    @Test(arguments: ["", "{", #"{"a":1} {"b":2}"#, #""unterminated"#, "nul", "[1,]"])
    func jsonTextRefusesWhatIsNotOneValue(text: String) {
        #expect(JSONText(validating: text) == nil)
    }

    /// A delivery's params and answer, each way: Foundation reads what the fast writer wrote and
    /// the other way round, through the real request and result lines.
    @Test func deliveriesReadWhatTheOtherCoderWrites() throws {
        let message = Array("From: a@b.test\r\nSubject: \"hi\"\r\n\r\nbody\r\n".utf8)
        let submits = [
            DeliverySubmitParams(sender: "", recipients: ["x@y.test"], data: Base64Data([])),
            DeliverySubmitParams(
                sender: "carol@remote.test", recipients: ["a@example.test", "b \"q\"@example.test"], data: Base64Data(message),
                clientAddress: "192.0.2.1", session: "s1", trustedRelay: true, idempotencyKey: "k-1"),
        ]
        for params in submits {
            var line = ByteBuffer()
            try JSONRPC.encodeRequest(method: "delivery.submit", params: params, id: .number(3), into: &line)
            line.moveWriterIndex(to: line.writerIndex - 1)
            for read in [
                try JSONRPC.decodeParams(DeliverySubmitParams.self, from: line),
                try JSONDecoder().decode(DeliverySubmitParams.self, from: Data(params.jsonBytes)),
                try DeliverySubmitParams(jsonBytes: Array(JSONEncoder().encode(params))),
            ] {
                #expect(read.sender == params.sender && read.recipients == params.recipients && read.data == params.data)
                #expect(read.clientAddress == params.clientAddress && read.session == params.session)
                #expect(read.trustedRelay == params.trustedRelay && read.idempotencyKey == params.idempotencyKey)
            }
        }
        let results = [
            UploadCommitResult(size: 0, sha256: "e3b0"),
            UploadCommitResult(
                size: 1 << 33, sha256: "ab",
                recipients: [
                    RecipientOutcome(recipient: "a@example.test", status: .delivered),
                    RecipientOutcome(recipient: "f@example.test", status: .delivered, alsoQueued: true),
                    RecipientOutcome(
                        recipient: "b@example.test", status: .failed, kind: "quota_exceeded", message: "full \"box\"", temporary: true),
                ], uidValidity: 7, uid: 4_294_967_295),
        ]
        for result in results {
            var line = ByteBuffer()
            try JSONRPC.encodeResult(result, id: .number(4), into: &line)
            #expect(try JSONRPC.decodeResult(UploadCommitResult.self, from: line) == result)
            #expect(try JSONDecoder().decode(UploadCommitResult.self, from: Data(result.jsonBytes)) == result)
            #expect(try UploadCommitResult(jsonBytes: Array(JSONEncoder().encode(result))) == result)
        }
    }

    /// A params object the fast reader refuses is read again by Foundation's decoder, whose error
    /// names the field.
    @Test func refusedParamsStillNameTheirField() {
        let line = ByteBuffer(
            string: #"{"jsonrpc":"2.0","id":1,"method":"delivery.submit","params":{"sender":"","recipients":[],"data":7}}"#)
        #expect(throws: (any Error).self) { try JSONRPC.decodeParams(DeliverySubmitParams.self, from: line) }
        do {
            _ = try JSONRPC.decodeParams(DeliverySubmitParams.self, from: line)
        } catch {
            #expect(JSONRPC.invalidParams(error).data?.field == "data")
        }
    }
}
