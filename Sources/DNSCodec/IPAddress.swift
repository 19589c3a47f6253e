/// An IPv4 address: the RDATA of an A record (RFC 1035 §3.4.1) or a nameserver's address.
public struct IPv4Address: Hashable, Sendable, CustomStringConvertible {
    /// The four octets, the first in the most significant byte.
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Dotted-quad text, four decimal numbers 0 to 255 without leading zeros (what `inet_pton`
    /// accepts; `010` would be octal to `inet_aton`, so it is refused rather than guessed at).
    public init?(_ text: some StringProtocol) {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                return nil
            }
            guard part.count == 1 || part.first != UInt8(ascii: "0") else { return nil }
            let number = part.reduce(0) { $0 * 10 + UInt32($1 - UInt8(ascii: "0")) }
            guard number <= 255 else { return nil }
            value = value << 8 | number
        }
        rawValue = value
    }

    public var octets: [UInt8] { [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: rawValue >> $0) } }

    public var description: String { octets.map(String.init).joined(separator: ".") }
}

/// An IPv6 address: the RDATA of an AAAA record (RFC 3596 §2.2) or a nameserver's address.
public struct IPv6Address: Hashable, Sendable, CustomStringConvertible {
    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] { storage }
    private let storage: [UInt16]

    /// Exactly eight groups.
    public init?(groups: [UInt16]) {
        guard groups.count == 8 else { return nil }
        storage = groups
    }

    /// Sixteen octets in network order.
    public init?(octets: some Collection<UInt8>) {
        guard octets.count == 16 else { return nil }
        let bytes = Array(octets)
        storage = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
    }

    /// Text in the forms of RFC 4291 §2.2: eight groups of one to four hexadecimal digits, at
    /// most one `::` standing for one or more zero groups, and optionally the last 32 bits as a
    /// dotted quad. Zone identifiers (`%eth0`) are not addresses and are refused.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        let colon = UInt8(ascii: ":")
        var head: [[UInt8]] = []
        var tail: [[UInt8]] = []
        var compressed = false
        var index = 0
        if bytes.starts(with: [colon, colon]) {
            compressed = true
            index = 2
        }
        var current: [UInt8] = []
        var pieces: [[UInt8]] = []
        while index < bytes.count {
            if bytes[index] == colon {
                if index + 1 < bytes.count, bytes[index + 1] == colon {
                    guard !compressed, !current.isEmpty else { return nil }
                    pieces.append(current)
                    head = pieces
                    pieces = []
                    current = []
                    compressed = true
                    index += 2
                    continue
                }
                guard !current.isEmpty else { return nil }
                pieces.append(current)
                current = []
            } else {
                current.append(bytes[index])
            }
            index += 1
        }
        if !current.isEmpty {
            pieces.append(current)
        } else if !(compressed && bytes.count >= 2 && bytes.suffix(2) == [colon, colon]) {
            // Only "::" may end an address; a single trailing ":" leaves an empty group.
            return nil
        }
        if compressed { tail = pieces } else { head = pieces }

        func groups(of pieces: [[UInt8]], last: Bool) -> [UInt16]? {
            var groups: [UInt16] = []
            for (position, piece) in pieces.enumerated() {
                if last, position == pieces.count - 1, piece.contains(UInt8(ascii: ".")) {
                    guard let v4 = IPv4Address(String(decoding: piece, as: UTF8.self)) else { return nil }
                    groups += [UInt16(v4.rawValue >> 16), UInt16(truncatingIfNeeded: v4.rawValue)]
                    continue
                }
                guard (1...4).contains(piece.count) else { return nil }
                var value: UInt16 = 0
                for byte in piece {
                    guard let digit = Self.hexValue(byte) else { return nil }
                    value = value << 4 | UInt16(digit)
                }
                groups.append(value)
            }
            return groups
        }
        guard let first = groups(of: head, last: !compressed), let second = groups(of: tail, last: true) else { return nil }
        if compressed {
            guard first.count + second.count <= 7 else { return nil }
            storage = first + Array(repeating: 0, count: 8 - first.count - second.count) + second
        } else {
            guard first.count == 8 else { return nil }
            storage = first
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    public var octets: [UInt8] { storage.flatMap { [UInt8($0 >> 8), UInt8(truncatingIfNeeded: $0)] } }

    /// RFC 5952 §4: lower-case hexadecimal without leading zeros, the longest run of two or more
    /// zero groups (the first of equal runs) as `::`; an IPv4-mapped address ends in its dotted
    /// quad (§5).
    public var description: String {
        if storage[0..<5].allSatisfy({ $0 == 0 }), storage[5] == 0xFFFF {
            return "::ffff:" + IPv4Address(rawValue: UInt32(storage[6]) << 16 | UInt32(storage[7])).description
        }
        var bestStart = -1
        var bestLength = 1
        var start = 0
        while start < 8 {
            guard storage[start] == 0 else {
                start += 1
                continue
            }
            var end = start
            while end < 8, storage[end] == 0 { end += 1 }
            if end - start > bestLength {
                bestStart = start
                bestLength = end - start
            }
            start = end
        }
        func hex(_ range: Range<Int>) -> String {
            storage[range].map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }
}

/// A nameserver's address, either family.
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// A dotted quad or RFC 4291 text.
    public init?(_ text: some StringProtocol) {
        if let v4 = IPv4Address(text) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(text) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }
}
