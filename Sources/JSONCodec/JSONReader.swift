/// JSONCodec: a pull reader and an appending writer for JSON text (RFC 8259), for the few RPC
/// values that carry a page of messages at a time (`message.list`, message envelopes and
/// structures). Foundation's `JSONDecoder`/`JSONEncoder` stay the way every other value is
/// coded; they cost tens of microseconds a message through `Codable` and were most of the time of
/// IMAP's `FETCH 1:* (ENVELOPE)` (Tests/bench/IMAP.md), where this reads a message in a few.
/// No Swift JSON library in reach here reads without `Codable`'s cost, hence this one.
///
/// Pure: imports only the standard library. A type that reads and writes itself with these
/// conforms to `JSONFastCodable`, and must read exactly what Foundation's synthesized `Codable`
/// writes for it and the other way round (the tests check both directions), so stored JSON and
/// the RPC's documented shapes do not change.

/// Why a JSON text could not be read.
public struct JSONReadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var reason: String

    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// Reads one JSON value from bytes, a token at a time: objects by `readObject`, arrays by
/// `readArray`, scalars by `readString` and the like. Whitespace is skipped everywhere. Nesting
/// is bounded by `maxDepth` (for `skipValue` and for readers that recurse).
public struct JSONReader {
    /// As deep as Foundation's JSONDecoder goes, so what it reads this reads too (a body structure
    /// takes four levels per MIME level).
    public static let maxDepth = 512

    @usableFromInline let bytes: [UInt8]
    @usableFromInline var position: Int
    /// How deep the reader is inside objects and arrays.
    public private(set) var depth = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.position = 0
    }

    public init(_ text: String) {
        self.init(Array(text.utf8))
    }

    /// Reads a whole text that is one value and nothing else.
    public static func read<Value>(_ bytes: [UInt8], _ body: (inout JSONReader) throws -> Value) throws -> Value {
        var reader = JSONReader(bytes)
        let value = try body(&reader)
        try reader.finish()
        return value
    }

    /// Fails unless only whitespace follows.
    public mutating func finish() throws {
        skipWhitespace()
        guard position == bytes.count else { throw error("text after the value") }
    }

    public func error(_ reason: String) -> JSONReadError {
        JSONReadError(offset: position, reason: reason)
    }

    @inlinable
    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    @inlinable
    mutating func peek() -> UInt8? {
        skipWhitespace()
        return position < bytes.count ? bytes[position] : nil
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard peek() == byte else { throw error("expected \(what)") }
        position += 1
    }

    mutating func literal(_ text: StaticString) -> Bool {
        let count = text.utf8CodeUnitCount
        guard bytes.count - position >= count else { return false }
        for i in 0..<count where bytes[position + i] != text.utf8Start[i] { return false }
        position += count
        return true
    }

    /// Reads an object, calling `member` with each key; `member` must read (or skip) the value.
    /// A key read twice is passed twice (the last value wins for the usual reader).
    public mutating func readObject(_ member: (inout JSONReader, JSONKey) throws -> Void) throws {
        try expect(UInt8(ascii: "{"), "an object")
        try enter()
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "}") {
            position += 1
            return
        }
        while true {
            let key = try readKey()
            try expect(UInt8(ascii: ":"), "':'")
            try member(&self, key)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return
            default: throw error("expected ',' or '}'")
            }
        }
    }

    /// A member's name: a slice of the text itself unless it has escapes.
    mutating func readKey() throws -> JSONKey {
        guard peek() == UInt8(ascii: "\"") else { throw error("expected a string") }
        let start = position + 1
        let end = plainRunEnd(from: start)
        if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
            position = end + 1
            return JSONKey(bytes: bytes[start..<end])
        }
        return JSONKey(bytes: ArraySlice(try readStringBytes()))
    }

    /// Reads an array, calling `element` for each element; `element` must read (or skip) it.
    public mutating func readArray(_ element: (inout JSONReader) throws -> Void) throws {
        try expect(UInt8(ascii: "["), "an array")
        try enter()
        defer { depth -= 1 }
        if peek() == UInt8(ascii: "]") {
            position += 1
            return
        }
        while true {
            try element(&self)
            switch peek() {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return
            default: throw error("expected ',' or ']'")
            }
        }
    }

    /// Reads an array of values each read by `element`.
    public mutating func readArray<Element>(of element: (inout JSONReader) throws -> Element) throws -> [Element] {
        var values: [Element] = []
        try readArray { reader in values.append(try element(&reader)) }
        return values
    }

    mutating func enter() throws {
        depth += 1
        guard depth <= Self.maxDepth else { throw error("nested deeper than \(Self.maxDepth)") }
    }

    /// Consumes `null` and answers true, or leaves any other value in place and answers false.
    public mutating func readNull() -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        return literal("null")
    }

    public mutating func readBool() throws -> Bool {
        _ = peek()
        if literal("true") { return true }
        if literal("false") { return false }
        throw error("expected true or false")
    }

    /// An integer written without fraction or exponent (as `JSONEncoder` writes every integer).
    public mutating func readInt64() throws -> Int64 {
        _ = peek()
        let start = position
        var negative = false
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        var value: Int64 = 0
        let digits = position
        while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 {
            let digit = Int64(bytes[position] - 0x30)
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else {
                position = start
                throw error("an integer out of range")
            }
            value = next
            position += 1
        }
        guard position > digits else { throw error("expected an integer") }
        if position < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[position]) {
            position = start
            throw error("expected an integer, not a fraction")
        }
        return value
    }

    public mutating func readInt() throws -> Int {
        let value = try readInt64()
        guard let int = Int(exactly: value) else { throw error("an integer out of range") }
        return int
    }

    public mutating func readUInt32() throws -> UInt32 {
        let value = try readInt64()
        guard let int = UInt32(exactly: value) else { throw error("an integer out of range for 32 bits") }
        return int
    }

    public mutating func readString() throws -> String {
        // Without escapes the string is made from the text itself, with no array between.
        if peek() == UInt8(ascii: "\"") {
            let start = position + 1
            let end = plainRunEnd(from: start)
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                position = end + 1
                return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[start..<end]), as: UTF8.self) }
            }
        }
        return String(decoding: try readStringBytes(), as: UTF8.self)
    }

    /// A string's bytes, escapes resolved (`\uD83D\uDE00` pairs to one scalar; a lone surrogate
    /// is an error). Bytes below 0x20 unescaped are an error (RFC 8259 §7).
    public mutating func readStringBytes() throws -> [UInt8] {
        try expect(UInt8(ascii: "\""), "a string")
        // The common case: no escapes, taken in one slice.
        let start = position
        position = plainRunEnd(from: position)
        if position < bytes.count, bytes[position] == UInt8(ascii: "\"") {
            position += 1
            return Array(bytes[start..<position - 1])
        }
        var value = Array(bytes[start..<position])
        while position < bytes.count {
            switch bytes[position] {
            case UInt8(ascii: "\""):
                position += 1
                return value
            case UInt8(ascii: "\\"):
                position += 1
                try readEscape(into: &value)
                // The run up to the next escape in one piece (JSON text inside a string has a
                // quote every few bytes).
                let run = position
                position = plainRunEnd(from: position)
                value.append(contentsOf: bytes[run..<position])
            default:
                throw error("a control character in a string")
            }
        }
        throw error("a string without its closing quote")
    }

    /// Where the bytes from `start` that a string holds as they are (no quote, backslash or
    /// control character) end.
    func plainRunEnd(from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            var end = start
            while end < buffer.count {
                let byte = buffer[end]
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 { break }
                end += 1
            }
            return end
        }
    }

    mutating func readEscape(into value: inout [UInt8]) throws {
        guard position < bytes.count else { throw error("a string without its closing quote") }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): value.append(byte)
        case UInt8(ascii: "b"): value.append(0x08)
        case UInt8(ascii: "f"): value.append(0x0C)
        case UInt8(ascii: "n"): value.append(0x0A)
        case UInt8(ascii: "r"): value.append(0x0D)
        case UInt8(ascii: "t"): value.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800..<0xDC00).contains(scalar) {
                guard literal("\\u") else { throw error("a lone surrogate") }
                let low = try readHex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00..<0xE000).contains(scalar) {
                throw error("a lone surrogate")
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("an invalid \\u escape") }
            value.append(contentsOf: UTF8.encode(unicode)!)
        default:
            throw error("an invalid escape")
        }
    }

    mutating func readHex4() throws -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("a short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default: throw error("a bad hex digit in a \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// The text of the next value, checked and skipped (for a value carried on as it is).
    public mutating func rawValue() throws -> ArraySlice<UInt8> {
        skipWhitespace()
        let start = position
        try skipValue()
        return bytes[start..<position]
    }

    /// Skips one value of any kind (a member this reader does not know, or a value carried on
    /// as its text), checking its syntax without building any string.
    public mutating func skipValue() throws {
        switch peek() {
        case UInt8(ascii: "{"): try readObject { reader, _ in try reader.skipValue() }
        case UInt8(ascii: "["): try readArray { reader in try reader.skipValue() }
        case UInt8(ascii: "\""): try skipString()
        case UInt8(ascii: "t"), UInt8(ascii: "f"): _ = try readBool()
        case UInt8(ascii: "n"):
            guard readNull() else { throw error("expected null") }
        default: try skipNumber()
        }
    }

    /// Past a string at `position` (its opening quote), escapes checked.
    mutating func skipString() throws {
        position += 1
        while true {
            position = plainRunEnd(from: position)
            guard position < bytes.count else { throw error("a string without its closing quote") }
            switch bytes[position] {
            case UInt8(ascii: "\""):
                position += 1
                return
            case UInt8(ascii: "\\"):
                position += 1
                guard position < bytes.count else { throw error("a string without its closing quote") }
                switch bytes[position] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    position += 1
                case UInt8(ascii: "u"):
                    position += 1
                    _ = try readHex4()
                default: throw error("an invalid escape")
                }
            default: throw error("a control character in a string")
            }
        }
    }

    // RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ]
    mutating func skipNumber() throws {
        let start = position
        if position < bytes.count, bytes[position] == UInt8(ascii: "-") { position += 1 }
        func digits() -> Int {
            let from = position
            while position < bytes.count, bytes[position] >= 0x30, bytes[position] <= 0x39 { position += 1 }
            return position - from
        }
        guard digits() > 0 else {
            position = start
            throw error("expected a value")
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: ".") {
            position += 1
            guard digits() > 0 else { throw error("a fraction without digits") }
        }
        if position < bytes.count, bytes[position] == UInt8(ascii: "e") || bytes[position] == UInt8(ascii: "E") {
            position += 1
            if position < bytes.count, bytes[position] == UInt8(ascii: "+") || bytes[position] == UInt8(ascii: "-") { position += 1 }
            guard digits() > 0 else { throw error("an exponent without digits") }
        }
    }
}

/// An object member's name as the reader found it (escapes resolved). A `switch` compares it
/// with string literals without making a `String` of it: `case "subject":`.
public struct JSONKey: CustomStringConvertible {
    let bytes: ArraySlice<UInt8>

    public var string: String { String(decoding: bytes, as: UTF8.self) }
    public var description: String { string }

    public static func ~= (pattern: StaticString, key: JSONKey) -> Bool {
        key == pattern
    }

    public static func == (key: JSONKey, name: StaticString) -> Bool {
        guard key.bytes.count == name.utf8CodeUnitCount else { return false }
        return key.bytes.withUnsafeBufferPointer { buffer in
            for index in 0..<buffer.count where buffer[index] != name.utf8Start[index] { return false }
            return true
        }
    }
}
