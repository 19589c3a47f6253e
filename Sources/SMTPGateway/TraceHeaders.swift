import NIOCore
import SMTPCodec

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The header fields the gateway writes: the `Received:` trace field every SMTP server
/// prepends (RFC 5321 §4.4), and on submission the `Date:` and `Message-ID:` a client left
/// out (RFC 6409 §8.2, §8.3).
enum TraceHeaders {
    // RFC 5321 §4.4:
    //   Time-stamp-line = "Received:" FWS Stamp <CRLF>
    //   Stamp = From-domain By-domain Opt-info [CFWS] ";" FWS date-time
    //   From-domain = "FROM" FWS Extended-Domain
    //   Extended-Domain = Domain / ( Domain FWS "(" TCP-info ")" ) / ...
    //   Opt-info = [Via] [With] [ID] [For] [Additional-Registered-Clauses]
    /// `with` is the RFC 3848 / RFC 6531 protocol name; `for` is written only for a single
    /// recipient, so a list of Bcc recipients never shows in each copy.
    static func received(
        clientName: String, clientAddress: String, hostname: String, envelope: SMTPEnvelope, id: String, date: Int
    ) -> String {
        let literal = clientAddress.contains(":") ? "IPv6:\(clientAddress)" : clientAddress
        var text = "Received: from \(token(clientName)) ([\(literal)])\r\n"
        text += "\tby \(token(hostname)) (Loft) with \(protocolName(envelope)) id \(id)"
        if envelope.recipients.count == 1, let recipient = envelope.recipients.first {
            text += "\r\n\tfor \(token(recipient.forwardPath.description))"
        }
        text += "; \(rfc5322Date(date))\r\n"
        return text
    }

    /// RFC 3848 §2 and RFC 6531 §3.7.3: ESMTP, then S for TLS and A for AUTH; UTF8SMTP when the
    /// transaction used SMTPUTF8; plain SMTP after HELO.
    static func protocolName(_ envelope: SMTPEnvelope) -> String {
        guard envelope.usedEHLO else { return "SMTP" }
        var name = envelope.mailParameters.smtpUTF8 ? "UTF8SMTP" : "ESMTP"
        if envelope.tlsActive { name += "S" }
        if envelope.authenticatedIdentity != nil { name += "A" }
        return name
    }

    /// A client-supplied word, made safe for a header: printable ASCII without spaces,
    /// parentheses or semicolons (they would change the field's structure).
    static func token(_ text: String) -> String {
        let kept = text.unicodeScalars.filter { $0.value > 32 && $0.value < 127 && !"();\\".unicodeScalars.contains($0) }
        return kept.isEmpty ? "unknown" : String(String.UnicodeScalarView(kept))
    }

    /// RFC 5322 §3.3 `date-time` in UTC: `Tue, 1 Jul 2025 10:52:37 +0000`.
    static func rfc5322Date(_ seconds: Int) -> String {
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
    static func missingSubmissionFields(in start: ByteBuffer, hostname: String, id: String, date: Int) -> String {
        let present = fieldNames(in: start)
        var text = ""
        if !present.contains("date") { text += "Date: \(rfc5322Date(date))\r\n" }
        if !present.contains("message-id") { text += "Message-ID: <\(id)@\(token(hostname))>\r\n" }
        return text
    }

    /// Lower-cased names of the header fields at the start of a message, up to the empty line
    /// that ends the header (RFC 5322 §2.2: `name ":"` at the start of a line; continuation
    /// lines start with white space).
    static func fieldNames(in bytes: ByteBuffer) -> Set<String> {
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
