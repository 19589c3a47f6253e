import Crypto
import Foundation

/// RFC 1939 §7: lowercase hex MD5 of timestamp + secret, as an APOP client sends it.
public func apopDigest(timestamp: String, secret: String) -> String {
    Insecure.MD5.hash(data: Data((timestamp + secret).utf8)).map { String(format: "%02x", $0) }.joined()
}

/// RFC 2195 §2: lowercase hex HMAC-MD5 of the challenge keyed by the secret, as a CRAM-MD5
/// client sends it.
public func cramDigest(challenge: String, secret: String) -> String {
    let mac = HMAC<Insecure.MD5>.authenticationCode(for: Data(challenge.utf8), using: SymmetricKey(data: Data(secret.utf8)))
    return mac.map { String(format: "%02x", $0) }.joined()
}
