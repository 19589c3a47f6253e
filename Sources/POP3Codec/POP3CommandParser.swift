import MailCore
public import NIOCore
import SASL

extension POP3Command {
    /// The maximum command line, CRLF included (RFC 2449 §4).
    public static let maximumLineLength = 255

    /// Parses one command line, without its line terminator.
    ///
    /// RFC 2449 §3:
    ///
    ///     command      =  keyword *(SP param) CRLF    ;255 octets maximum
    ///     keyword      =  3*4VCHAR
    ///     param        =  1*VCHAR
    ///
    /// Keywords are case-insensitive (RFC 1939 §3). Runs of spaces and trailing spaces between
    /// parameters are tolerated; PASS takes the rest of the line verbatim (RFC 1939 §7).
    public static func parse(
        _ line: ByteBuffer, maximumLineLength: Int = POP3Command.maximumLineLength
    ) throws(POP3SyntaxError) -> POP3Command {
        guard line.readableBytes + 2 <= maximumLineLength else { throw POP3SyntaxError(.lineTooLong) }
        let bytes = Array(line.readableBytesView)
        let keywordEnd = bytes.firstIndex(of: UInt8(ascii: " ")) ?? bytes.endIndex
        let keywordBytes = bytes[..<keywordEnd]
        guard !bytes.allSatisfy({ $0 == UInt8(ascii: " ") }) else { throw POP3SyntaxError(.emptyLine) }
        guard (3...4).contains(keywordBytes.count),
            let keyword = POP3CommandKeyword(
                rawValue: String(decoding: keywordBytes.map(asciiUppercased), as: UTF8.self))
        else { throw POP3SyntaxError(.unknownCommand) }

        let rest = keywordEnd < bytes.endIndex ? bytes[(keywordEnd + 1)...] : []
        if keyword == .pass {
            return try parsePass(rest)
        }
        guard rest.allSatisfy(isParameterByte) else { throw POP3SyntaxError(.invalidCharacter, keyword: keyword) }
        let parameters = rest.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        return try parse(keyword, parameters)
    }

    private static func parse(
        _ keyword: POP3CommandKeyword, _ parameters: [ArraySlice<UInt8>]
    ) throws(POP3SyntaxError)
        -> POP3Command
    {
        func expect(_ range: ClosedRange<Int>) throws(POP3SyntaxError) {
            if parameters.count < range.lowerBound { throw POP3SyntaxError(.missingArgument, keyword: keyword) }
            if parameters.count > range.upperBound { throw POP3SyntaxError(.unexpectedArgument, keyword: keyword) }
        }
        func number(_ index: Int, allowZero: Bool = false) throws(POP3SyntaxError) -> Int {
            guard let value = parseNumber(parameters[index]), allowZero || value > 0 else {
                throw POP3SyntaxError(.invalidNumber, keyword: keyword)
            }
            return value
        }
        switch keyword {
        case .capa, .stls, .stat, .noop, .rset, .quit:
            try expect(0...0)
            switch keyword {
            case .capa: return .capa
            case .stls: return .stls
            case .stat: return .stat
            case .noop: return .noop
            case .rset: return .rset
            default: return .quit
            }
        case .list, .uidl:
            try expect(0...1)
            let message = parameters.isEmpty ? nil : try number(0)
            return keyword == .list ? .list(message) : .uidl(message)
        case .retr:
            try expect(1...1)
            return .retr(try number(0))
        case .dele:
            try expect(1...1)
            return .dele(try number(0))
        case .top:
            // RFC 1939 §7: "TOP msg n ... n ... a non-negative number (required)".
            try expect(2...2)
            return .top(try number(0), lines: try number(1, allowZero: true))
        case .user:
            try expect(1...1)
            return .user(try utf8String(parameters[0], keyword: keyword))
        case .apop:
            // RFC 1939 §7: "APOP name digest ... a MD5 digest string (required)", 16 octets in hex.
            try expect(2...2)
            let digest = parameters[1]
            guard digest.count == 32, digest.allSatisfy(isHexDigit) else {
                throw POP3SyntaxError(.invalidDigest, keyword: keyword)
            }
            let name = try utf8String(parameters[0], keyword: keyword)
            return .apop(name: name, digest: String(decoding: digest.map(asciiLowercased), as: UTF8.self))
        case .auth:
            try expect(0...2)
            guard let first = parameters.first else { return .auth(mechanism: nil, initialResponse: nil) }
            guard let mechanism = SASLMechanism(String(decoding: first, as: UTF8.self)) else {
                throw POP3SyntaxError(.invalidMechanism, keyword: keyword)
            }
            guard parameters.count == 2 else { return .auth(mechanism: mechanism, initialResponse: nil) }
            // RFC 5034 §4: initial-response = base64 / "=" ; "=" is an empty initial response.
            guard case .success(let decoded) = SASLInitialResponse.parse(parameters[1]) else {
                throw POP3SyntaxError(.invalidBase64, keyword: keyword)
            }
            return .auth(mechanism: mechanism, initialResponse: ByteBuffer(bytes: decoded.bytes))
        case .pass:
            throw POP3SyntaxError(.unknownCommand)  // handled by parsePass before this point
        }
    }

    /// RFC 1939 §7: "Since the PASS command has exactly one argument, a POP3 server may treat
    /// spaces in the argument as part of the password, instead of as argument separators."
    private static func parsePass(_ rest: ArraySlice<UInt8>) throws(POP3SyntaxError) -> POP3Command {
        guard !rest.isEmpty else { throw POP3SyntaxError(.missingArgument, keyword: .pass) }
        guard rest.allSatisfy({ isParameterByte($0) || $0 == UInt8(ascii: "\t") }) else {
            throw POP3SyntaxError(.invalidCharacter, keyword: .pass)
        }
        return .pass(try utf8String(rest, keyword: .pass))
    }

    /// A positive decimal number that fits an `Int`; nil on any other input.
    static func parseNumber(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else { return nil }
            let (shifted, overflowA) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowB) = shifted.addingReportingOverflow(Int(digit - UInt8(ascii: "0")))
            guard !overflowA, !overflowB else { return nil }
            value = sum
        }
        return value
    }

    private static func utf8String(
        _ bytes: ArraySlice<UInt8>, keyword: POP3CommandKeyword
    ) throws(POP3SyntaxError)
        -> String
    {
        guard let string = String(validating: bytes, as: UTF8.self) else {
            throw POP3SyntaxError(.invalidCharacter, keyword: keyword)
        }
        return string
    }

    /// VCHAR and SP, plus octets ≥ 0x80 for UTF-8 user names (RFC 6856 clients send them).
    private static func isParameterByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte != 0x7F
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
            || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }

    private static func asciiUppercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }

    private static func asciiLowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}
