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
        append(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A key that is not a constant, escaped as a string.
    public mutating func key(dynamic name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
        needsComma = true
    }

    public mutating func null() {
        separate()
        append("null")
    }

    public mutating func bool(_ value: Bool) {
        separate()
        append(value ? "true" : "false")
    }

    mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    /// An integer in decimal (any `BinaryInteger` up to 64 bits).
    public mutating func int<Integer: BinaryInteger>(_ value: Integer) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = UInt64(value.magnitude)
        var digits = 1
        var bound: UInt64 = 10
        while digits < 20, magnitude >= bound {
            digits += 1
            bound = bound &* 10
        }
        let end = bytes.count + digits
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: digits))
        var at = end
        repeat {
            at -= 1
            bytes[at] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
            magnitude /= 10
        } while magnitude > 0
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
        if value.withContiguousStorageIfAvailable({ escape($0) }) == nil {
            let copy = Array(value)
            copy.withUnsafeBufferPointer { escape($0) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Appends `value` escaped: the runs between escapes in one piece each (JSON text inside a
    /// string, as `message.list` carries envelopes, has a quote every few bytes).
    mutating func escape(_ value: UnsafeBufferPointer<UInt8>) {
        var run = 0
        for index in 0..<value.count {
            let byte = value[index]
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            if index > run { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: value[run..<index])) }
            run = index + 1
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(byte)
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            default:
                let hex: StaticString = "0123456789abcdef"
                bytes.append(UInt8(ascii: "u"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(UInt8(ascii: "0"))
                bytes.append(hex.utf8Start[Int(byte >> 4)])
                bytes.append(hex.utf8Start[Int(byte & 0xF)])
            }
        }
        if value.count > run { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: value[run..<value.count])) }
    }

    /// A string of `count` bytes that `fill` writes in place, which need no escape (base64):
    /// no copy of a megabyte on its way in.
    public mutating func string(unescaped count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + count])) }
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

    /// `"name":123`, or nothing when `value` is nil.
    public mutating func member<Integer: BinaryInteger>(_ name: StaticString, _ value: Integer?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    /// `"name":true`, or nothing when `value` is nil.
    public mutating func member(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bool(value)
    }

    /// `"name":…` written by the value itself, or nothing when `value` is nil.
    public mutating func member(_ name: StaticString, _ value: (some JSONFastCodable)?) {
        guard let value else { return }
        key(name)
        value.write(json: &self)
    }

    /// `"name":[1,2,…]`.
    public mutating func member<Integer: BinaryInteger>(_ name: StaticString, _ values: [Integer]) {
        key(name)
        array { writer in for value in values { writer.int(value) } }
    }

    /// `"name":["…",…]`.
    public mutating func member(_ name: StaticString, _ values: [String]) {
        key(name)
        array { writer in for value in values { writer.string(value) } }
    }

    /// `"name":[…]`, or nothing when `values` is nil.
    public mutating func member(_ name: StaticString, _ values: [some JSONFastCodable]?) {
        guard let values else { return }
        member(name, values)
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
