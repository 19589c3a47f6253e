import Crypto
import CryptoExtras
import Foundation
import MailCore

/// Everything secret: password hashes, the SCRAM verifier, APOP secrets sealed at rest, and
/// signed session tokens. The master key lives in `<data>/secret.key` (mode 0600); the keys for
/// each purpose are derived from it with HKDF, so one file protects all and none is reused.
struct Credentials: Sendable {
    let sessionKey: SymmetricKey
    let sealKey: SymmetricKey
    /// The Sender Rewriting Scheme's key, from the master key.
    let srs: SRS
    let log2Cost: Int
    let scramIterations: Int

    static let keyFile = "secret.key"

    /// Loads the master key, creating it on first start.
    init(dataDirectory: String, log2Cost: Int, scramIterations: Int) throws {
        let path = dataDirectory + "/" + Self.keyFile
        let master: SymmetricKey
        if let data = FileManager.default.contents(atPath: path), data.count == 32 {
            master = SymmetricKey(data: data)
        } else {
            let key = SymmetricKey(size: .bits256)
            let data = key.withUnsafeBytes { Data($0) }
            guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw BackendError.startup("cannot write \(path)")
            }
            master = key
        }
        sessionKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("loft session v1".utf8), outputByteCount: 32)
        sealKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: master, info: Data("loft seal v1".utf8), outputByteCount: 32)
        srs = SRS(masterKey: master)
        self.log2Cost = log2Cost
        self.scramIterations = scramIterations
    }

    // MARK: Passwords

    /// `$scrypt$ln=15,r=8,p=1$<salt>$<hash>` (base64), the usual modular-crypt layout.
    func hashPassword(_ password: String) throws -> String {
        let salt = Self.random(16)
        let hash = try scrypt(password, salt: salt, log2N: log2Cost)
        return "$scrypt$ln=\(log2Cost),r=8,p=1$\(Data(salt).base64EncodedString())$\(Data(hash).base64EncodedString())"
    }

    func verifyPassword(_ password: String, hash stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count == 4, parts[0] == "scrypt",
            let lnField = parts[1].split(separator: ",").first, lnField.hasPrefix("ln="),
            let ln = Int(lnField.dropFirst(3)), (1...20).contains(ln),
            let salt = Data(base64Encoded: String(parts[2])), let expected = Data(base64Encoded: String(parts[3])),
            let actual = try? scrypt(password, salt: [UInt8](salt), log2N: ln)
        else { return false }
        return Self.constantTimeEqual(actual, [UInt8](expected))
    }

    /// Spends the same time as a real verification, so an unknown account name cannot be told
    /// from a wrong password by timing.
    func burnPasswordTime(_ password: String) {
        _ = try? scrypt(password, salt: [UInt8](repeating: 0, count: 16), log2N: log2Cost)
    }

    func scrypt(_ password: String, salt: [UInt8], log2N: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << log2N, blockSize: 8, parallelism: 1)
        return key.withUnsafeBytes { [UInt8]($0) }
    }

    /// RFC 5802 §3: `iterations:salt:StoredKey:ServerKey`, base64 fields. Kept so SCRAM-SHA-256
    /// (RFC 7677) works for the gateways without the password being stored.
    func scramVerifier(_ password: String) throws -> String {
        let salt = Self.random(16)
        let salted = try KDF.Insecure.PBKDF2.deriveKey(
            from: Array(password.utf8), salt: salt, using: .sha256, outputByteCount: 32, unsafeUncheckedRounds: scramIterations)
        let clientKey = HMAC<SHA256>.authenticationCode(for: Data("Client Key".utf8), using: salted)
        let storedKey = SHA256.hash(data: Data(clientKey))
        let serverKey = HMAC<SHA256>.authenticationCode(for: Data("Server Key".utf8), using: salted)
        return [
            String(scramIterations), Data(salt).base64EncodedString(), Data(storedKey).base64EncodedString(),
            Data(serverKey).base64EncodedString(),
        ]
        .joined(separator: ":")
    }

    // MARK: Challenge-response secrets (APOP, CRAM-MD5)

    func seal(_ secret: String) throws -> [UInt8] {
        let box = try AES.GCM.seal(Data(secret.utf8), using: sealKey)
        return [UInt8](box.combined!)
    }

    func open(_ sealed: [UInt8]) -> String? {
        guard let box = try? AES.GCM.SealedBox(combined: sealed), let plain = try? AES.GCM.open(box, using: sealKey) else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }

    /// RFC 1939 §7: MD5 over the greeting's timestamp and the secret, in lower-case hex.
    static func apopDigest(timestamp: String, secret: String) -> String {
        hex(Insecure.MD5.hash(data: Data((timestamp + secret).utf8)))
    }

    /// RFC 2195: HMAC-MD5 of the challenge keyed with the secret, in lower-case hex.
    static func cramDigest(challenge: String, secret: String) -> String {
        hex(HMAC<Insecure.MD5>.authenticationCode(for: Data(challenge.utf8), using: SymmetricKey(data: Data(secret.utf8))))
    }

    // MARK: Sessions

    /// `<account id>.<generation>.<expiry>.<nonce>.<mac>`: signed, so it survives a restart of
    /// any process and needs no table; checked on every call. The generation ties it to the
    /// account's current password and state.
    func issueSession(accountID: Int64, generation: Int64, expiresAt: Int64) -> String {
        let nonce = Self.random(9)
        let payload = "\(accountID).\(generation).\(expiresAt).\(Self.base64url(nonce))"
        return payload + "." + mac(payload)
    }

    struct SessionClaims: Equatable, Sendable {
        var accountID: Int64
        var generation: Int64
        var expiresAt: Int64
    }

    /// What a valid, unexpired token says.
    func verifySession(_ token: String, now: Int64) -> SessionClaims? {
        guard token.utf8.count < 200 else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, let id = Int64(parts[0]), let generation = Int64(parts[1]), let expiry = Int64(parts[2]), expiry > now
        else { return nil }
        let payload = parts[0..<4].joined(separator: ".")
        guard Self.constantTimeEqual(Array(mac(payload).utf8), Array(parts[4].utf8)) else { return nil }
        return SessionClaims(accountID: id, generation: generation, expiresAt: expiry)
    }

    func mac(_ payload: String) -> String {
        Self.base64url(Array(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: sessionKey)))
    }

    // MARK: Helpers

    static func random(_ count: Int) -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        // RFC 4648 §5, unpadded.
        let url = Base64.encode(bytes).utf8.compactMap { byte -> UInt8? in
            switch byte {
            case UInt8(ascii: "+"): UInt8(ascii: "-")
            case UInt8(ascii: "/"): UInt8(ascii: "_")
            case UInt8(ascii: "="): nil
            default: byte
            }
        }
        return String(decoding: url, as: UTF8.self)
    }

    static func hex(_ digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02x", $0) }.joined()
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

enum BackendError: Error, CustomStringConvertible {
    case startup(String)
    var description: String {
        switch self {
        case .startup(let s): return s
        }
    }
}
