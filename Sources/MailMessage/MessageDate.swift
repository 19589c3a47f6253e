public import Foundation
import MailCore

/// Parses Date fields (RFC 5322 §3.3), obsolete forms (§4.3) included.
public enum MessageDate {
    // RFC 5322 §3.3, §4.3
    // date-time   = [ day-of-week "," ] date time [CFWS]
    // date        = day month year
    // time        = time-of-day zone
    // time-of-day = hour ":" minute [ ":" second ]
    // zone        = (FWS ( "+" / "-" ) 4DIGIT) / obs-zone
    // obs-zone    = "UT" / "GMT" / "EST" / "EDT" / "CST" / "CDT" / "MST" / "MDT" / "PST" / "PDT" /
    //               %d65-73 / %d75-90 / %d97-105 / %d107-122     ; military zones
    // obs-year    = [CFWS] 2*DIGIT [CFWS]
    /// The instant a Date field names, or nil when it does not name one. Comments and the day of
    /// the week are ignored; a two-digit year below 50 is 20xx, other two- and three-digit years
    /// are added to 1900 (§4.3); military zones and unknown zone names count as +0000, as §4.3
    /// advises; a missing zone is +0000.
    public static func parse(_ value: String) -> Date? {
        let tokens = tokenize(value)
        guard let (year, monthNumber, day, next) = date(tokens) else { return nil }
        var index = next
        guard index < tokens.count else { return nil }
        let clock = tokens[index].split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
        guard clock.count == 2 || clock.count == 3, let hour = clock[0], let minute = clock[1],
            (0...23).contains(hour), (0...59).contains(minute)
        else { return nil }
        var second = 0
        if clock.count == 3 {
            guard let parsed = clock[2], (0...60).contains(parsed) else { return nil }
            second = parsed
        }
        index += 1
        let offset = index < tokens.count ? zoneOffset(tokens[index]) : 0
        let days = CivilDate.days(year: year, month: monthNumber, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    /// The calendar day a Date field names as written, in its own zone (RFC 3501 SENTBEFORE,
    /// SENTON and SENTSINCE disregard time and zone), as days since 1970-01-01; nil when the
    /// field does not name a day. The time after the date is not checked.
    public static func writtenDay(_ value: String) -> Int? {
        guard let (year, month, day, _) = date(tokenize(value)) else { return nil }
        return CivilDate.days(year: year, month: month, day: day)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date; nil when there is no such day
    /// (`2026-02-30`).
    public static func dayNumber(year: Int, month: Int, day: Int) -> Int? {
        guard (1...12).contains(month), day >= 1 else { return nil }
        let days = CivilDate.days(year: year, month: month, day: day)
        let back = CivilDate.date(days: days)
        return back == (year, month, day) ? days : nil
    }

    // date = day month year (RFC 5322 §3.3); "Nov 12 2013" is common enough to accept too.
    /// The date at the start of `tokens` (after an optional day of the week) and the index of
    /// the token after it.
    private static func date(_ tokens: [Substring]) -> (year: Int, month: Int, day: Int, next: Int)? {
        var index = 0
        if index < tokens.count, tokens[index].first?.isLetter == true, month(tokens[index]) == nil {
            index += 1
        }
        guard index + 2 < tokens.count else { return nil }
        var day: Int?
        var monthNumber: Int?
        if let number = Int(tokens[index]), let named = month(tokens[index + 1]) {
            (day, monthNumber) = (number, named)
        } else if let named = month(tokens[index]), let number = Int(tokens[index + 1]) {
            (day, monthNumber) = (number, named)
        }
        guard let day, let monthNumber, (1...31).contains(day),
            var year = Int(tokens[index + 2]), tokens[index + 2].count >= 2, (0...9999).contains(year)
        else { return nil }
        switch tokens[index + 2].count {
        case 2: year += year < 50 ? 2000 : 1900
        case 3: year += 1900
        default: break
        }
        return (year, monthNumber, day, index + 3)
    }

    /// Splits on whitespace and commas after removing comments.
    private static func tokenize(_ value: String) -> [Substring] {
        var scanner = FieldScanner(value)
        var text: [UInt8] = []
        while let byte = scanner.current {
            if byte == ASCII.openParen {
                _ = scanner.comment()
                text.append(ASCII.space)
            } else {
                text.append(byte == ASCII.comma ? ASCII.space : byte)
                scanner.index += 1
            }
        }
        let string = Charset.lenientString(text)
        return string.split { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
    }

    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static func month(_ token: Substring) -> Int? {
        guard token.count >= 3 else { return nil }
        let prefix = token.prefix(3).lowercased()
        return months.firstIndex(of: prefix).map { $0 + 1 }
    }

    /// Seconds east of UTC.
    private static func zoneOffset(_ token: Substring) -> Int {
        if let sign = token.first, sign == "+" || sign == "-" {
            let digits = token.dropFirst()
            guard digits.count == 4, let number = Int(digits) else { return 0 }
            let seconds = (number / 100) * 3600 + (number % 100) * 60
            return sign == "-" ? -seconds : seconds
        }
        switch token.uppercased() {
        case "EDT": return -4 * 3600
        case "EST", "CDT": return -5 * 3600
        case "CST", "MDT": return -6 * 3600
        case "MST", "PDT": return -7 * 3600
        case "PST": return -8 * 3600
        default: return 0
        }
    }

    // RFC 5322 §3.3
    // date-time = [ day-of-week "," ] date time [CFWS]
    /// `seconds` since 1970 as an RFC 5322 `date-time` in UTC, the form Date, Arrival-Date and
    /// trace fields take: `Tue, 1 Jul 2025 10:52:37 +0000`.
    public static func format(_ seconds: Int64) -> String {
        let days = Int(seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400)
        let second = Int(seconds - Int64(days) * 86_400)
        let (year, month, day) = CivilDate.date(days: days)
        // 1970-01-01 was a Thursday.
        let weekday = ((days % 7) + 7 + 4) % 7
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekdayNames[weekday]), \(day) \(monthNames[month - 1]) \(year) "
            + "\(two(second / 3600)):\(two(second / 60 % 60)):\(two(second % 60)) +0000"
    }

    private static let weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
}
