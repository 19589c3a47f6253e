extension IMAPCommandParser {
    static let months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]

    ///     date            = date-text / DQUOTE date-text DQUOTE
    ///     date-text       = date-day "-" date-month "-" date-year
    ///     date-day        = 1*2DIGIT
    ///     date-year       = 4DIGIT
    mutating func date() throws(IMAPSyntaxError) -> IMAPDate {
        let quoted = consume(IMAPCharacter.quote)
        let day = try digits(1...2, or: .invalidDate)
        let (month, year) = try monthAndYear(or: .invalidDate)
        if quoted { try expect(IMAPCharacter.quote, or: .invalidDate) }
        guard (1...Self.daysIn(month: month, year: year)).contains(day) else { throw IMAPSyntaxError(.invalidDate) }
        return IMAPDate(year: year, month: month, day: day)
    }

    ///     date-time       = DQUOTE date-day-fixed "-" date-month "-" date-year
    ///                       SP time SP zone DQUOTE
    ///     date-day-fixed  = (SP DIGIT) / 2DIGIT
    ///     time            = 2DIGIT ":" 2DIGIT ":" 2DIGIT
    ///     zone            = ("+" / "-") 4DIGIT
    ///
    /// A one-digit day without its padding space is accepted too (some clients format with %d).
    mutating func dateTime() throws(IMAPSyntaxError) -> IMAPDateTime {
        try expect(IMAPCharacter.quote, or: .invalidDateTime)
        _ = consume(IMAPCharacter.space)
        let day = try digits(1...2, or: .invalidDateTime)
        let (month, year) = try monthAndYear(or: .invalidDateTime)
        try expect(IMAPCharacter.space, or: .invalidDateTime)
        let hour = try digits(2...2, or: .invalidDateTime)
        try expect(UInt8(ascii: ":"), or: .invalidDateTime)
        let minute = try digits(2...2, or: .invalidDateTime)
        try expect(UInt8(ascii: ":"), or: .invalidDateTime)
        let second = try digits(2...2, or: .invalidDateTime)
        try expect(IMAPCharacter.space, or: .invalidDateTime)
        let sign: Int
        switch peek {
        case UInt8(ascii: "+"): sign = 1
        case UInt8(ascii: "-"): sign = -1
        default: throw IMAPSyntaxError(.invalidDateTime)
        }
        index += 1
        let zone = try digits(4...4, or: .invalidDateTime)
        try expect(IMAPCharacter.quote, or: .invalidDateTime)
        guard (1...Self.daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60, second <= 60,
            zone % 100 < 60
        else { throw IMAPSyntaxError(.invalidDateTime) }
        let zoneMinutes = sign * (zone / 100 * 60 + zone % 100)
        let days = Self.daysSince1970(year: year, month: month, day: day)
        let seconds = days * 86_400 + Int64(hour * 3600 + minute * 60 + second) - Int64(zoneMinutes * 60)
        return IMAPDateTime(secondsSince1970: seconds, zoneMinutes: zoneMinutes)
    }

    ///     date-month      = "Jan" / "Feb" / "Mar" / "Apr" / "May" / "Jun" /
    ///                       "Jul" / "Aug" / "Sep" / "Oct" / "Nov" / "Dec"
    ///
    /// The `"-" date-month "-" date-year` after a day.
    mutating func monthAndYear(or code: IMAPSyntaxError.Code) throws(IMAPSyntaxError) -> (month: Int, year: Int) {
        try expect(UInt8(ascii: "-"), or: code)
        guard index + 3 <= bytes.count,
            let month = Self.months.firstIndex(of: IMAPCharacter.keyword(bytes[index..<(index + 3)]))
        else { throw IMAPSyntaxError(code) }
        index += 3
        try expect(UInt8(ascii: "-"), or: code)
        let year = try digits(4...4, or: code)
        return (month + 1, year)
    }

    /// A run of decimal digits whose length is in `count`.
    mutating func digits(_ count: ClosedRange<Int>, or code: IMAPSyntaxError.Code) throws(IMAPSyntaxError) -> Int {
        var value = 0
        var length = 0
        while length < count.upperBound, let byte = peek, IMAPCharacter.isDigit(byte) {
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            length += 1
            index += 1
        }
        guard count.contains(length) else { throw IMAPSyntaxError(code) }
        return value
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the given day of the proleptic Gregorian calendar.
    static func daysSince1970(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
