import MailCore
import Synchronization

/// Bytes carried in the RPC: on the wire a JSON string of base64 (RFC 4648 §4; the schema
/// `Base64Data` in Protocol/openrpc.json), in Swift the bytes themselves.
///
/// Decoding accepts wrapped base64 too (line breaks and spaces are skipped), since scripts
/// driving the RPC often produce it.
///
/// Encoding is the hot path of every message read and delivery, so it can go around
/// Foundation's JSON writer, which copies and escape-checks a string byte by byte (a third of
/// the back-end's CPU in a POP3 RETR loop): when the encoder carries a `Base64Splice` in its
/// `userInfo`, the value encodes as a placeholder the splice remembers, and the transport
/// writes the base64 in the placeholder's place straight into its output buffer.
public struct Base64Data: Codable, Sendable, Equatable {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public init<Bytes: Sequence>(copying bytes: Bytes) where Bytes.Element == UInt8 { self.bytes = Array(bytes) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        var text = try container.decode(String.self)
        guard let bytes = text.withUTF8({ Base64.decodeIgnoringWhitespace($0) }) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "not base64")
        }
        self.bytes = bytes
    }

    /// The length of the base64 of `count` bytes.
    public static func encodedCount(_ count: Int) -> Int { Base64.encodedCount(count) }

    /// Writes the base64 of `bytes` at the start of `output`; returns the bytes written.
    public static func encode(_ bytes: [UInt8], into output: UnsafeMutableRawBufferPointer) -> Int {
        bytes.withUnsafeBytes { Base64.encode($0, into: output) }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let splice = encoder.userInfo[Base64Splice.userInfoKey] as? Base64Splice {
            try container.encode(splice.placeholder(for: bytes))
        } else {
            try container.encode(Base64.encode(bytes))
        }
    }
}

/// Collects the `Base64Data` values of one encoding and names each by a placeholder string
/// that no other string value can equal by chance: a random 128-bit nonce per process, then
/// the value's index. See `Base64Data`.
public final class Base64Splice: Sendable {
    public static let userInfoKey = CodingUserInfoKey(rawValue: "loft.base64splice")!

    /// `"b64splice-<32 hex digits>-"`, then the index; no JSON escaping applies to it.
    public static let marker: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        let hex = (0..<2).map { _ in
            let s = String(generator.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return Array("b64splice-\(hex.joined())-".utf8)
    }()

    private let collected = Mutex<[[UInt8]]>([])

    public init() {}

    func placeholder(for bytes: [UInt8]) -> String {
        let index = collected.withLock {
            $0.append(bytes)
            return $0.count - 1
        }
        return String(decoding: Self.marker, as: UTF8.self) + String(index)
    }

    /// The values collected so far, by index.
    public var payloads: [[UInt8]] { collected.withLock { $0 } }
}
