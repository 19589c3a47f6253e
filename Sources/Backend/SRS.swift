import Crypto
import Foundation
import MailCore

/// The Sender Rewriting Scheme for forwarded mail. A message that arrives from
/// `carol@elsewhere.example` for a local account that forwards to a remote address leaves with
/// the envelope sender `SRS0=HHHH=TT=elsewhere.example=carol@<local domain>`, so the next MTA's
/// SPF check sees a domain that is ours, and a bounce comes back here, where the address is
/// checked and routed to Carol. `TT` is the day (base32, modulo 1024) and `HHHH` a keyed hash
/// of the day, domain and local part, so the address cannot be made up to turn Loft into a
/// relay; an address older than `maxAgeDays` is refused. Only Loft reads the addresses it
/// writes, so the hash need not match another implementation's.
struct SRS: Sendable {
    let key: SymmetricKey
    static let maxAgeDays: Int64 = 21
    static let base32 = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    /// The hash's length in base32 characters: 40 bits. A wrong hash is refused at RCPT, so
    /// a forger can test guesses without sending mail; at 2^40 guesses per address that stays
    /// out of reach (a 4-character hash, 20 bits, would fall to a million RCPTs).
    static let hashLength = 8

    init(masterKey: SymmetricKey) {
        key = HKDF<SHA256>.deriveKey(inputKeyMaterial: masterKey, info: Data("loft srs v1".utf8), outputByteCount: 32)
    }

    /// `sender` rewritten for mail forwarded through `domain` on `day` (days since 1970); the
    /// sender as it is when it cannot be (no domain, or too long for RFC 5321 §4.5.3.1.1).
    func forward(_ sender: String, via domain: String, day: Int64) -> String {
        guard let at = sender.lastIndex(of: "@") else { return sender }
        let local = String(sender[..<at])
        let host = String(sender[sender.index(after: at)...])
        let stamp = Self.stamp(day)
        let rewritten = "SRS0=\(hash(stamp, host, local))=\(stamp)=\(host)=\(local)@\(domain)"
        return rewritten.utf8.count <= 254 && (rewritten.utf8.count - domain.utf8.count - 1) <= 64 ? rewritten : sender
    }

    /// The original sender of an address `forward` made, when its hash holds and it is at most
    /// `maxAgeDays` old; nil for anything else.
    func reverse(_ address: String, day: Int64) -> String? {
        guard let at = address.lastIndex(of: "@") else { return nil }
        let local = address[..<at]
        guard local.count > 5, local.prefix(5).uppercased() == "SRS0=" else { return nil }
        let fields = local.dropFirst(5).split(separator: "=", maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 4, !fields[2].isEmpty, !fields[3].isEmpty else { return nil }
        let stamp = fields[1].uppercased()
        guard let then = Self.day(of: stamp) else { return nil }
        let age = (day - then) & 1023
        guard age <= Self.maxAgeDays else { return nil }
        guard fields[0].lowercased() == hash(stamp, String(fields[2]), String(fields[3])).lowercased() else { return nil }
        return "\(fields[3])@\(fields[2])"
    }

    func hash(_ stamp: String, _ host: String, _ local: String) -> String {
        let input = Data("\(stamp.uppercased())\u{0}\(host.lowercased())\u{0}\(local.lowercased())".utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: input, using: key)
        // Case folds on the way (mail systems may change the case of a local part), so the
        // hash uses letters and digits of one case only: base32.
        var out = ""
        var bits = 0
        var value = 0
        for byte in mac {
            value = value << 8 | Int(byte)
            bits += 8
            while bits >= 5, out.count < Self.hashLength {
                bits -= 5
                out.append(Self.base32[(value >> bits) & 31])
            }
            if out.count == Self.hashLength { break }
        }
        return out
    }

    static func stamp(_ day: Int64) -> String {
        let d = Int(day & 1023)
        return String([base32[d >> 5], base32[d & 31]])
    }

    static func day(of stamp: String) -> Int64? {
        let chars = Array(stamp)
        guard chars.count == 2, let high = base32.firstIndex(of: chars[0]), let low = base32.firstIndex(of: chars[1]) else { return nil }
        return Int64(high << 5 | low)
    }
}
