public import JSONCodec
import MailCore

// Message bytes travel base64 in `message.read` and `message.read_batch` answers (a FETCH of
// 1,000 bodies, every POP3 RETR): decoded and encoded straight from and into the JSON text,
// without Codable's pass over a string of a megabyte. The shapes are the synthesized ones.

extension Base64Data: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        let text = try reader.readStringBytes()
        guard let bytes = Base64.decodeIgnoringWhitespace(text) else { throw reader.error("not base64") }
        self.init(bytes)
    }

    public func write(json writer: inout JSONWriter) {
        writer.string(unescaped: Base64.encodedCount(bytes.count)) { output in
            bytes.withUnsafeBytes { _ = Base64.encode($0, into: output) }
        }
    }
}

extension MessageReadResult: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var data: Base64Data?
        var total: Int64?
        var offset: Int64?
        try reader.readObject { reader, key in
            switch key {
            case "data": data = try Base64Data(json: &reader)
            case "total": total = try reader.readInt64()
            case "offset": offset = try reader.readInt64()
            default: try reader.skipValue()
            }
        }
        guard let data, let total, let offset else { throw reader.error("a read result without data, total or offset") }
        self.init(data: data, total: total, offset: offset)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("data", data)
            writer.member("total", total)
            writer.member("offset", offset)
        }
    }
}

extension MessageReadBatchResult: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var messages: [MessageChunk]?
        var missing: [UInt32]?
        try reader.readObject { reader, key in
            switch key {
            case "messages": messages = try reader.readArray(of: MessageChunk.init(json:))
            case "missing": missing = try reader.readArray { try $0.readUInt32() }
            default: try reader.skipValue()
            }
        }
        guard let messages, let missing else { throw reader.error("a batch read result without messages or missing") }
        self.init(messages: messages, missing: missing)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("messages", messages)
            writer.member("missing", missing)
        }
    }
}

extension MessageChunk: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var uid: UInt32?
        var data: Base64Data?
        var total: Int64?
        try reader.readObject { reader, key in
            switch key {
            case "uid": uid = try reader.readUInt32()
            case "data": data = try Base64Data(json: &reader)
            case "total": total = try reader.readInt64()
            default: try reader.skipValue()
            }
        }
        guard let uid, let data, let total else { throw reader.error("a message chunk without uid, data or total") }
        self.init(uid: uid, data: data, total: total)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("uid", uid)
            writer.member("data", data)
            writer.member("total", total)
        }
    }
}
