/// A set of message UIDs written in IMAP's sequence-set syntax, which the RPC uses too.
///
///     sequence-set = (seq-number / seq-range) ("," sequence-set)   ; RFC 3501 §9
///     seq-range    = seq-number ":" seq-number
///     seq-number   = nz-number / "*"
///
/// `*` means "the largest UID in the mailbox", so the set is resolved against that number
/// (`contains(_:largest:)`, `ranges(largest:)`) rather than expanded up front: `1:*` stays two
/// numbers however big the mailbox is.
public struct UIDSet: Hashable, Sendable, CustomStringConvertible, Codable {
    public enum Bound: Hashable, Sendable {
        case number(UInt32)
        case star

        func resolved(largest: UInt32) -> UInt32 {
            switch self {
            case .number(let n): return n
            case .star: return largest
            }
        }
    }

    public struct Range: Hashable, Sendable {
        public var lower: Bound
        public var upper: Bound
        public init(lower: Bound, upper: Bound) {
            self.lower = lower
            self.upper = upper
        }
    }

    public private(set) var ranges: [Range]

    /// A set can hold at most this many comma-separated ranges; a longer one is refused.
    public static let maxRanges = 10_000

    public init(ranges: [Range]) { self.ranges = ranges }

    public init(_ uids: some Sequence<UInt32>) {
        var result: [Range] = []
        for uid in uids.sorted() {
            if let last = result.last, case .number(let hi) = last.upper, hi &+ 1 == uid {
                result[result.count - 1].upper = .number(uid)
            } else if let last = result.last, case .number(let hi) = last.upper, hi == uid {
                continue
            } else {
                result.append(Range(lower: .number(uid), upper: .number(uid)))
            }
        }
        self.ranges = result
    }

    public static let all = UIDSet(ranges: [Range(lower: .number(1), upper: .star)])

    /// The set of these closed ranges, in the order given (`1:5,9,20:30`); a range of one UID
    /// is written as that UID.
    public init(closedRanges: some Sequence<ClosedRange<UInt32>>) {
        self.ranges = closedRanges.map { Range(lower: .number($0.lowerBound), upper: .number($0.upperBound)) }
    }

    public init?(_ text: String) {
        guard !text.isEmpty else { return nil }
        var result: [Range] = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard result.count < Self.maxRanges else { return nil }
            let ends = item.split(separator: ":", omittingEmptySubsequences: false)
            guard ends.count == 1 || ends.count == 2,
                let a = Self.bound(ends[0]), let b = Self.bound(ends[ends.count - 1])
            else { return nil }
            result.append(Range(lower: a, upper: b))
        }
        self.ranges = result
    }

    static func bound(_ s: Substring) -> Bound? {
        if s == "*" { return .star }
        guard !s.isEmpty, s.utf8.count <= 10, s.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
            let n = UInt32(s), n > 0
        else { return nil }
        return .number(n)
    }

    /// Closed ranges with `*` replaced by `largest`, each ordered low to high (RFC 3501 allows
    /// `5:2`), sorted and merged.
    public func ranges(largest: UInt32) -> [ClosedRange<UInt32>] {
        let plain = ranges.map { r -> ClosedRange<UInt32> in
            let a = r.lower.resolved(largest: largest)
            let b = r.upper.resolved(largest: largest)
            return min(a, b)...max(a, b)
        }.sorted { $0.lowerBound < $1.lowerBound }
        var merged: [ClosedRange<UInt32>] = []
        for r in plain {
            if let last = merged.last, r.lowerBound <= last.upperBound &+ 1, last.upperBound != .max {
                merged[merged.count - 1] = last.lowerBound...max(last.upperBound, r.upperBound)
            } else {
                merged.append(r)
            }
        }
        return merged
    }

    public func contains(_ uid: UInt32, largest: UInt32) -> Bool {
        ranges.contains { r in
            let a = r.lower.resolved(largest: largest)
            let b = r.upper.resolved(largest: largest)
            return min(a, b) <= uid && uid <= max(a, b)
        }
    }

    public var description: String {
        ranges.map { r in
            let a = Self.text(r.lower)
            return r.lower == r.upper ? a : "\(a):\(Self.text(r.upper))"
        }.joined(separator: ",")
    }

    static func text(_ b: Bound) -> String {
        switch b {
        case .number(let n): return String(n)
        case .star: return "*"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = UIDSet(text) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "not a UID set: \(text)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
