public import JSONCodec

// The envelope and body structure read and written without `Codable`'s cost, in exactly the
// shape the synthesized `Codable` conformances have (the store keeps that JSON for every message
// and `message.list` serves it; JSONCodec's comment says why). Optionals that are nil are left
// out, as the synthesized encoder leaves them; a member this reader does not know is skipped.

extension Envelope: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        self.init()
        try reader.readObject { reader, key in
            switch key {
            case "date": date = try reader.readOptionalString()
            case "subject": subject = try reader.readOptionalString()
            case "from": from = try reader.readArray(of: EnvelopeAddress.init(json:))
            case "sender": sender = try reader.readArray(of: EnvelopeAddress.init(json:))
            case "replyTo": replyTo = try reader.readArray(of: EnvelopeAddress.init(json:))
            case "to": to = try reader.readArray(of: EnvelopeAddress.init(json:))
            case "cc": cc = try reader.readArray(of: EnvelopeAddress.init(json:))
            case "bcc": bcc = try reader.readArray(of: EnvelopeAddress.init(json:))
            case "inReplyTo": inReplyTo = try reader.readOptionalString()
            case "messageID": messageID = try reader.readOptionalString()
            default: try reader.skipValue()
            }
        }
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("date", date)
            writer.member("subject", subject)
            writer.member("from", from)
            writer.member("sender", sender)
            writer.member("replyTo", replyTo)
            writer.member("to", to)
            writer.member("cc", cc)
            writer.member("bcc", bcc)
            writer.member("inReplyTo", inReplyTo)
            writer.member("messageID", messageID)
        }
    }
}

extension EnvelopeAddress: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        self.init(mailbox: nil, host: nil)
        try reader.readObject { reader, key in
            switch key {
            case "name": name = try reader.readOptionalString()
            case "adl": adl = try reader.readOptionalString()
            case "mailbox": mailbox = try reader.readOptionalString()
            case "host": host = try reader.readOptionalString()
            default: try reader.skipValue()
            }
        }
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("name", name)
            writer.member("adl", adl)
            writer.member("mailbox", mailbox)
            writer.member("host", host)
        }
    }
}

extension MIMEParameter: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var name = ""
        var value = ""
        try reader.readObject { reader, key in
            switch key {
            case "name": name = try reader.readString()
            case "value": value = try reader.readString()
            default: try reader.skipValue()
            }
        }
        self.init(name: name, value: value)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("name", name)
            writer.member("value", value)
        }
    }
}

extension ContentDisposition: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var type = ""
        var parameters: [MIMEParameter] = []
        try reader.readObject { reader, key in
            switch key {
            case "type": type = try reader.readString()
            case "parameters": parameters = try reader.readArray(of: MIMEParameter.init(json:))
            default: try reader.skipValue()
            }
        }
        self.init(type: type, parameters: parameters)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("type", type)
            writer.member("parameters", parameters)
        }
    }
}

extension BodyStructure: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        self.init(type: "", subtype: "")
        try reader.readObject { reader, key in
            switch key {
            case "type": type = try reader.readString()
            case "subtype": subtype = try reader.readString()
            case "parameters": parameters = try reader.readArray(of: MIMEParameter.init(json:))
            case "id": id = try reader.readOptionalString()
            case "description": description = try reader.readOptionalString()
            case "encoding": encoding = try reader.readString()
            case "size": size = try reader.readInt()
            case "lines": lines = reader.readNull() ? nil : try reader.readInt()
            case "md5": md5 = try reader.readOptionalString()
            case "disposition": disposition = reader.readNull() ? nil : try ContentDisposition(json: &reader)
            case "language": language = try reader.readArray { try $0.readString() }
            case "location": location = try reader.readOptionalString()
            case "headerStart": headerStart = try reader.readInt()
            case "bodyStart": bodyStart = try reader.readInt()
            case "end": end = try reader.readInt()
            case "content": content = try Content(json: &reader)
            default: try reader.skipValue()
            }
        }
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("type", type)
            writer.member("subtype", subtype)
            writer.member("parameters", parameters)
            writer.member("id", id)
            writer.member("description", description)
            writer.member("encoding", encoding)
            writer.member("size", size)
            writer.member("lines", lines)
            writer.member("md5", md5)
            writer.member("disposition", disposition)
            writer.member("language", language)
            writer.member("location", location)
            writer.member("headerStart", headerStart)
            writer.member("bodyStart", bodyStart)
            writer.member("end", end)
            writer.member("content", content)
        }
    }
}

// The synthesized shape of an enum with associated values: `{"single":{}}`,
// `{"multipart":{"_0":[…]}}`, `{"message":{"envelope":{…},"body":{…}}}`.
extension BodyStructure.Content: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var content: BodyStructure.Content?
        try reader.readObject { reader, key in
            guard content == nil else { throw reader.error("a body content with two cases") }
            switch key {
            case "single":
                try reader.skipValue()
                content = .single
            case "multipart":
                var children: [BodyStructure] = []
                try reader.readObject { reader, key in
                    if key == "_0" { children = try reader.readArray(of: BodyStructure.init(json:)) } else { try reader.skipValue() }
                }
                content = .multipart(children)
            case "message":
                var envelope: Envelope?
                var body: BodyStructure?
                try reader.readObject { reader, key in
                    switch key {
                    case "envelope": envelope = try Envelope(json: &reader)
                    case "body": body = try BodyStructure(json: &reader)
                    default: try reader.skipValue()
                    }
                }
                guard let envelope, let body else { throw reader.error("a message part without its envelope or body") }
                content = .message(envelope: envelope, body: body)
            default:
                throw reader.error("an unknown body content \"\(key)\"")
            }
        }
        guard let content else { throw reader.error("a body content without a case") }
        self = content
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            switch self {
            case .single:
                writer.key("single")
                writer.object { _ in }
            case .multipart(let children):
                writer.key("multipart")
                writer.object { writer in writer.member("_0", children) }
            case .message(let envelope, let body):
                writer.key("message")
                writer.object { writer in
                    writer.member("envelope", envelope)
                    writer.member("body", body)
                }
            }
        }
    }
}

extension ParsedMessage: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var envelope: Envelope?
        var body: BodyStructure?
        var truncated = false
        try reader.readObject { reader, key in
            switch key {
            case "envelope": envelope = try Envelope(json: &reader)
            case "body": body = try BodyStructure(json: &reader)
            case "truncated": truncated = try reader.readBool()
            default: try reader.skipValue()
            }
        }
        guard let envelope, let body else { throw reader.error("a parsed message without its envelope or body") }
        self.init(envelope: envelope, body: body, truncated: truncated)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("envelope", envelope)
            writer.member("body", body)
            writer.member("truncated", truncated)
        }
    }
}
