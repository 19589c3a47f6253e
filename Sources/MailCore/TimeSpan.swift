/// Durations as an administrator writes them: `30s`, `5m`, `2h`, `5d`, `1w`, or plain seconds;
/// `0` where a setting allows turning something off.
public enum TimeSpan {
    /// Seconds, or nil when `text` is not a non-negative whole number with at most one unit.
    public static func parse(_ text: String) -> Int64? {
        var s = text.trimmingCharacters(in: " \t").lowercased()
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        var unit: Int64 = 1
        if let last = s.last, let u = units[last] {
            unit = u
            s.removeLast()
        }
        guard !s.isEmpty, s.allSatisfy(\.isASCII), let n = Int64(s), n >= 0 else { return nil }
        let (product, overflow) = n.multipliedReportingOverflow(by: unit)
        return overflow ? nil : product
    }

    /// `300` → `5m`; the largest unit that divides it.
    public static func format(_ seconds: Int64) -> String {
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)] where seconds >= size && seconds % size == 0 {
            return "\(seconds / size)\(unit)"
        }
        return "\(seconds)s"
    }
}
