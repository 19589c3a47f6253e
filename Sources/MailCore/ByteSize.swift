/// Sizes as an administrator writes them: `500M`, `25MB`, `1G`, `1024`, `0` (no limit).
/// Binary multiples (1K = 1024), as quotas conventionally use.
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        var s = text.trimmingCharacters(in: " \t").uppercased()
        if s.hasSuffix("IB") { s.removeLast(2) } else if s.hasSuffix("B") { s.removeLast() }
        let multipliers: [Character: Int64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var multiplier: Int64 = 1
        if let last = s.last, let m = multipliers[last] {
            multiplier = m
            s.removeLast()
        }
        guard let n = Int64(s), n >= 0 else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : product
    }

    /// `52428800` → `50M`; exact multiples only, else bytes.
    public static func format(_ bytes: Int64) -> String {
        for (unit, size) in [("T", Int64(1) << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)]
        where bytes >= size && bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)"
    }

    /// For people reading a status: `1536` → `1.5K`, `734003200` → `700M`, three figures at
    /// most (1024-based, as `parse` reads them); below 1K, the bytes.
    public static func approximate(_ bytes: Int64) -> String {
        var value = Double(bytes)
        var unit = ""
        for next in ["K", "M", "G", "T"] where value >= 1024 {
            value /= 1024
            unit = next
        }
        if unit.isEmpty { return "\(bytes)" }
        let tenths = Int64((value * 10).rounded())
        if tenths < 100 && tenths % 10 != 0 { return "\(tenths / 10).\(tenths % 10)\(unit)" }
        return "\(Int64(value.rounded()))\(unit)"
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s = s.dropFirst() }
        while let l = s.last, set.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
