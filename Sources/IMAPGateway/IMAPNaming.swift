import Foundation
import IMAPCodec
import MailCore
import NIOConcurrencyHelpers

/// How this session writes mailbox names: modified UTF-7 (RFC 3501 §5.1.3) until the client
/// enables IMAP4rev2, UTF-8 after (RFC 9051 §5.1; Appendix E item 16). The RPC's names are
/// always UTF-8. Shared between the connection (which checks APPEND's mailbox before it reads
/// the message) and the command runner (which answers ENABLE); commands run one at a time, so
/// the two never disagree about a command.
final class IMAPNaming: Sendable {
    private let utf8Names = NIOLockedValueBox(false)

    var isUTF8: Bool { utf8Names.withLockedValue { $0 } }

    func useUTF8() { utf8Names.withLockedValue { $0 = true } }

    /// A name from the client in the RPC's UTF-8, or nil when it is not valid in this session's
    /// form. INBOX in any case is INBOX (§5.1).
    func decode(_ raw: [UInt8]) -> String? {
        let decoded: String?
        if isUTF8 {
            // RFC 9051 §5.1: names must be Net-Unicode (RFC 5198), so in Normalization Form C;
            // a name in another form is refused rather than becoming a second, look-alike name.
            decoded = String(validating: raw, as: UTF8.self).flatMap { name in
                name.precomposedStringWithCanonicalMapping.utf8.elementsEqual(name.utf8) ? name : nil
            }
        } else {
            decoded = ModifiedUTF7.decode(raw)
        }
        return decoded
    }

    func mailboxName(_ mailbox: IMAPMailbox) -> String? {
        guard let decoded = decode(mailbox.raw) else { return nil }
        if decoded.caseInsensitiveCompare("INBOX") == .orderedSame { return "INBOX" }
        return decoded
    }

    /// A name in a response: an atom for INBOX, else a quoted string (modified UTF-7, or UTF-8,
    /// which a quoted string may hold once IMAP4rev2 is enabled: RFC 9051 §9 QUOTED-CHAR).
    func quoted(_ name: String) -> String {
        let encoded = isUTF8 ? name : ModifiedUTF7.encode(name)
        if encoded == "INBOX" { return "INBOX" }
        let escaped = encoded.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return "\"\(escaped)\""
    }
}
