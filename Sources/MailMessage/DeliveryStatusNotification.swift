/// A delivery status notification: the bounce an MTA mails to the envelope sender of a message
/// it accepted but could not deliver to some of its recipients (RFC 5321 §6.1). RFC 3464's
/// `message/delivery-status` inside RFC 6522's `multipart/report`: a human-readable explanation,
/// the machine-readable report, and the original message's header (`text/rfc822-headers`) or,
/// when the sender asked with RET=FULL and the report tells of a failure, the whole message
/// (`message/rfc822`, or `message/global` when it is not 7-bit text: RFC 6532 §3.7).
///
/// Pure: the dates, the identifier and the boundary's seed are inputs, so the same inputs
/// compose the same bytes. Every text that comes from outside — addresses, diagnostics, the
/// envelope id, host names — is reduced to printable US-ASCII (a CR, LF or 8-bit byte becomes
/// `?`) and cut to `maxTextBytes`, and a header that is not 7-bit clean is returned
/// quoted-printable, so the result is 7-bit with CRLF line endings and no line longer than 998
/// octets (RFC 5322 §2.1.1), whatever it reports on.
public struct DeliveryStatusNotification: Sendable, Equatable {
    /// One recipient the report is about (RFC 3464 §2.3); `action` says what became of it.
    public struct Recipient: Sendable, Equatable {
        /// §2.3.2: the envelope address the failure concerns.
        public var finalRecipient: String
        /// §2.3.1: only the address the sender gave in ORCPT (RFC 3461 §6.3 (d): without
        /// ORCPT the field must not appear).
        public var originalRecipient: String?
        /// The envelope recipient that led here when it is not `finalRecipient` (a group or
        /// alias that expanded to it); shown in the human-readable part only.
        public var expandedFrom: String?
        public var status: Status
        /// §2.3.6 with diagnostic-type `smtp`: the reply, e.g. `552 5.2.2 Mailbox full`.
        public var diagnostic: String?
        /// §2.3.3: what became of it.
        public var action: Action
        /// §2.3.5: the remote host that gave `diagnostic`, when there was one.
        public var remoteMTA: String?
        /// §2.3.7: for `delayed`, until when delivery will still be tried (seconds since 1970).
        public var willRetryUntil: Int64?

        public init(
            finalRecipient: String, originalRecipient: String? = nil, expandedFrom: String? = nil, status: Status,
            diagnostic: String? = nil, action: Action = .failed, remoteMTA: String? = nil, willRetryUntil: Int64? = nil
        ) {
            self.finalRecipient = finalRecipient
            self.originalRecipient = originalRecipient
            self.expandedFrom = expandedFrom
            self.status = status
            self.diagnostic = diagnostic
            self.action = action
            self.remoteMTA = remoteMTA
            self.willRetryUntil = willRetryUntil
        }
    }

    /// RFC 3464 §2.3.3 action-value. One report is about one kind (its subject and text say
    /// which): the first recipient's.
    public enum Action: String, Sendable, Equatable {
        case failed, delayed, delivered, relayed
        /// Delivered to the address the sender gave, which passed it on to several others
        /// (RFC 3461 §5.2.7.3 (c)): not final, failures of those may still be reported.
        case expanded
    }

    /// What the third part returns of the original message (RFC 3461 §4.3, §6.2).
    public enum ReturnedContent: Sendable, Equatable {
        /// Its header: RET=HDRS or no RET.
        case header
        /// The whole message, for RET=FULL: returned only by a report that tells of a failure
        /// (§4.3: "only the headers" otherwise), and only up to `maxReturnedMessageBytes`.
        case message([UInt8])
        /// RET=FULL for a message of `size` bytes, larger than `maxReturnedMessageBytes`: its
        /// header is returned, and the explanation says why (§6.2 allows it).
        case tooLarge(size: Int64)
    }

    // RFC 3464 §2.3.4
    // status-code = DIGIT "." 1*3DIGIT "." 1*3DIGIT
    /// A status code (RFC 3463): class 2, 4 or 5, then subject and detail of at most three digits.
    public struct Status: Sendable, Hashable, CustomStringConvertible {
        /// 2 success, 4 persistent transient failure, 5 permanent failure.
        public let statusClass: Int
        public let subject: Int
        public let detail: Int

        public init?(_ statusClass: Int, _ subject: Int, _ detail: Int) {
            guard [2, 4, 5].contains(statusClass), (0...999).contains(subject), (0...999).contains(detail) else { return nil }
            self.statusClass = statusClass
            self.subject = subject
            self.detail = detail
        }

        /// Written without leading zeros, as §2.3.4 requires.
        public var description: String { "\(statusClass).\(subject).\(detail)" }
    }

    /// The host that reports (Reporting-MTA, and the domain of From and Message-ID).
    public var reportingMTA: String
    /// The envelope sender of the original message: the DSN's To (RFC 3464 §2).
    public var returnPath: String
    /// When the original message arrived (§2.2.5), seconds since 1970.
    public var arrivalDate: Int64
    /// When this report is made: its Date field.
    public var date: Int64
    /// A unique token: the left part of the report's Message-ID.
    public var messageID: String
    /// §2.2.1: the ENVID the sender gave, if any, as given (case preserved).
    public var originalEnvelopeID: String?
    public var recipients: [Recipient]
    /// The original message's header, as received (its trailing blank line may be included).
    public var originalHeader: [UInt8]
    /// What the sender asked to get back; the header unless RET=FULL.
    public var returned: ReturnedContent
    /// Makes the MIME boundary; a random token keeps it from being guessed, and the composer
    /// still checks that no part contains it.
    public var boundarySeed: String

    /// An address, diagnostic, envelope id or host name is cut to this many bytes.
    public static let maxTextBytes = 400
    /// Recipients listed at most; the human-readable part counts the others.
    public static let maxRecipients = 1000
    /// Bytes of the original header returned at most (cut at a line end); RFC 6522 §4 asks for
    /// the whole header, but a report must stay small.
    public static let maxHeaderBytes = 32 * 1024
    /// Bytes of a whole message returned at most (RET=FULL); a larger one comes back as its
    /// header. RFC 3461 §6.2 leaves the length to the implementation; 2 MiB keeps a bounce
    /// deliverable almost anywhere while covering most mail that is not an attachment.
    public static let maxReturnedMessageBytes = 2 * 1024 * 1024

    public init(
        reportingMTA: String, returnPath: String, arrivalDate: Int64, date: Int64, messageID: String,
        originalEnvelopeID: String? = nil, recipients: [Recipient], originalHeader: [UInt8], returned: ReturnedContent = .header,
        boundarySeed: String
    ) {
        self.reportingMTA = reportingMTA
        self.returnPath = returnPath
        self.arrivalDate = arrivalDate
        self.date = date
        self.messageID = messageID
        self.originalEnvelopeID = originalEnvelopeID
        self.recipients = recipients
        self.originalHeader = originalHeader
        self.returned = returned
        self.boundarySeed = boundarySeed
    }

    /// What a report should return for a message of `size` bytes sent with `ret` (RFC 3461
    /// §4.3: `FULL` or `HDRS`, any case; nil when absent), reading the message with `read`
    /// only when it is to be returned whole: RET=FULL, a report of failures (`failed`), and at
    /// most `maxReturnedMessageBytes`.
    ///
    /// No RET returns the header: §4.3 leaves it to the MTA ("MAY return either"), and the
    /// header is what Loft always returned, keeps reports small, and does not send a whole
    /// message back to a sender that did not ask (Postfix returns it whole by default).
    public static func returnedContent(
        ret: String?, size: Int64, failed: Bool, read: () throws -> [UInt8]
    ) rethrows -> ReturnedContent {
        guard failed, ret?.lowercased() == "full" else { return .header }
        guard size <= Int64(maxReturnedMessageBytes) else { return .tooLarge(size: size) }
        return .message(try read())
    }

    /// The whole message, header and body.
    public func encoded() -> [UInt8] {
        let host = Self.hostName(reportingMTA)
        let listed = recipients.prefix(Self.maxRecipients)
        let third = returnedPart()
        var parts = [
            Part(
                type: "text/plain; charset=us-ascii", description: "Notification",
                content: humanReadable(host: host, listed: listed, returned: third.note)),
            Part(type: "message/delivery-status", description: "Delivery report", content: deliveryStatus(host: host, listed: listed)),
        ]
        if let part = third.part { parts.append(part) }
        let boundary = Self.boundary(seed: boundarySeed, avoiding: parts.map(\.content))

        var text = "From: Mail Delivery System <MAILER-DAEMON@\(host)>\r\n"
        text += "To: <\(Self.printable(returnPath))>\r\n"
        text += "Subject: \(subject)\r\n"
        text += "Date: \(MessageDate.format(date))\r\n"
        text += "Message-ID: <\(Self.idLeft(messageID))@\(host)>\r\n"
        // RFC 3834 §5: a message made by a program in direct response to another.
        text += "Auto-Submitted: auto-replied\r\n"
        text += "MIME-Version: 1.0\r\n"
        // RFC 6522 §3: report-type names the subtype of the second part.
        text += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"\(boundary)\"\r\n"
        text += "Content-Transfer-Encoding: 7bit\r\n"
        text += "\r\n"
        text += "This is a MIME-encapsulated delivery status notification.\r\n"
        var out = Array(text.utf8)
        for part in parts {
            // RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter.
            out += Array("\r\n--\(boundary)\r\nContent-Type: \(part.type)\r\nContent-Description: \(part.description)\r\n".utf8)
            if let encoding = part.encoding { out += Array("Content-Transfer-Encoding: \(encoding)\r\n".utf8) }
            out += [0x0D, 0x0A]
            out += part.content
        }
        out += Array("\r\n--\(boundary)--\r\n".utf8)
        return out
    }

    var kind: Action { recipients.first?.action ?? .failed }

    /// The Subject, by the report's kind (the words Postfix uses, which people recognise).
    var subject: String {
        switch kind {
        case .failed: "Undelivered Mail Returned to Sender"
        case .delayed: "Delayed Mail (still being retried)"
        case .delivered, .relayed, .expanded: "Successful Mail Delivery Report"
        }
    }

    /// RFC 3461 §4.3, §6.2: the whole message only in a report that tells of a failure.
    var reportsFailure: Bool { recipients.contains { $0.action == .failed } }

    /// The third part (RFC 6522 §3, 3.), nil when there is nothing to return, and the sentence
    /// the explanation ends with to say what it is.
    func returnedPart() -> (part: Part?, note: String?) {
        var tooLarge: Int64?
        switch returned {
        case .message(let message) where reportsFailure && !message.isEmpty:
            if message.count <= Self.maxReturnedMessageBytes {
                let returned = Self.returnedMessage(message)
                return (
                    Part(type: returned.type, description: "Undelivered message", encoding: returned.encoding, content: returned.content),
                    "Your message is attached."
                )
            }
            tooLarge = Int64(message.count)
        case .tooLarge(let size) where reportsFailure: tooLarge = size
        default: break
        }
        let header = Self.returnedHeader(originalHeader)
        guard !header.content.isEmpty else { return (nil, nil) }
        var note = "The header of your message is attached"
        if let tooLarge {
            note = "Your message was \(tooLarge) bytes, more than the \(Self.maxReturnedMessageBytes) bytes returned\r\n"
            note += "in full, so only its header is attached"
        }
        note += header.cut ? " (cut short: it was longer than \(Self.maxHeaderBytes) bytes)." : "."
        let description = reportsFailure ? "Undelivered message header" : "Message header"
        return (Part(type: "text/rfc822-headers", description: description, encoding: header.encoding, content: header.content), note)
    }

    /// One body part of the report.
    struct Part {
        var type: String
        var description: String
        /// Absent: 7bit, the default (RFC 2045 §6.1).
        var encoding: String? = nil
        var content: [UInt8]

        init(type: String, description: String, encoding: String? = nil, content: [UInt8]) {
            self.type = type
            self.description = description
            self.encoding = encoding
            self.content = content
        }

        init(type: String, description: String, content: String) {
            self.init(type: type, description: description, content: Array(content.utf8))
        }
    }

    /// The first part (RFC 6522 §3, 1.): which recipients failed and why, in plain words.
    func humanReadable(host: String, listed: ArraySlice<Recipient>, returned note: String?) -> String {
        var text = "This is the mail system at host \(host).\r\n\r\n"
        switch kind {
        case .failed:
            text += "Your message could not be delivered to the recipients below. The mail\r\n"
            text += "system has given up on them; no further attempts will be made.\r\n\r\n"
        case .delayed:
            text += "Your message could not be delivered yet to the recipients below. The mail\r\n"
            text += "system will keep trying; you do not need to send it again.\r\n"
            if let until = recipients.compactMap(\.willRetryUntil).max() {
                text += "It gives up at \(MessageDate.format(until)).\r\n"
            }
            text += "\r\n"
        case .delivered:
            text += "Your message was delivered to the recipients below.\r\n\r\n"
        case .relayed:
            text += "Your message was handed on to the recipients' mail systems below, which\r\n"
            text += "do not send delivery notifications of their own.\r\n\r\n"
        case .expanded:
            text += "Your message was delivered to the recipients below, which pass it on to\r\n"
            text += "several other addresses. You may still hear of failures there.\r\n\r\n"
        }
        for recipient in listed {
            text += "<\(Self.printable(recipient.finalRecipient))>"
            if let via = recipient.expandedFrom { text += " (reached through <\(Self.printable(via))>)" }
            text += ":\r\n    \(Self.printable(recipient.diagnostic ?? "status \(recipient.status)"))\r\n"
        }
        if recipients.count > listed.count {
            text += "\r\n... and \(recipients.count - listed.count) more recipients, not listed here.\r\n"
        }
        if let note { text += "\r\n\(note)\r\n" }
        return text
    }

    // RFC 3464 §2.1
    // delivery-status-content = per-message-fields 1*( CRLF per-recipient-fields )
    // per-message-fields = [ original-envelope-id-field CRLF ] reporting-mta-field CRLF
    //                      [ dsn-gateway-field CRLF ] [ received-from-mta-field CRLF ]
    //                      [ arrival-date-field CRLF ] *( extension-field CRLF )
    // per-recipient-fields = [ original-recipient-field CRLF ] final-recipient-field CRLF
    //                        action-field CRLF status-field CRLF [ remote-mta-field CRLF ]
    //                        [ diagnostic-code-field CRLF ] ...
    /// The second part: the message/delivery-status fields.
    func deliveryStatus(host: String, listed: ArraySlice<Recipient>) -> String {
        var text = ""
        if let id = originalEnvelopeID { text += "Original-Envelope-Id: \(Self.printable(id))\r\n" }
        text += "Reporting-MTA: dns; \(host)\r\n"
        text += "Arrival-Date: \(MessageDate.format(arrivalDate))\r\n"
        for recipient in listed {
            text += "\r\n"
            if let original = recipient.originalRecipient { text += "Original-Recipient: rfc822; \(Self.printable(original))\r\n" }
            text += "Final-Recipient: rfc822; \(Self.printable(recipient.finalRecipient))\r\n"
            text += "Action: \(recipient.action.rawValue)\r\n"
            text += "Status: \(recipient.status)\r\n"
            if let mta = recipient.remoteMTA { text += "Remote-MTA: dns; \(Self.hostName(mta))\r\n" }
            if let diagnostic = recipient.diagnostic { text += "Diagnostic-Code: smtp; \(Self.printable(diagnostic))\r\n" }
            if let until = recipient.willRetryUntil { text += "Will-Retry-Until: \(MessageDate.format(until))\r\n" }
        }
        return text
    }

    /// The third part's content and its transfer encoding: the header with CRLF line ends, up
    /// to `maxHeaderBytes` (cut after a line end), without its blank line; as it is when it is 7-bit text with CRLF
    /// line ends and lines of at most 998 octets, else quoted-printable (RFC 6522 §4 allows it
    /// for a header that is "broken or extended"). Empty when the message had no header.
    static func returnedHeader(_ header: [UInt8]) -> (content: [UInt8], encoding: String, cut: Bool) {
        var bytes = crlfLines(header)
        var cut = false
        if bytes.count > maxHeaderBytes {
            let end = bytes[..<maxHeaderBytes].lastIndex(of: 0x0A).map { $0 + 1 } ?? maxHeaderBytes
            bytes = Array(bytes[..<end])
            cut = true
        }
        // The blank line that ends the header is not part of it.
        while bytes.suffix(4) == [0x0D, 0x0A, 0x0D, 0x0A] { bytes.removeLast(2) }
        if bytes == [0x0D, 0x0A] { bytes = [] }
        if bytes.isEmpty { return ([], "7bit", cut) }
        if !bytes.ends(with: [0x0D, 0x0A]) { bytes += [0x0D, 0x0A] }
        return isSevenBitText(bytes) ? (bytes, "7bit", cut) : (TransferEncoding.quotedPrintable(bytes), "quoted-printable", cut)
    }

    /// The whole message for the third part, with CRLF line ends: `message/rfc822` as it is
    /// when it is 7-bit text (RFC 2046 §5.2.1 allows no other encoding of it); else
    /// `message/global` in base64 (RFC 6532 §3.7 permits any encoding), so the report stays
    /// 7-bit and reaches any server, and its 8-bit bytes come back as they were.
    static func returnedMessage(_ message: [UInt8]) -> (type: String, content: [UInt8], encoding: String?) {
        var bytes = crlfLines(message)
        if !bytes.isEmpty && !bytes.ends(with: [0x0D, 0x0A]) { bytes += [0x0D, 0x0A] }
        if isSevenBitText(bytes) { return ("message/rfc822", bytes, nil) }
        return ("message/global", TransferEncoding.base64(bytes), "base64")
    }

    /// RFC 2045 §2.7 7bit data: no NUL, no 8-bit byte, CR and LF only as CRLF, lines of at most
    /// 998 octets.
    static func isSevenBitText(_ bytes: [UInt8]) -> Bool {
        var line = 0
        for (i, byte) in bytes.enumerated() {
            switch byte {
            case 0, 0x80...0xFF: return false
            case 0x0D:
                guard i + 1 < bytes.count, bytes[i + 1] == 0x0A else { return false }
            case 0x0A:
                guard i > 0, bytes[i - 1] == 0x0D else { return false }
                line = 0
                continue
            default: break
            }
            if byte != 0x0D { line += 1 }
            if line > 998 { return false }
        }
        return true
    }

    /// `=_` and the seed's letters and digits (RFC 2046 §5.1.1 bchars, at most 70): `=_` cannot
    /// occur in quoted-printable, and a part that contains the boundary anyway gets it changed.
    static func boundary(seed: String, avoiding parts: [[UInt8]]) -> String {
        let base = "=_" + String(String.UnicodeScalarView(seed.unicodeScalars.filter(isLetterOrDigit).prefix(60)))
        var candidate = base
        var n = 0
        while parts.contains(where: { $0.occurs(Array(candidate.utf8)) }) {
            n += 1
            candidate = "\(base).\(n)"
        }
        return candidate
    }

    /// Printable US-ASCII (space to tilde): a tab becomes a space, anything else `?`; cut to
    /// `maxTextBytes`.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            guard out.utf8.count < maxTextBytes else { break }
            switch scalar.value {
            case 0x20...0x7E: out.unicodeScalars.append(scalar)
            case 0x09: out += " "
            default: out += "?"
            }
        }
        return out
    }

    /// A host name's letters, digits, dots and hyphens (RFC 5321 §4.1.2 Domain); `localhost`
    /// when nothing is left.
    static func hostName(_ text: String) -> String {
        let kept = text.unicodeScalars.filter { isLetterOrDigit($0) || $0 == "." || $0 == "-" }
        let name = String(String.UnicodeScalarView(kept.prefix(253)))
        return name.isEmpty ? "localhost" : name
    }

    /// RFC 5322 §3.6.4 id-left (dot-atom-text): the token's letters, digits, `-` and `_`.
    static func idLeft(_ token: String) -> String {
        let kept = token.unicodeScalars.filter { isLetterOrDigit($0) || $0 == "-" || $0 == "_" }
        let id = String(String.UnicodeScalarView(kept.prefix(128)))
        return id.isEmpty ? "dsn" : id
    }

    static func isLetterOrDigit(_ c: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(c) || ("A"..."Z").contains(c) || ("0"..."9").contains(c)
    }

    /// CRLF for every line end: a bare CR or LF becomes CRLF too.
    static func crlfLines(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case 0x0D:
                out += [0x0D, 0x0A]
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { i += 1 }
            case 0x0A: out += [0x0D, 0x0A]
            default: out.append(bytes[i])
            }
            i += 1
        }
        return out
    }
}

extension [UInt8] {
    fileprivate func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && self[(count - suffix.count)...].elementsEqual(suffix)
    }

    /// Whether `needle` occurs in these bytes.
    fileprivate func occurs(_ needle: [UInt8]) -> Bool {
        guard let first = needle.first else { return true }
        var i = 0
        while let start = self[i...].firstIndex(of: first), start + needle.count <= count {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return true }
            i = start + 1
        }
        return false
    }
}
