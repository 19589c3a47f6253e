import Foundation
import NIOCore
import RPCProtocol
import Testing

@testable import RPCTransport

/// The framer fed whole, in every split, and one byte at a time must give the same frames.
@Suite struct LineFramerTests {
    func frames(_ input: [UInt8], max: Int, chunk: Int) -> [LineFrame] {
        var framer = LineFramer(maxLineBytes: max)
        var buffer = ByteBuffer()
        var out: [LineFrame] = []
        var i = 0
        while i < input.count {
            buffer.writeBytes(input[i..<min(i + chunk, input.count)])
            i += chunk
            while let f = framer.nextFrame(&buffer) { out.append(f) }
            buffer.discardReadBytes()
        }
        return out
    }

    func lines(_ strings: [String]) -> [LineFrame] { strings.map { .line(ByteBuffer(string: $0)) } }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func splitReads(chunk: Int) {
        let input = Array("{\"a\":1}\n{\"b\":2}\r\n\n{\"c\"".utf8)
        #expect(frames(input, max: 100, chunk: chunk) == lines(["{\"a\":1}", "{\"b\":2}", ""]))
    }

    @Test(arguments: [1, 5, 64])
    func oversizeIsDiscardedAndReportedOnce(chunk: Int) {
        let input = Array((String(repeating: "y", count: 50) + "\nok\n").utf8)
        #expect(frames(input, max: 10, chunk: chunk) == [.oversize] + lines(["ok"]))
    }

    @Test func atTheLimit() {
        let exact = String(repeating: "z", count: 10)
        #expect(frames(Array((exact + "\n").utf8), max: 10, chunk: 3) == lines([exact]))
        #expect(frames(Array((exact + "z\n").utf8), max: 10, chunk: 3) == [.oversize])
    }

    @Test func invalidUTF8PassesThroughToTheParser() {
        let input: [UInt8] = [0xFF, 0xFE, 0x0A]
        #expect(frames(input, max: 10, chunk: 1) == [.line(ByteBuffer(bytes: [0xFF, 0xFE]))])
    }
}

@Suite struct JSONRPCTests {
    @Test func headAndParams() throws {
        let line = ByteBuffer(string: #"{"jsonrpc":"2.0","id":7,"method":"domain.add","params":{"name":"example.org"}}"#)
        let head = try JSONRPC.decodeHead(line)
        #expect(head.id == .number(7) && head.method == "domain.add" && head.hasID)
        #expect(try JSONRPC.decodeParams(DomainParams.self, from: line).name == "example.org")
    }

    @Test func missingParamsDecodeAsEmptyObject() throws {
        let line = ByteBuffer(string: #"{"jsonrpc":"2.0","id":"x","method":"account.list"}"#)
        #expect(try JSONRPC.decodeParams(ListParams.self, from: line).domain == nil)
    }

    @Test func invalidParamsNameTheField() {
        let line = ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"domain.add","params":{"name":3}}"#)
        do {
            _ = try JSONRPC.decodeParams(DomainParams.self, from: line)
            Issue.record("expected a failure")
        } catch {
            let e = JSONRPC.invalidParams(error)
            #expect(e.kind == "invalid_params" && e.data?.field == "name")
        }
    }

    @Test func encodeRoundTrip() throws {
        var buffer = ByteBuffer()
        try JSONRPC.encodeResult(DomainInfo(name: "a.org", accounts: 2), id: .string("q\"1"), into: &buffer)
        #expect(buffer.readableBytesView.last == UInt8(ascii: "\n"))
        buffer.moveWriterIndex(to: buffer.writerIndex - 1)
        #expect(try JSONRPC.decodeHead(buffer).id == .string("q\"1"))
        #expect(try JSONRPC.decodeResult(DomainInfo.self, from: buffer) == DomainInfo(name: "a.org", accounts: 2))
        var err = ByteBuffer()
        JSONRPC.encodeError(RPCError(.quotaExceeded, "full", temporary: true), id: nil, into: &err)
        err.moveWriterIndex(to: err.writerIndex - 1)
        let head = try JSONRPC.decodeHead(err)
        #expect(head.error?.kind == "quota_exceeded" && head.error?.code == 1030 && head.id == nil)
    }

    /// Lines in this module's own form are read from their prefix; the result must be what the
    /// full decoder reads, and anything else must be left to the full decoder.
    @Test(arguments: [
        (#"{"jsonrpc":"2.0","id":7,"result":{"a":1}}"#, true),
        (#"{"jsonrpc":"2.0","id":123456789,"method":"message.read","params":{"uid":1}}"#, true),
        (#"{"jsonrpc":"2.0","method":"event","params":{}}"#, false),
        (#"{"jsonrpc":"2.0","id":0,"method":"ping","params":{}}"#, true),
        (#"{"jsonrpc":"2.0","id":007,"method":"ping","params":{}}"#, false),
        (#"{"jsonrpc":"2.0","id":7,"method":"ping","params":{"#, false),
        (#"{"jsonrpc":"2.0","id":7,"error":{"code":1,"message":"m"}}"#, false),
        (#"{"jsonrpc":"2.0","result":{}}"#, false),
        (#"{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {}}"#, false),
        (#"{"jsonrpc":"2.0","id":"s","method":"ping","params":{}}"#, false),
        (#"{"jsonrpc":"2.0","id":-1,"method":"ping","params":{}}"#, false),
        (#"{"jsonrpc":"2.0","id":7,"method":"a\"b","params":{}}"#, false),
        (#"{"jsonrpc":"2.0","id":7,"method":"","params":{}}"#, false),
        (#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#, false),
    ])
    func canonicalHeadAgreesWithTheDecoder(line: String, canonical: Bool) throws {
        let buffer = ByteBuffer(string: line)
        let quick = JSONRPC.canonicalHead(buffer)
        #expect((quick != nil) == canonical)
        if let quick {
            let full = try JSONDecoder().decode(JSONRPC.Head.self, from: buffer)
            #expect(quick.id == full.id && quick.method == full.method && quick.hasID == full.hasID && quick.jsonrpc == full.jsonrpc)
        }
    }

    @Test func aBrokenLineWithACanonicalPrefixIsStillAParseError() {
        let line = ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"domain.add","params":{"name":"#)
        let request = RPCRequest(method: "domain.add", id: .number(1), line: line)
        do {
            _ = try request.params(DomainParams.self)
            Issue.record("expected a failure")
        } catch {
            #expect(error.kind == "parse_error")
        }
    }

    @Test func errorKindsAreUnique() {
        #expect(Set(RPCError.Kind.all.map(\.code)).count == RPCError.Kind.all.count)
        #expect(Set(RPCError.Kind.all.map(\.name)).count == RPCError.Kind.all.count)
        #expect(Set(Methods.all.map(\.name)).count == Methods.all.count)
    }
}
