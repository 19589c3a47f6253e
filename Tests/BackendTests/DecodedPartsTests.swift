import Foundation
import MailMessage
import Testing

@testable import Backend
@testable import Storage

/// IMAP BINARY's decoded parts: each part is decoded once however it is read (in memory when
/// small, in a file when large), within the cache's bounds, least recently used out first.
@Suite struct DecodedPartsTests {
    static func key(_ n: UInt8, count: Int, text: Bool = false) -> DecodedParts.Key {
        DecodedParts.Key(digest: BodyDigest(Data(repeating: n, count: 32)), start: 0, count: count, text: text)
    }

    static func directory() -> String {
        NSTemporaryDirectory() + "loft-decoded-\(UUID().uuidString)"
    }

    final class Reads: @unchecked Sendable {
        var bytes = 0
    }

    func chunks(_ cache: DecodedParts, _ key: DecodedParts.Key, encoded: [UInt8], chunk: Int, reads: Reads) throws -> [UInt8] {
        var out: [UInt8] = []
        var offset: Int64 = 0
        while true {
            let (bytes, total) = try cache.read(key, encoding: "BASE64", offset: offset, length: chunk) { at, length in
                reads.bytes += length
                return Array(encoded[at..<(at + length)])
            }
            out += bytes
            offset += Int64(bytes.count)
            if offset >= total || bytes.isEmpty { return out }
        }
    }

    @Test func partsAreDecodedOnceInMemoryOrInAFile() throws {
        let data = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        let encoded = Array(Data(data).base64EncodedString(options: .lineLength76Characters).utf8)
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // 3 MB decoded: over the memory entry size, so in a file; one decoding for all chunks.
        let cache = DecodedParts(directory: directory, memoryEntryBytes: 1 << 20)
        let reads = Reads()
        #expect(try chunks(cache, Self.key(1, count: encoded.count), encoded: encoded, chunk: 100_000, reads: reads) == data)
        #expect(reads.bytes == encoded.count)
        #expect(cache.storedBytes.memory == 0 && cache.storedBytes.files == Int64(data.count))
        // A partial read far in, and a size-only read, decode nothing again.
        let (tail, total) = try cache.read(Self.key(1, count: encoded.count), encoding: "BASE64", offset: 2_999_990, length: 100) { _, _ in
            Issue.record("decoded again")
            return []
        }
        #expect(tail == Array(data[2_999_990...]) && total == 3_000_000)
        // Small: kept in memory.
        let small = Array(Data(data[0..<1000]).base64EncodedString().utf8)
        #expect(try chunks(cache, Self.key(2, count: small.count), encoded: small, chunk: 64, reads: Reads()) == Array(data[0..<1000]))
        #expect(cache.storedBytes.memory == 1000)
    }

    @Test func leastRecentlyUsedGoFirstAndTheirFilesWithThem() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = DecodedParts(directory: directory, maxMemoryBytes: 250, memoryEntryBytes: 100, maxFileBytes: 500)
        let small = Array(Data(repeating: 7, count: 90).base64EncodedString().utf8)
        let large = Array(Data(repeating: 8, count: 200).base64EncodedString().utf8)
        func read(_ n: UInt8, _ encoded: [UInt8]) throws {
            _ = try cache.read(Self.key(n, count: encoded.count), encoding: "base64", offset: 0, length: 10) { at, length in
                Array(encoded[at..<(at + length)])
            }
        }
        try read(1, small)
        try read(2, small)
        try read(1, small)  // 1 is now the most recent
        try read(3, small)  // 2 goes
        #expect(cache.storedBytes.memory == 180)
        #expect(cache.state.withLockedValue { Set($0.entries.keys.map { $0.digest.bytes[0] }) } == [1, 3])
        for n: UInt8 in 10...12 { try read(n, large) }  // the third file evicts the first
        #expect(cache.storedBytes.files == 400)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == 2)
    }

    /// A text part's bare LF becomes CRLF (RFC 9051 §7.5.2); other parts are left as they are.
    @Test func textPartsGetCRLF() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = DecodedParts(directory: directory)
        let encoded = Array(Data("one\ntwo\r\nthree\n".utf8).base64EncodedString().utf8)
        for (n, text, expected) in [(UInt8(1), true, "one\r\ntwo\r\nthree\r\n"), (2, false, "one\ntwo\r\nthree\n")] {
            let (bytes, total) = try cache.read(Self.key(n, count: encoded.count, text: text), encoding: "base64", offset: 0, length: 100) {
                at, length in Array(encoded[at..<(at + length)])
            }
            #expect(bytes == Array(expected.utf8) && total == Int64(expected.utf8.count))
        }
    }

    @Test func anUnknownEncodingIsRefused() {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = DecodedParts(directory: directory)
        #expect(throws: (any Error).self) {
            _ = try cache.read(Self.key(9, count: 4), encoding: "X-UUENCODE", offset: 0, length: 4) { _, _ in [] }
        }
    }
}
