public import NIOCore

/// An RFC 3463 / RFC 2034 enhanced status code such as `5.1.1`.
///
///     status-code ::= class "." subject "." detail
///     class       ::= "2" / "4" / "5"
///     subject     ::= 1*3digit
///     detail      ::= 1*3digit
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    public var statusClass: Int
    public var subject: Int
    public var detail: Int

    public init(_ statusClass: Int, _ subject: Int, _ detail: Int) {
        self.statusClass = statusClass
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(statusClass).\(subject).\(detail)" }

    /// Parses `class "." subject "." detail`; nil when `text` is not exactly that.
    public init?(_ text: Substring) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let c = Int(parts[0]), [2, 4, 5].contains(c), parts[0].count == 1 else { return nil }
        guard let s = EnhancedStatusCode.number(parts[1]), let d = EnhancedStatusCode.number(parts[2]) else {
            return nil
        }
        self.init(c, s, d)
    }

    private static func number(_ text: Substring) -> Int? {
        guard (1...3).contains(text.count), text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return Int(text)
    }
}

/// One SMTP reply (RFC 5321 §4.2): a three-digit code, an optional enhanced status code
/// (RFC 2034) repeated on every line, and one or more text lines.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var enhancedCode: EnhancedStatusCode?
    public var lines: [String]

    /// Builds a reply. Text is sanitised so that a client-supplied string (an EHLO name, an
    /// address) can never inject a CR or LF into the reply stream.
    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode? = nil, _ lines: [String]) {
        precondition((200...599).contains(code), "an SMTP reply code is 2yz to 5yz")
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines.isEmpty ? [""] : lines.map(SMTPReply.sanitised)
    }

    public init(_ code: Int, _ enhancedCode: EnhancedStatusCode? = nil, _ text: String) {
        self.init(code, enhancedCode, [text])
    }

    /// True for 4yz and 5yz replies (RFC 5321 §4.2.1).
    public var isNegative: Bool { code >= 400 }
    public var isPositiveCompletion: Bool { (200..<300).contains(code) }

    public var description: String {
        var buffer = ByteBuffer()
        encode(into: &buffer)
        return String(buffer: buffer)
    }

    private static func sanitised(_ line: String) -> String {
        guard line.utf8.contains(where: { $0 == 13 || $0 == 10 }) else { return line }
        return String(line.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
    }

    // RFC 5321 §4.2:
    //   Reply-line     = *( Reply-code "-" [ textstring ] CRLF )
    //                    Reply-code [ SP textstring ] CRLF
    //   Reply-code     = %x32-35 %x30-35 %x30-39
    /// Writes the reply: every line but the last as `250-`, the last as `250 `; the enhanced
    /// code, when present, prefixes the text of every line (RFC 2034 §4).
    public func encode(into buffer: inout ByteBuffer) {
        for (index, line) in lines.enumerated() {
            buffer.writeString(String(code))
            buffer.writeInteger(index == lines.count - 1 ? UInt8(ascii: " ") : UInt8(ascii: "-"))
            if let enhancedCode {
                buffer.writeString(enhancedCode.description)
                if !line.isEmpty { buffer.writeInteger(UInt8(ascii: " ")) }
            }
            buffer.writeString(line)
            buffer.writeStaticString("\r\n")
        }
    }

    /// Parses one complete reply from the front of `buffer` (the client side of RFC 5321 §4.2,
    /// used by round-trip tests and by the relay's SMTP client). Returns nil and consumes
    /// nothing when the reply is not complete yet.
    ///
    /// The remote server is not trusted: `limits` bound the length of a line, the number of
    /// lines and the bytes of the whole reply, and an unfinished line or reply that already
    /// exceeds them throws at once rather than waiting for more bytes (STYLE §7).
    /// - Parameter expectEnhancedCodes: read a leading `x.y.z` as the enhanced code when its
    ///   class agrees with the reply code (RFC 2034 §4).
    public static func parse(
        from buffer: inout ByteBuffer, expectEnhancedCodes: Bool = true, limits: SMTPReplyLimits = SMTPReplyLimits()
    ) throws(SMTPReplyParseError)
        -> SMTPReply?
    {
        var view = buffer
        var code: Int?
        var enhanced: EnhancedStatusCode?
        var texts: [String] = []
        while true {
            let consumed = view.readerIndex - buffer.readerIndex
            guard let newline = view.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                // Not even the LF still to come would fit.
                if view.readableBytes >= limits.lineLength {
                    throw SMTPReplyParseError(.lineTooLong, line: view.prefixString(40))
                }
                if consumed + view.readableBytes >= limits.replyBytes {
                    throw SMTPReplyParseError(.replyTooLarge, line: "")
                }
                return nil
            }
            let length = newline - view.readerIndex
            // The limits count the line with its CRLF, as RFC 5321 §4.5.3.1.5 counts a reply line.
            guard length + 1 <= limits.lineLength else {
                throw SMTPReplyParseError(.lineTooLong, line: view.prefixString(40))
            }
            guard consumed + length + 1 <= limits.replyBytes else { throw SMTPReplyParseError(.replyTooLarge, line: "") }
            var line = view.readString(length: length)!
            view.moveReaderIndex(forwardBy: 1)
            if line.hasSuffix("\r") { line.removeLast() }
            let utf8 = Array(line.utf8)
            guard utf8.count >= 3, utf8[0...2].allSatisfy({ (48...57).contains($0) }),
                let lineCode = Int(String(decoding: utf8[0...2], as: UTF8.self)), (200...599).contains(lineCode)
            else { throw SMTPReplyParseError(line: line) }
            if let code, code != lineCode { throw SMTPReplyParseError(line: line) }
            code = lineCode
            let separator: UInt8? = utf8.count > 3 ? utf8[3] : nil
            guard separator == nil || separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw SMTPReplyParseError(line: line)
            }
            var text = utf8.count > 4 ? String(decoding: utf8[4...], as: UTF8.self) : ""
            if expectEnhancedCodes {
                let token = text.prefix(while: { $0 != " " })
                if let candidate = EnhancedStatusCode(token), candidate.statusClass == lineCode / 100,
                    enhanced == nil || enhanced == candidate, texts.isEmpty || enhanced != nil
                {
                    enhanced = candidate
                    text = String(text.dropFirst(token.count).drop(while: { $0 == " " }))
                }
            }
            texts.append(text)
            if separator != UInt8(ascii: "-") { break }
            // A continuation promises one more line: past the limit, refuse it now.
            guard texts.count < limits.lines else { throw SMTPReplyParseError(.tooManyLines, line: line) }
        }
        buffer = view
        return SMTPReply(code!, enhanced, texts)
    }
}

/// How much of one reply the client will buffer from a server it does not trust.
public struct SMTPReplyLimits: Sendable, Hashable {
    /// Octets of one reply line including its CRLF. RFC 5321 §4.5.3.1.5 sets 512; servers in the
    /// wild send longer text, so the default is four times that (Postfix reads up to 2048 too).
    public var lineLength: Int
    /// Lines of one multiline reply (an EHLO reply has one per extension).
    public var lines: Int
    /// Octets of one whole reply, CRLFs included.
    public var replyBytes: Int

    public init(lineLength: Int = 2048, lines: Int = 100, replyBytes: Int = 32 * 1024) {
        self.lineLength = lineLength
        self.lines = lines
        self.replyBytes = replyBytes
    }
}

/// A reply the client cannot accept: a line that is not an SMTP reply line, or one past a limit.
public struct SMTPReplyParseError: Error, Sendable, Hashable {
    /// What went wrong; compare with the static members.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: Sendable, Hashable { case malformedLine, lineTooLong, tooManyLines, replyTooLarge }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let malformedLine = Code(.malformedLine)
        public static let lineTooLong = Code(.lineTooLong)
        public static let tooManyLines = Code(.tooManyLines)
        public static let replyTooLarge = Code(.replyTooLarge)

        public var description: String {
            switch base {
            case .malformedLine: "malformed reply line"
            case .lineTooLong: "reply line too long"
            case .tooManyLines: "too many reply lines"
            case .replyTooLarge: "reply too large"
            }
        }
    }

    public var code: Code
    /// The offending line (at most its start for an overlong one).
    public var line: String

    init(_ code: Code = .malformedLine, line: String) {
        self.code = code
        self.line = line
    }
}

extension ByteBuffer {
    fileprivate func prefixString(_ count: Int) -> String {
        getString(at: readerIndex, length: Swift.min(count, readableBytes)) ?? ""
    }
}
