public import JSONCodec
import MailCore

// `message.list` answers with pages of up to 5,000 summaries; coding them through `Codable`
// cost both processes tens of microseconds a message (JSONCodec says more). These read and
// write exactly the shape of the synthesized conformances, which stay the documented one.

extension MessageListResult: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        self.init(uidValidity: 0, uidNext: 0, highestModseq: 0, messages: [], nextAfterUid: nil)
        var present = 0
        try reader.readObject { reader, key in
            switch key {
            case "uidValidity":
                uidValidity = try reader.readUInt32()
                present |= 1
            case "uidNext":
                uidNext = try reader.readUInt32()
                present |= 2
            case "highestModseq":
                highestModseq = try reader.readInt64()
                present |= 4
            case "messages":
                messages = try reader.readArray(of: MessageSummary.init(json:))
                present |= 8
            case "nextAfterUid": nextAfterUid = reader.readNull() ? nil : try reader.readUInt32()
            default: try reader.skipValue()
            }
        }
        guard present == 15 else { throw reader.error("a message page without uidValidity, uidNext, highestModseq or messages") }
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("uidValidity", uidValidity)
            writer.member("uidNext", uidNext)
            writer.member("highestModseq", highestModseq)
            writer.member("messages", messages)
            writer.member("nextAfterUid", nextAfterUid)
        }
    }
}

extension MessageSummary: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        self.init(uid: 0, flags: MessageFlags(), internalDate: 0, size: 0, modseq: 0)
        var present = 0
        try reader.readObject { reader, key in
            switch key {
            case "uid":
                uid = try reader.readUInt32()
                present |= 1
            case "flags":
                flags = try MessageFlags(json: &reader)
                present |= 2
            case "internalDate":
                internalDate = try reader.readInt64()
                present |= 4
            case "size":
                size = try reader.readInt64()
                present |= 8
            case "modseq":
                modseq = try reader.readInt64()
                present |= 16
            case "structure": structure = reader.readNull() ? nil : try JSONText(json: &reader)
            case "envelope": envelope = reader.readNull() ? nil : try JSONText(json: &reader)
            default: try reader.skipValue()
            }
        }
        guard present == 31 else { throw reader.error("a message summary without uid, flags, internalDate, size or modseq") }
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("uid", uid)
            writer.key("flags")
            flags.write(json: &writer)
            writer.member("internalDate", internalDate)
            writer.member("size", size)
            writer.member("modseq", modseq)
            writer.member("structure", structure)
            writer.member("envelope", envelope)
        }
    }
}

extension MessageFlags {
    /// `["\\Seen","$Label1"]`, as `MessageFlags`' own `Codable` conformance has it.
    init(json reader: inout JSONReader) throws {
        let names = try reader.readArray { try $0.readString() }
        guard let flags = MessageFlags(names: names) else { throw reader.error("invalid flags: \(names)") }
        self = flags
    }

    func write(json writer: inout JSONWriter) {
        writer.array { writer in for name in names { writer.string(name) } }
    }
}
