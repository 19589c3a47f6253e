import Foundation
import JSONCodec
import Testing

/// The reader against RFC 8259 and against what Foundation's coders write and read: every
/// string Foundation writes reads back the same here, and every string written here reads back
/// the same in Foundation.
@Suite struct JSONCodecTests {
    static let sampleStrings: [String] = [
        "", "plain", "with \"quotes\" and \\ backslash", "a/b/c", "line\nbreak\r\ttab", "\u{8}\u{c}\u{1}\u{1f}",
        "Grüße, 日本語, emoji 😀", "\u{7f}", "=?utf-8?q?encoded?=", String(repeating: "x", count: 5000),
    ]

    @Test(arguments: sampleStrings)
    func stringsAgreeWithFoundation(text: String) throws {
        let foundation = try JSONEncoder().encode([text])
        var reader = JSONReader(Array(foundation))
        #expect(try reader.readArray(of: { try $0.readString() }) == [text])
        var writer = JSONWriter()
        writer.array { $0.string(text) }
        #expect(try JSONDecoder().decode([String].self, from: Data(writer.bytes)) == [text])
    }

    static let escapeCases: [(json: String, value: String)] = [
        (#""\u0041\u00e9""#, "Aé"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\/\b\f\n\r\t\"\\""#, "/\u{8}\u{c}\n\r\t\"\\"),
        (#"  "spaced"  "#, "spaced"),
    ]

    @Test(arguments: escapeCases)
    func escapesResolve(json: String, value: String) throws {
        #expect(try JSONReader.read(Array(json.utf8)) { try $0.readString() } == value)
    }

    static let malformedCases: [String] = [
        #""unterminated"#, #""\x""#, #""\u12""#, "\"a\u{1}b\"", #""a" x"#, "{", "[1,]", "[1 2]",
        #"{"a" 1}"#, #"{"a":1,}"#, "nul", "01x", "-", "1.", "1e", "tru",
    ]

    @Test(arguments: malformedCases)
    func malformedTextIsAnError(json: String) {
        #expect(throws: JSONReadError.self) { try JSONReader.read(Array(json.utf8)) { try $0.skipValue() } }
    }

    /// RFC 8259 §8.2: a lone surrogate is grammatical but no character; reading it as a string fails.
    @Test(arguments: [#""\ud83d""#, #""\ude00""#, #""\ud83d\u0041""#])
    func loneSurrogatesDoNotReadAsStrings(json: String) throws {
        #expect(throws: JSONReadError.self) { try JSONReader.read(Array(json.utf8)) { try $0.readString() } }
        try JSONReader.read(Array(json.utf8)) { try $0.skipValue() }
    }

    static let integerCases: [(json: String, value: Int64?)] = [
        ("0", 0), ("-0", 0), ("42", 42), ("-17", -17), ("9223372036854775807", .max), ("-9223372036854775808", .min),
        ("9223372036854775808", nil), ("1.5", nil), ("1e3", nil), ("\"1\"", nil), ("", nil),
    ]

    @Test(arguments: integerCases)
    func integers(json: String, value: Int64?) {
        let read = try? JSONReader.read(Array(json.utf8)) { try $0.readInt64() }
        #expect(read == value)
    }

    @Test(arguments: [Int64.min, -1, 0, 7, 4_294_967_295, .max])
    func integersWrite(value: Int64) throws {
        var writer = JSONWriter()
        writer.int(value)
        #expect(String(decoding: writer.bytes, as: UTF8.self) == String(value))
    }

    @Test func objectsArraysAndSkipping() throws {
        let json = #" { "keep" : [1, 2, 3], "skip": {"deep": [null, true, false, -1.5e-3, "s", {}]}, "n": null, "keep2": "x" } "#
        var kept: [Int] = []
        var other = ""
        var sawNull = false
        try JSONReader.read(Array(json.utf8)) { reader in
            try reader.readObject { reader, key in
                switch key {
                case "keep": kept = try reader.readArray { try $0.readInt() }
                case "keep2": other = try reader.readString()
                case "n": sawNull = reader.readNull()
                default: try reader.skipValue()
                }
            }
        }
        #expect(kept == [1, 2, 3] && other == "x" && sawNull)
    }

    @Test func writerShapesMatchFoundation() throws {
        struct Sample: Codable, Equatable {
            var a: Int
            var b: String?
            var c: [String]
            var d: Bool
        }
        var writer = JSONWriter()
        writer.object { writer in
            writer.key("a")
            writer.int(-3)
            writer.member("b", nil as String?)
            writer.key("c")
            writer.array { writer in
                writer.string("x")
                writer.string("y")
            }
            writer.key("d")
            writer.bool(true)
        }
        #expect(try JSONDecoder().decode(Sample.self, from: Data(writer.bytes)) == Sample(a: -3, b: nil, c: ["x", "y"], d: true))
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"a":-3,"c":["x","y"],"d":true}"#)
    }

    /// At the limit: `maxDepth` levels read, one more is an error (not a stack overflow).
    @Test func depthLimit() throws {
        let depth = JSONReader.maxDepth
        let atLimit = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        try JSONReader.read(Array(atLimit.utf8)) { try $0.skipValue() }
        let over = "[" + atLimit + "]"
        #expect(throws: JSONReadError.self) { try JSONReader.read(Array(over.utf8)) { try $0.skipValue() } }
    }
}
