/// The value preparation the directory's matching rules share (RFC 4518, for the strings this
/// directory holds): case folding, insignificant space handling, and the substring scan.
enum LDAPValue {
    /// caseIgnoreMatch / caseIgnoreIA5Match preparation (RFC 4518 §2.4, §2.6.1): folded to lower
    /// case, runs of spaces made one, leading and trailing spaces removed.
    static func caseIgnore(_ value: [UInt8]) -> [UInt8] {
        guard value.allSatisfy({ $0 < 0x80 }) else {
            return spaces(Array(String(decoding: value, as: UTF8.self).lowercased().utf8))
        }
        return spaces(value.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 })
    }

    /// Insignificant space handling alone (caseExactMatch).
    static func spaces(_ value: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(value.count)
        var pendingSpace = false
        for byte in value {
            if byte == 0x20 {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace { out.append(0x20) }
            pendingSpace = false
            out.append(byte)
        }
        return out
    }

    /// approxMatch: Loft's "sounds like" is "equal once case, spaces and punctuation are gone"
    /// (RFC 4511 §4.5.1.7.6 leaves the algorithm to the server).
    static func approximate(_ value: [UInt8]) -> [UInt8] {
        let text = String(decoding: value, as: UTF8.self).lowercased()
        return Array(
            String(String.UnicodeScalarView(text.unicodeScalars.filter { $0.properties.isAlphabetic || $0.properties.numericType != nil }))
                .utf8)
    }

    /// Whether `value` matches the substring assertion, all pieces prepared the same way
    /// (RFC 4511 §4.5.1.7.2: initial at the start, any in order without overlap, final at the
    /// end). Allocation-free.
    static func matches(_ value: [UInt8], initial: [UInt8]?, any: [[UInt8]], final: [UInt8]?) -> Bool {
        value.withUnsafeBufferPointer { haystack in
            var start = 0
            var end = haystack.count
            if let initial {
                guard initial.count <= end, hasPiece(initial, in: haystack, at: 0) else { return false }
                start = initial.count
            }
            if let final {
                guard final.count <= end - start, hasPiece(final, in: haystack, at: end - final.count) else { return false }
                end -= final.count
            }
            for piece in any {
                guard let found = find(piece, in: haystack, from: start, to: end) else { return false }
                start = found + piece.count
            }
            return true
        }
    }

    private static func hasPiece(_ piece: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, at offset: Int) -> Bool {
        piece.withUnsafeBufferPointer { needle in
            for index in 0..<needle.count where haystack[offset + index] != needle[index] { return false }
            return true
        }
    }

    private static func find(_ piece: [UInt8], in haystack: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int) -> Int? {
        piece.withUnsafeBufferPointer { needle in
            guard let first = needle.first else { return start }
            guard end - start >= needle.count else { return nil }
            var offset = start
            let last = end - needle.count
            while offset <= last {
                if haystack[offset] == first {
                    var index = 1
                    while index < needle.count, haystack[offset + index] == needle[index] { index += 1 }
                    if index == needle.count { return offset }
                }
                offset += 1
            }
            return nil
        }
    }
}
