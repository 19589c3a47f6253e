import Foundation
public import NIOCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The header fields a gateway writes into a message it accepts: the `Received:` trace field
/// every server that takes a message in prepends (RFC 5321 §4.4), and on submission the
/// `Date:` and `Message-ID:` a client left out (RFC 6409 §8.2, §8.3). SMTP uses it today; the
/// relay and web mail's submission write the same fields.
public enum TraceHeaders {
    // RFC 5321 §4.4:
    //   Time-stamp-line = "Received:" FWS Stamp <CRLF>
    //   Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    //   From-domain = "FROM" FWS Extended-Domain
    //   Extended-Domain = Domain / ( Domain FWS "(" TCP-info ")" ) / ...
    //   Opt-info = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
    /// `with` is the RFC 3848 / RFC 6531 protocol name (`ESMTPSA`, `HTTPS`, …); `recipient`
    /// is written (as `for`) only when there is a single one, so a list of Bcc recipients never
    /// shows in each copy. `authenticatedUser` (the account that logged in, RFC 4954 §7) is
    /// written as a comment after the client, as Postfix writes it
    /// (`smtpd_sasl_authenticated_header`), so a recipient can tell who sent it.
    public static func received(
        clientName: String, clientAddress: String, hostname: String, protocolName: String, id: String,
        recipient: String?, authenticatedUser: String? = nil, date: Int
    ) -> String {
        let literal = clientAddress.contains(":") ? "IPv6:\(clientAddress)" : clientAddress
        var text = "Received: from \(token(clientName)) ([\(literal)])\r\n"
        if let authenticatedUser { text += "\t(Authenticated sender: \(token(authenticatedUser)))\r\n" }
        text += "\tby \(token(hostname)) (Loft) with \(token(protocolName)) id \(id)"
        if let recipient { text += "\r\n\tfor \(token(recipient))" }
        text += "; \(rfc5322Date(date))\r\n"
        return text
    }

    /// A client-supplied word, made safe for a header: printable ASCII without spaces,
    /// parentheses or semicolons (they would change the field's structure).
    public static func token(_ text: String) -> String {
        let kept = text.unicodeScalars.filter { $0.value > 32 && $0.value < 127 && !"();\\".unicodeScalars.contains($0) }
        return kept.isEmpty ? "unknown" : String(String.UnicodeScalarView(kept))
    }

    /// RFC 5322 §3.3 `date-time` in UTC: `Tue, 1 Jul 2025 10:52:37 +0000`.
    public static func rfc5322Date(_ seconds: Int) -> String {
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return
            "\(days[Int(parts.tm_wday)]), \(parts.tm_mday) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }

    /// The `Date:` and `Message-ID:` fields missing from a submitted message's header, as text to
    /// prepend ("" when both are there). `start` is the beginning of the message; a header
    /// longer than it is judged by what it holds.
    public static func missingSubmissionFields(in start: ByteBuffer, hostname: String, id: String, date: Int) -> String {
        let present = fieldNames(in: start)
        var text = ""
        if !present.contains("date") { text += "Date: \(rfc5322Date(date))\r\n" }
        if !present.contains("message-id") { text += "Message-ID: <\(id)@\(token(hostname))>\r\n" }
        return text
    }

    /// Lower-cased names of the header fields at the start of a message, up to the empty line
    /// that ends the header (RFC 5322 §2.2: `name ":"` at the start of a line; continuation
    /// lines start with white space).
    public static func fieldNames(in bytes: ByteBuffer) -> Set<String> {
        var names = Set<String>()
        let view = bytes.readableBytesView
        var lineStart = view.startIndex
        while lineStart < view.endIndex {
            let lineEnd = view[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? view.endIndex
            var line = view[lineStart..<lineEnd]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty { break }
            if let first = line.first, first != UInt8(ascii: " "), first != UInt8(ascii: "\t"),
                let colon = line.firstIndex(of: UInt8(ascii: ":"))
            {
                var name = String(decoding: line[..<colon], as: UTF8.self).lowercased()
                while name.hasSuffix(" ") || name.hasSuffix("\t") { name.removeLast() }
                names.insert(name)
            }
            lineStart = lineEnd == view.endIndex ? lineEnd : lineEnd + 1
        }
        return names
    }
}

/// Short unique ids for Received headers, "queued as" replies and Message-IDs: milliseconds
/// since 1970 and 64 random bits, in base 36.
public enum UniqueID {
    public static func make() -> String {
        let time = String(UInt64(Date().timeIntervalSince1970 * 1000), radix: 36).uppercased()
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36).uppercased()
        return time + random
    }
}
