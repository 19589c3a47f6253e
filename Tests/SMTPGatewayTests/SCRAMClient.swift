import Crypto
import Foundation

/// The client side of SCRAM-SHA-256 (RFC 5802 §3, RFC 7677), for the gateway test: no SMTP
/// client at hand speaks it, so the test computes the proof itself.
struct SCRAMClient {
    let user: String
    let password: String
    let nonce = UUID().uuidString.replacingOccurrences(of: "-", with: "")
    var clientFirstBare: String { "n=\(user),r=\(nonce)" }
    var clientFirst: String { "n,," + clientFirstBare }
    var expectedServerSignature = ""

    /// The client-final-message for the server-first-message `r=…,s=…,i=…`.
    mutating func clientFinal(serverFirst: String) -> String? {
        var fields: [Character: String] = [:]
        for part in serverFirst.split(separator: ",") where part.count > 2 {
            fields[part.first!] = String(part.dropFirst(2))
        }
        guard let combined = fields["r"], combined.hasPrefix(nonce), let saltText = fields["s"],
            let salt = Data(base64Encoded: saltText), let iterations = fields["i"].flatMap({ Int($0) })
        else { return nil }
        let salted = Self.pbkdf2(password: Array(password.utf8), salt: Array(salt), iterations: iterations)
        let clientKey = Array(HMAC<SHA256>.authenticationCode(for: Array("Client Key".utf8), using: SymmetricKey(data: salted)))
        let storedKey = Array(SHA256.hash(data: clientKey))
        let withoutProof = "c=biws,r=\(combined)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let signature = Array(HMAC<SHA256>.authenticationCode(for: authMessage, using: SymmetricKey(data: storedKey)))
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverKey = HMAC<SHA256>.authenticationCode(for: Array("Server Key".utf8), using: SymmetricKey(data: salted))
        expectedServerSignature =
            "v="
            + Data(HMAC<SHA256>.authenticationCode(for: authMessage, using: SymmetricKey(data: Data(serverKey))))
            .base64EncodedString()
        return withoutProof + ",p=" + Data(proof).base64EncodedString()
    }

    /// RFC 8018 §5.2 with HMAC-SHA-256, one 32-byte block.
    static func pbkdf2(password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        let key = SymmetricKey(data: password)
        var u = Array(HMAC<SHA256>.authenticationCode(for: salt + [0, 0, 0, 1], using: key))
        var result = u
        for _ in 1..<max(1, iterations) {
            u = Array(HMAC<SHA256>.authenticationCode(for: u, using: key))
            for i in result.indices { result[i] ^= u[i] }
        }
        return result
    }
}
