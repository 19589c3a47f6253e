public import JSONCodec

/// Any JSON value, for passing through what we do not interpret.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let n = try? c.decode(Double.self) {
            self = .number(n)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let n):
            if n.rounded() == n, abs(n) < 9e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}

extension JSONValue: JSONFastCodable {
    public init(json reader: inout JSONReader) throws {
        if reader.readNull() {
            self = .null
            return
        }
        let raw = try reader.rawValue()
        var inner = JSONReader(Array(raw))
        switch raw.first {
        case UInt8(ascii: "{"):
            var members: [String: JSONValue] = [:]
            try inner.readObject { reader, key in members[key.string] = try JSONValue(json: &reader) }
            self = .object(members)
        case UInt8(ascii: "["): self = .array(try inner.readArray(of: JSONValue.init(json:)))
        case UInt8(ascii: "\""): self = .string(try inner.readString())
        case UInt8(ascii: "t"), UInt8(ascii: "f"): self = .bool(try inner.readBool())
        default:
            guard let number = Double(String(decoding: raw, as: UTF8.self)) else { throw reader.error("expected a value") }
            self = .number(number)
        }
    }

    public func write(json writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .number(let value):
            if value.rounded() == value, abs(value) < 9e15 { writer.int(Int64(value)) } else { writer.raw(Array("\(value)".utf8)) }
        case .string(let value): writer.string(value)
        case .array(let values): writer.array { writer in for value in values { value.write(json: &writer) } }
        case .object(let members):
            writer.object { writer in
                for (key, value) in members.sorted(by: { $0.key < $1.key }) {
                    writer.key(dynamic: key)
                    value.write(json: &writer)
                }
            }
        }
    }
}
