import Foundation
import NIOCore
import RPCProtocol
import Testing

@testable import RPCTransport

/// `Base64Data` written around Foundation's JSON writer must give the JSON the plain encoder
/// gives (up to the order of members, which Foundation does not fix), wherever the values sit
/// and whatever the strings beside them hold.
@Suite struct Base64SpliceTests {
    struct Mixed: Codable, Equatable {
        var before: String
        var one: Base64Data
        var many: [Base64Data]
        var nested: [String: Base64Data]
        var after: String
    }

    static let samples: [Mixed] = [
        Mixed(before: "", one: Base64Data([]), many: [], nested: [:], after: ""),
        Mixed(
            before: "b64splice-", one: Base64Data(Array("hello".utf8)),
            many: (0..<12).map { Base64Data(Array(repeating: UInt8($0), count: $0)) },
            nested: ["k": Base64Data([0, 255, 10, 13, 46])], after: "\"quoted\" \\ and \u{1}"),
        Mixed(
            before: String(decoding: Base64Splice.marker, as: UTF8.self) + "99", one: Base64Data((0..<3000).map { UInt8($0 % 251) }),
            many: [Base64Data([1])], nested: [:], after: String(decoding: Base64Splice.marker, as: UTF8.self)),
    ]

    @Test(arguments: samples)
    func splicedEqualsPlainEncoding(value: Mixed) throws {
        var spliced = ByteBuffer()
        try JSONRPC.writeJSON(value, into: &spliced)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let plain = try encoder.encode(value)
        let object = { (data: Data) in try JSONSerialization.jsonObject(with: data) as? NSDictionary }
        #expect(try object(Data(spliced.readableBytesView)) == object(plain))
        #expect(spliced.readableBytes == plain.count)
        #expect(try JSONDecoder().decode(Mixed.self, from: Data(spliced.readableBytesView)) == value)
    }

    /// A string that names a real placeholder can only come from someone who knows this
    /// process's random nonce; even then the encoding fails rather than carry wrong bytes.
    @Test func aForgedPlaceholderFailsTheEncoding() {
        let forged = Mixed(
            before: String(decoding: Base64Splice.marker, as: UTF8.self) + "0", one: Base64Data([1, 2, 3]), many: [], nested: [:],
            after: "")
        var buffer = ByteBuffer()
        #expect(throws: EncodingError.self) { try JSONRPC.writeJSON(forged, into: &buffer) }
    }

    @Test func requestsAndResultsCarryBytes() throws {
        let bytes = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var request = ByteBuffer()
        try JSONRPC.encodeRequest(
            method: "upload.append", params: UploadAppendParams(upload: "u1", data: Base64Data(bytes)), id: .number(3), into: &request)
        request.moveWriterIndex(to: request.writerIndex - 1)
        #expect(try JSONRPC.decodeParams(UploadAppendParams.self, from: request).data.bytes == bytes)

        var result = ByteBuffer()
        try JSONRPC.encodeResult(MessageReadResult(data: Base64Data(bytes), total: 5000, offset: 0), id: .number(4), into: &result)
        result.moveWriterIndex(to: result.writerIndex - 1)
        #expect(try JSONRPC.decodeResult(MessageReadResult.self, from: result).data.bytes == bytes)
    }

    @Test func invalidBase64NamesTheField() {
        let line = ByteBuffer(string: #"{"jsonrpc":"2.0","id":1,"method":"upload.append","params":{"upload":"u","data":"%%%"}}"#)
        do {
            _ = try JSONRPC.decodeParams(UploadAppendParams.self, from: line)
            Issue.record("expected a failure")
        } catch {
            #expect(JSONRPC.invalidParams(error).data?.field == "data")
        }
    }
}
