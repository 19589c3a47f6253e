import Foundation
import MailMessage
import Testing

@testable import Backend
@testable import Storage

/// IMAP BINARY's cache of decoded parts: a part read in chunks is decoded once when it fits an
/// entry; a larger one is decoded again per chunk in bounded pieces; the cache stays within its
/// bytes, least recently used out first.
@Suite struct DecodedPartsTests {
    static func key(_ n: UInt8, count: Int) -> DecodedParts.Key {
        DecodedParts.Key(digest: BodyDigest(Data(repeating: n, count: 32)), start: 0, count: count)
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

    @Test func smallPartsAreDecodedOnceLargeOnesInBoundedPieces() throws {
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let encoded = Array(Data(data).base64EncodedString(options: .lineLength76Characters).utf8)
        // Kept: one decoding however many chunks.
        let roomy = DecodedParts(maxBytes: 1 << 20, maxEntryBytes: 1 << 20)
        let reads = Reads()
        #expect(try chunks(roomy, Self.key(1, count: encoded.count), encoded: encoded, chunk: 10_000, reads: reads) == data)
        #expect(reads.bytes == encoded.count)
        #expect(roomy.storedBytes == data.count)
        // Too large to keep: the same bytes, each chunk decoded from the start, nothing kept.
        let tight = DecodedParts(maxBytes: 1 << 20, maxEntryBytes: 100_000)
        let again = Reads()
        #expect(try chunks(tight, Self.key(2, count: encoded.count), encoded: encoded, chunk: 100_000, reads: again) == data)
        #expect(again.bytes > encoded.count)
        #expect(tight.storedBytes == 0)
    }

    @Test func leastRecentlyUsedGoFirst() throws {
        let cache = DecodedParts(maxBytes: 250, maxEntryBytes: 100)
        let encoded = Array(Data(repeating: 7, count: 90).base64EncodedString().utf8)
        func read(_ n: UInt8) throws {
            _ = try cache.read(Self.key(n, count: encoded.count), encoding: "base64", offset: 0, length: 10) { at, length in
                Array(encoded[at..<(at + length)])
            }
        }
        try read(1)
        try read(2)
        try read(1)  // 1 is now the most recent
        try read(3)  // 2 goes
        #expect(cache.storedBytes == 180)
        #expect(cache.state.withLockedValue { Set($0.entries.keys.map { $0.digest.bytes[0] }) } == [1, 3])
    }

    @Test func anUnknownEncodingIsRefused() {
        let cache = DecodedParts()
        #expect(throws: (any Error).self) {
            _ = try cache.read(Self.key(9, count: 4), encoding: "X-UUENCODE", offset: 0, length: 4) { _, _ in [] }
        }
    }
}
