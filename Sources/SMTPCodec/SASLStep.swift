import MailCore

/// The gateway's answer to one relayed SASL step (`SMTPAction.relaySASL`).
public enum SASLStep: Sendable, Hashable {
    /// Send this challenge (334) and relay the client's next response.
    case challenge([UInt8])
    /// Authenticated as `identity`; `final` is server data the client must see first (SCRAM's
    /// server-final-message), sent as a last 334 challenge.
    case succeeded(identity: String, final: [UInt8]?)
    case failed(SMTPReply)
}

extension SMTPReply {
    /// `334 ` followed by base64 (RFC 4954 §4); no enhanced code on 3yz replies (RFC 2034 §4).
    static func saslChallenge(_ bytes: some Collection<UInt8>) -> SMTPReply {
        SMTPReply(334, nil, Base64.encode(bytes))
    }
}
