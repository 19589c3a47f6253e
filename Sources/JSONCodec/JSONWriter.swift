/// Appends JSON text to a byte array. Members and elements are written in the order the caller
/// gives; separators are the writer's business. Strings are escaped as `JSONEncoder` with
/// `.withoutEscapingSlashes` escapes them, so both write the same text for the same value.
public struct JSONWriter {
    public var bytes: [UInt8]
    /// Whether the next member or element needs a comma before it.
    var needsComma = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Writes `{ … }`; `members` writes the members with `key(_:)` before each value.
    public mutating func object(_ members: (inout JSONWriter) throws -> Void) rethrows {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
        try members(&self)
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    /// Writes `[ … ]`; `elements` writes each element.
    public mutating func array(_ elements: (inout JSONWriter) throws -> Void) rethrows {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
        try elements(&self)
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A member's key; the value written next belongs to it. Keys are the caller's constants,
    /// written without escaping.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [UInt8(ascii: "n"), UInt8(ascii: "u"), UInt8(ascii: "l"), UInt8(ascii: "l")])
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: value ? Array("true".utf8) : Array("false".utf8))
    }

    public mutating func int<Integer: BinaryInteger>(_ value: Integer) {
        separate()
        if value == 0 {
            bytes.append(UInt8(ascii: "0"))
            return
        }
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        // At most 39 digits (128 bits); written backwards into a small buffer.
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        while magnitude > 0 {
            digits.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10))
            magnitude /= 10
        }
        bytes.append(contentsOf: digits.reversed())
    }

    public mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { string(bytes: $0) }
    }

    /// A string from UTF-8 bytes (invalid UTF-8 is written as it is; callers pass `String`s'
    /// bytes or bytes read by `JSONReader`).
    public mutating func string(bytes value: some Collection<UInt8>) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        // Most strings need no escape: then they are copied in one piece.
        let plain = value.withContiguousStorageIfAvailable { buffer -> Bool in
            for byte in buffer where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { return false }
            bytes.append(contentsOf: buffer)
            return true
        }
        if plain == true {
            bytes.append(UInt8(ascii: "\""))
            return
        }
        for byte in value {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [
                    UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)],
                    hex[Int(byte & 0xF)],
                ])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Writes JSON text that is already valid as one value (stored JSON spliced in as it is).
    public mutating func raw(_ json: some Collection<UInt8>) {
        separate()
        bytes.append(contentsOf: json)
    }
}

/// A value that reads itself from `JSONReader` and writes itself to `JSONWriter`, in exactly the
/// shape its `Codable` conformance has (see the module's comment).
public protocol JSONFastCodable {
    init(json: inout JSONReader) throws
    func write(json: inout JSONWriter)
}

extension JSONFastCodable {
    public init(jsonBytes: [UInt8]) throws {
        self = try JSONReader.read(jsonBytes) { try Self(json: &$0) }
    }

    public var jsonBytes: [UInt8] {
        var writer = JSONWriter()
        write(json: &writer)
        return writer.bytes
    }
}

extension JSONWriter {
    /// `"name":"value"`.
    public mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    /// `"name":"value"`, or nothing when `value` is nil (as the synthesized `Codable` leaves it out).
    public mutating func member(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        member(name, value)
    }

    /// `"name":[…]` with each element written by its own `write(json:)`.
    public mutating func member(_ name: StaticString, _ values: [some JSONFastCodable]) {
        key(name)
        array { writer in for value in values { value.write(json: &writer) } }
    }
}

extension JSONReader {
    /// A string, or nil for `null` (an absent member stays nil with the caller).
    public mutating func readOptionalString() throws -> String? {
        readNull() ? nil : try readString()
    }
}
