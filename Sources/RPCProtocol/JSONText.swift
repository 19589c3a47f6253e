public import JSONCodec

/// A JSON value carried as its text: written into a message as the value it is (an object, not
/// a string that holds one), read back as the bytes of that value. `message.list` carries each
/// message's envelope and structure so: the back-end splices in the JSON its store keeps, and
/// a reader parses it once, with no escaping on the way (as a string, every quote was escaped
/// by one side and unescaped by the other). The types of MailMessage read it
/// (`Envelope(jsonBytes:)`); this module does not know them (DESIGN §6).
public struct JSONText: Sendable, Equatable, Codable, JSONFastCodable {
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

    // Codable, for callers that use Foundation's coders: through the value as a tree.
    public init(from decoder: any Decoder) throws {
        bytes = try JSONValue(from: decoder).jsonBytes
    }

    public func encode(to encoder: any Encoder) throws {
        try JSONValue(jsonBytes: bytes).encode(to: encoder)
    }
}
