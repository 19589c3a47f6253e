import Foundation
public import JSONCodec

// Every SMTP delivery is a `delivery.submit` (or `upload.append`s and an `upload.commit`) with
// the message in base64: coded without Codable, whose cost was a sixth of the back-end's CPU
// per delivery (Tests/bench/STORAGE.md). The shapes are the synthesized ones; a params object
// this reader refuses is decoded again by Foundation's, for its error (`field`).

extension DeliverySubmitParams: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var sender: String?
        var recipients: [String]?
        var data: Base64Data?
        var clientAddress: String?
        var session: String?
        var trustedRelay: Bool?
        var idempotencyKey: String?
        var dsn: DeliveryDSN?
        try reader.readObject { reader, key in
            switch key {
            case "sender": sender = try reader.readString()
            case "recipients": recipients = try reader.readArray { try $0.readString() }
            case "data": data = try Base64Data(json: &reader)
            case "clientAddress": clientAddress = try reader.readOptionalString()
            case "session": session = try reader.readOptionalString()
            case "trustedRelay": trustedRelay = reader.readNull() ? nil : try reader.readBool()
            case "idempotencyKey": idempotencyKey = try reader.readOptionalString()
            // Rare (a client that asked for DSNs), so Foundation's decoder does.
            case "dsn": dsn = reader.readNull() ? nil : try JSONDecoder().decode(DeliveryDSN.self, from: Data(try reader.rawValue()))
            default: try reader.skipValue()
            }
        }
        guard let sender, let recipients, let data else { throw reader.error("a delivery without sender, recipients or data") }
        self.init(
            sender: sender, recipients: recipients, data: data, clientAddress: clientAddress, session: session,
            trustedRelay: trustedRelay, idempotencyKey: idempotencyKey, dsn: dsn)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("sender", sender)
            writer.member("recipients", recipients)
            writer.member("clientAddress", clientAddress)
            writer.member("session", session)
            writer.member("trustedRelay", trustedRelay)
            writer.member("idempotencyKey", idempotencyKey)
            if let dsn, let json = try? JSONEncoder().encode(dsn) {
                writer.key("dsn")
                writer.raw(json)
            }
            writer.member("data", data)
        }
    }
}

extension UploadAppendParams: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var upload: String?
        var data: Base64Data?
        try reader.readObject { reader, key in
            switch key {
            case "upload": upload = try reader.readString()
            case "data": data = try Base64Data(json: &reader)
            default: try reader.skipValue()
            }
        }
        guard let upload, let data else { throw reader.error("an append without upload or data") }
        self.init(upload: upload, data: data)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("upload", upload)
            writer.member("data", data)
        }
    }
}

extension UploadCommitResult: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var size: Int64?
        var sha256: String?
        var recipients: [RecipientOutcome]?
        var uidValidity: UInt32?
        var uid: UInt32?
        try reader.readObject { reader, key in
            switch key {
            case "size": size = try reader.readInt64()
            case "sha256": sha256 = try reader.readString()
            case "recipients": recipients = reader.readNull() ? nil : try reader.readArray(of: RecipientOutcome.init(json:))
            case "uidValidity": uidValidity = reader.readNull() ? nil : try reader.readUInt32()
            case "uid": uid = reader.readNull() ? nil : try reader.readUInt32()
            default: try reader.skipValue()
            }
        }
        guard let size, let sha256 else { throw reader.error("a commit result without size or sha256") }
        self.init(size: size, sha256: sha256, recipients: recipients, uidValidity: uidValidity, uid: uid)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("size", size)
            writer.member("sha256", sha256)
            writer.member("recipients", recipients)
            writer.member("uidValidity", uidValidity)
            writer.member("uid", uid)
        }
    }
}

extension RecipientOutcome: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        var recipient: String?
        var status: Status?
        var kind: String?
        var message: String?
        var temporary: Bool?
        var alsoQueued: Bool?
        try reader.readObject { reader, key in
            switch key {
            case "recipient": recipient = try reader.readString()
            case "status":
                let name = try reader.readString()
                guard let value = Status(rawValue: name) else { throw reader.error("an unknown recipient status \(name)") }
                status = value
            case "kind": kind = try reader.readOptionalString()
            case "message": message = try reader.readOptionalString()
            case "temporary": temporary = reader.readNull() ? nil : try reader.readBool()
            case "alsoQueued": alsoQueued = reader.readNull() ? nil : try reader.readBool()
            default: try reader.skipValue()
            }
        }
        guard let recipient, let status else { throw reader.error("a recipient outcome without recipient or status") }
        self.init(recipient: recipient, status: status, kind: kind, message: message, temporary: temporary, alsoQueued: alsoQueued)
    }

    public func write(json writer: inout JSONWriter) {
        writer.object { writer in
            writer.member("recipient", recipient)
            writer.member("status", status.rawValue)
            writer.member("kind", kind)
            writer.member("message", message)
            writer.member("temporary", temporary)
            writer.member("alsoQueued", alsoQueued)
        }
    }
}
