import Foundation
import JSONCodec
public import NIOCore
import NIOFoundationCompat
public import RPCProtocol

/// The JSON-RPC 2.0 envelope: decoding what arrives, encoding what leaves. A line is decoded in
/// two steps — the envelope's fields first, then `params` or `result` to the type the method
/// names — because the type is known only once the method is.
public enum JSONRPC {
    /// The fields every message may have. Decoding a line as this ignores its params/result.
    public struct Head: Decodable, Sendable {
        public var jsonrpc: String?
        public var id: RPCID?
        public var method: String?
        public var error: RPCError?
        /// Whether the line had an `id` member at all (a request with `"id": null` gets an answer).
        public var hasID: Bool

        enum CodingKeys: String, CodingKey { case jsonrpc, id, method, error }

        init(jsonrpc: String?, id: RPCID?, method: String?, error: RPCError?, hasID: Bool) {
            self.jsonrpc = jsonrpc
            self.id = id
            self.method = method
            self.error = error
            self.hasID = hasID
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            jsonrpc = try c.decodeIfPresent(String.self, forKey: .jsonrpc)
            hasID = c.contains(.id)
            id = try c.decodeIfPresent(RPCID.self, forKey: .id)
            method = try c.decodeIfPresent(String.self, forKey: .method)
            error = try c.decodeIfPresent(RPCError.self, forKey: .error)
        }
    }

    struct ParamsBox<P: Decodable>: Decodable {
        var params: P?
    }

    struct ResultBox<R: Decodable>: Decodable {
        var result: R
    }

    static let emptyObject = Data("{}".utf8)

    public static func decodeHead(_ line: ByteBuffer) throws -> Head {
        if let head = canonicalHead(line) { return head }
        return try JSONDecoder().decode(Head.self, from: line)
    }

    /// The envelope of a line that starts the way this module writes requests and results —
    /// `{"jsonrpc":"2.0","id":7,"result":` or `{"jsonrpc":"2.0","id":7,"method":"x.y","params":`
    /// — and ends in `}`, read from that prefix alone; nil for any other line (notifications
    /// included), which then goes through the full decoder. It saves the full decoder's pass
    /// over every line, which for message bytes is a pass over kilobytes of base64 that the
    /// decoding of `params` or `result` scans again anyway. A line broken after its prefix still
    /// fails there (see `RPCRequest.params`), and the server checks such a line before it
    /// answers with an error of its own (`RPCServerHandler.handle`).
    static func canonicalHead(_ line: ByteBuffer) -> Head? {
        line.withUnsafeReadableBytes { bytes -> Head? in
            guard bytes.last == UInt8(ascii: "}") else { return nil }
            var position = 0
            func take(_ text: StaticString) -> Bool {
                let count = text.utf8CodeUnitCount
                guard bytes.count - position >= count else { return false }
                for i in 0..<count where bytes[position + i] != text.utf8Start[i] { return false }
                position += count
                return true
            }
            guard take(#"{"jsonrpc":"2.0","#) else { return nil }
            var id: RPCID?
            if take(#""id":"#) {
                let start = position
                var value: Int64 = 0
                while position < bytes.count, position - start < 18, bytes[position] >= 0x30, bytes[position] <= 0x39 {
                    value = value * 10 + Int64(bytes[position] - 0x30)
                    position += 1
                }
                // JSON has no leading zeros.
                guard position > start, bytes[start] != 0x30 || position == start + 1, take(",") else { return nil }
                id = .number(value)
            }
            if take(#""result":"#) {
                return id.map { Head(jsonrpc: "2.0", id: $0, method: nil, error: nil, hasID: true) }
            }
            guard take(#""method":""#) else { return nil }
            let start = position
            while position < bytes.count, position - start <= 64, bytes[position] > 0x20, bytes[position] < 0x7F,
                bytes[position] != UInt8(ascii: "\""), bytes[position] != UInt8(ascii: "\\")
            {
                position += 1
            }
            let method = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
            guard position > start, take(#"","params":"#), let id else { return nil }
            return Head(jsonrpc: "2.0", id: id, method: method, error: nil, hasID: true)
        }
    }

    /// Decodes `params`; an absent `params` decodes as `{}`, so methods whose fields are all
    /// optional may be called without it.
    public static func decodeParams<P: Decodable>(_ type: P.Type, from line: ByteBuffer) throws -> P {
        // A delivery with its message: read without Codable (see JSONCodec). Anything this
        // reader refuses goes through Foundation's below, whose error names the field.
        if let fast = P.self as? any JSONFastCodable.Type, let value = try? fastMember("params", fast, from: line) as? P {
            return value
        }
        let decoder = JSONDecoder()
        if let p = try decoder.decode(ParamsBox<P>.self, from: line).params { return p }
        return try decoder.decode(P.self, from: emptyObject)
    }

    public static func decodeResult<R: Decodable>(_ type: R.Type, from line: ByteBuffer) throws -> R {
        if let fast = R.self as? any JSONFastCodable.Type {
            // A page of messages: read without Codable (see JSONCodec).
            if let value = try fastMember("result", fast, from: line) as? R { return value }
        }
        return try JSONDecoder().decode(ResultBox<R>.self, from: line).result
    }

    /// The `result` or `params` of a line, read by the type's own reader.
    static func fastMember(
        _ name: StaticString, _ type: any JSONFastCodable.Type, from line: ByteBuffer
    ) throws
        -> any JSONFastCodable
    {
        var reader = JSONReader(Array(line.readableBytesView))
        var value: (any JSONFastCodable)?
        try reader.readObject { reader, key in
            if key == name { value = try type.init(json: &reader) } else { try reader.skipValue() }
        }
        try reader.finish()
        guard let value else { throw JSONReadError(offset: 0, reason: "a line without \(name)") }
        return value
    }

    static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }

    /// `{"jsonrpc":"2.0","id":…,"result":…}\n`
    /// On failure `buffer` is left as it was.
    public static func encodeResult(_ result: some Encodable, id: RPCID?, into buffer: inout ByteBuffer) throws {
        let start = buffer.writerIndex
        buffer.writeStaticString(#"{"jsonrpc":"2.0","id":"#)
        writeID(id, into: &buffer)
        buffer.writeStaticString(#","result":"#)
        do {
            try writeJSON(result, into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
        buffer.writeStaticString("}\n")
    }

    /// Writes `value` as JSON, every `Base64Data` in it encoded straight into `buffer` in place
    /// of the placeholder Foundation's encoder wrote for it (see `Base64Data` for why).
    static func writeJSON(_ value: some Encodable, into buffer: inout ByteBuffer) throws {
        if let fast = value as? any JSONFastCodable {
            var writer = JSONWriter(capacity: 4096)
            fast.write(json: &writer)
            buffer.writeBytes(writer.bytes)
            return
        }
        let encoder = encoder()
        let splice = Base64Splice()
        encoder.userInfo[Base64Splice.userInfoKey] = splice
        let body = try encoder.encode(value)
        let payloads = splice.payloads
        guard !payloads.isEmpty else {
            buffer.writeBytes(body)
            return
        }
        buffer.reserveCapacity(minimumWritableBytes: body.count + payloads.reduce(0) { $0 + Base64Data.encodedCount($1.count) })
        let marker = Base64Splice.marker
        let spliced = body.withUnsafeBytes { json -> Int in
            var copied = 0
            var spliced = 0
            var position = 0
            while let found = firstIndex(of: marker, in: json, from: position) {
                // A placeholder is the marker, an index, and the end of the string.
                let digits = found + marker.count
                var end = digits
                var index = 0
                while end < json.count, end - digits < 9, json[end] >= UInt8(ascii: "0"), json[end] <= UInt8(ascii: "9") {
                    index = index * 10 + Int(json[end] - UInt8(ascii: "0"))
                    end += 1
                }
                position = end
                guard end > digits, end < json.count, json[end] == UInt8(ascii: "\""), index < payloads.count else { continue }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: json[copied..<found]))
                let payload = payloads[index]
                buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Base64Data.encodedCount(payload.count)) { output in
                    Base64Data.encode(payload, into: output)
                }
                copied = end
                spliced += 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: json[copied...]))
            return spliced
        }
        guard spliced == payloads.count else {
            throw EncodingError.invalidValue(value, .init(codingPath: [], debugDescription: "a base64 placeholder went missing"))
        }
    }

    private static func firstIndex(of needle: [UInt8], in haystack: UnsafeRawBufferPointer, from start: Int) -> Int? {
        guard let first = needle.first, haystack.count >= needle.count else { return nil }
        var i = start
        while i <= haystack.count - needle.count {
            if haystack[i] == first && needle.indices.allSatisfy({ haystack[i + $0] == needle[$0] }) { return i }
            i += 1
        }
        return nil
    }

    /// Whether `line` is JSON at all (any value), for telling a parse error from the rest.
    static func isJSON(_ line: ByteBuffer) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(line.readableBytesView), options: [.fragmentsAllowed])) != nil
    }

    /// `{"jsonrpc":"2.0","id":…,"error":{…}}\n`; a parse error always goes with id null
    /// (JSON-RPC 2.0 §5: an id read from a line that is not JSON is no id).
    public static func encodeError(_ error: RPCError, id: RPCID?, into buffer: inout ByteBuffer) {
        let body = (try? encoder().encode(error)) ?? Data(#"{"code":-32603,"message":"internal error"}"#.utf8)
        buffer.writeStaticString(#"{"jsonrpc":"2.0","id":"#)
        writeID(error.kind == RPCError.Kind.parseError.name ? nil : id, into: &buffer)
        buffer.writeStaticString(#","error":"#)
        buffer.writeBytes(body)
        buffer.writeStaticString("}\n")
    }

    /// `{"jsonrpc":"2.0","method":…,"params":…}\n` — a notification when `id` is nil.
    /// On failure `buffer` is left as it was.
    public static func encodeRequest(method: String, params: some Encodable, id: RPCID?, into buffer: inout ByteBuffer) throws {
        let start = buffer.writerIndex
        do {
            try writeRequest(method: method, params: params, id: id, into: &buffer)
        } catch {
            buffer.moveWriterIndex(to: start)
            throw error
        }
    }

    private static func writeRequest(method: String, params: some Encodable, id: RPCID?, into buffer: inout ByteBuffer) throws {
        let encoder = encoder()
        buffer.writeStaticString(#"{"jsonrpc":"2.0","#)
        if let id {
            buffer.writeStaticString(#""id":"#)
            writeID(id, into: &buffer)
            buffer.writeStaticString(",")
        }
        buffer.writeStaticString(#""method":"#)
        if method.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            // Method names are plain ASCII: no escaping needed, no encoder round trip.
            buffer.writeStaticString("\"")
            buffer.writeString(method)
            buffer.writeStaticString("\"")
        } else {
            buffer.writeBytes(try encoder.encode(method))
        }
        buffer.writeStaticString(#","params":"#)
        try writeJSON(params, into: &buffer)
        buffer.writeStaticString("}\n")
    }

    static func writeID(_ id: RPCID?, into buffer: inout ByteBuffer) {
        switch id {
        case .none: buffer.writeStaticString("null")
        case .number(let n): buffer.writeString(String(n))
        case .string(let s): buffer.writeBytes((try? JSONEncoder().encode(s)) ?? Data("null".utf8))
        }
    }

    /// Turns a decoding failure into the error a caller can act on: which field, and why.
    public static func invalidParams(_ error: any Error) -> RPCError {
        guard let error = error as? DecodingError else {
            return RPCError(.invalidParams, "invalid params: \(error)")
        }
        func path(_ p: [any CodingKey]) -> String {
            p.filter { $0.stringValue != "params" }.map { $0.intValue.map(String.init) ?? $0.stringValue }
                .joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let ctx):
            let field = path(ctx.codingPath + [key])
            return RPCError(.invalidParams, "missing parameter '\(field)'", field: field)
        case .typeMismatch(let type, let ctx):
            let field = path(ctx.codingPath)
            return RPCError(.invalidParams, "parameter '\(field)' must be \(typeName(type))", field: field)
        case .valueNotFound(let type, let ctx):
            let field = path(ctx.codingPath)
            return RPCError(.invalidParams, "parameter '\(field)' must be \(typeName(type)), not null", field: field)
        case .dataCorrupted(let ctx):
            let field = path(ctx.codingPath)
            return RPCError(
                .invalidParams, field.isEmpty ? ctx.debugDescription : "parameter '\(field)': \(ctx.debugDescription)",
                field: field.isEmpty ? nil : field)
        @unknown default:
            return RPCError(.invalidParams, "invalid params")
        }
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type, is UInt32.Type: return "an integer"
        default:
            let name = String(describing: type)
            return name.hasPrefix("Array") ? "an array" : (name.hasPrefix("Dictionary") ? "an object" : "\(name)")
        }
    }
}
