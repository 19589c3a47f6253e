public import JSONCodec

/// A JSON value carried as its text: written into a message as the value it is (an object, not
/// a string that holds one), read back as the bytes of that value. `message.list` carries each
/// message's envelope and structure so: the back-end splices in the JSON its store keeps, and
/// a reader parses it once, with no escaping on the way (as a string, every quote was escaped
/// by one side and unescaped by the other). The types of MailMessage read it
/// (`Envelope(jsonBytes:)`); this module does not know them (DESIGN §6).
public struct JSONText: Sendable, Equatable, Codable {
    /// One JSON value, without surrounding whitespace.
    public private(set) var bytes: [UInt8]

    /// `text` if it is exactly one JSON value (surrounding whitespace dropped), else nil: what
    /// is spliced into a message must not break the line around it.
    public init?(validating text: some StringProtocol) {
        let bytes = Array(text.utf8)
        var reader = JSONReader(bytes)
        guard let value = try? reader.rawValue(), (try? reader.finish()) != nil else { return nil }
        self.bytes = Array(value)
    }

    public init(json reader: inout JSONReader) throws {
        bytes = Array(try reader.rawValue())
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    /// A JSON string whose content is `text`'s JSON: the form protocol version 1 carries.
    public init(quoting text: JSONText) {
        var writer = JSONWriter(capacity: text.bytes.count + 64)
        writer.string(bytes: text.bytes)
        bytes = writer.bytes
    }

    public func write(json writer: inout JSONWriter) {
        writer.raw(bytes)
    }

    // Codable, for callers that use Foundation's coders: through a tree of the value.
    public init(from decoder: any Decoder) throws {
        var writer = JSONWriter()
        try Tree(from: decoder).write(into: &writer)
        bytes = writer.bytes
    }

    public func encode(to encoder: any Encoder) throws {
        var reader = JSONReader(bytes)
        try Tree(reading: &reader).encode(to: encoder)
    }

    /// Any JSON value, for the Codable conformance.
    enum Tree: Codable {
        case null
        case bool(Bool)
        case integer(Int64)
        case number(Double)
        case string(String)
        case array([Tree])
        case object([(String, Tree)])

        init(reading reader: inout JSONReader) throws {
            if reader.readNull() {
                self = .null
                return
            }
            let raw = try reader.rawValue()
            var inner = JSONReader(Array(raw))
            switch raw.first {
            case UInt8(ascii: "{"):
                var members: [(String, Tree)] = []
                try inner.readObject { reader, key in members.append((key.string, try Tree(reading: &reader))) }
                self = .object(members)
            case UInt8(ascii: "["): self = .array(try inner.readArray(of: Tree.init(reading:)))
            case UInt8(ascii: "\""): self = .string(try inner.readString())
            case UInt8(ascii: "t"), UInt8(ascii: "f"): self = .bool(try inner.readBool())
            default:
                if let integer = try? inner.readInt64() {
                    self = .integer(integer)
                } else if let number = Double(String(decoding: raw, as: UTF8.self)) {
                    self = .number(number)
                } else {
                    throw reader.error("expected a value")
                }
            }
        }

        func write(into writer: inout JSONWriter) {
            switch self {
            case .null: writer.null()
            case .bool(let value): writer.bool(value)
            case .integer(let value): writer.int(value)
            case .number(let value): writer.raw(Array("\(value)".utf8))
            case .string(let value): writer.string(value)
            case .array(let values): writer.array { writer in for value in values { value.write(into: &writer) } }
            case .object(let members):
                writer.object { writer in
                    for (key, value) in members {
                        writer.key(dynamic: key)
                        value.write(into: &writer)
                    }
                }
            }
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            if let object = try? decoder.container(keyedBy: Key.self) {
                self = .object(try object.allKeys.map { ($0.stringValue, try object.decode(Tree.self, forKey: $0)) })
            } else if var array = try? decoder.unkeyedContainer() {
                var values: [Tree] = []
                while !array.isAtEnd { values.append(try array.decode(Tree.self)) }
                self = .array(values)
            } else {
                let value = try decoder.singleValueContainer()
                if value.decodeNil() {
                    self = .null
                } else if let bool = try? value.decode(Bool.self) {
                    self = .bool(bool)
                } else if let integer = try? value.decode(Int64.self) {
                    self = .integer(integer)
                } else if let number = try? value.decode(Double.self) {
                    self = .number(number)
                } else {
                    self = .string(try value.decode(String.self))
                }
            }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .null:
                var value = encoder.singleValueContainer()
                try value.encodeNil()
            case .bool(let bool):
                var value = encoder.singleValueContainer()
                try value.encode(bool)
            case .integer(let integer):
                var value = encoder.singleValueContainer()
                try value.encode(integer)
            case .number(let number):
                var value = encoder.singleValueContainer()
                try value.encode(number)
            case .string(let string):
                var value = encoder.singleValueContainer()
                try value.encode(string)
            case .array(let values):
                var array = encoder.unkeyedContainer()
                for element in values { try array.encode(element) }
            case .object(let members):
                var object = encoder.container(keyedBy: Key.self)
                for (key, element) in members { try object.encode(element, forKey: Key(stringValue: key)) }
            }
        }
    }
}
