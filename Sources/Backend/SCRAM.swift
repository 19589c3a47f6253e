import Crypto
import Foundation
import NIOConcurrencyHelpers
import RPCProtocol
import RPCTransport
import Storage

/// SCRAM-SHA-256 (RFC 5802 §5, RFC 7677) on the back-end's side: the gateway relays the
/// client's two messages, the back-end checks the proof against the stored verifier (StoredKey,
/// ServerKey) and answers with its own signature. The password is never needed.
extension Backend {
    struct SCRAMExchange {
        let username: String
        let accountID: Int64?
        let clientFirstBare: String
        let serverFirst: String
        let nonce: String
        let storedKey: [UInt8]
        let serverKey: [UInt8]
        let connection: Int64
        let expiresMs: Int64
        let clientAddress: String?
    }

    /// Exchanges begun and not finished, at most this many at once (oldest dropped first).
    static let maxSCRAMExchanges = 10_000
    static let scramLifetimeMs: Int64 = 60_000

    func registerSCRAM() {
        blocking(Methods.authSCRAMBegin) { connection, p in try self.scramBegin(p, connection: connection) }
        blocking(Methods.authSCRAMFinish) { connection, p in try self.scramFinish(p, connection: connection) }
    }

    // client-first-message = gs2-header client-first-message-bare          ; RFC 5802 §7
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    // client-first-message-bare = [reserved-mext ","] username "," nonce ["," extensions]
    func scramBegin(_ p: SCRAMBeginParams, connection: RPCConnection) throws -> SCRAMChallenge {
        let parts = p.clientFirst.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "n" || parts[0] == "y", parts[1].isEmpty || parts[1].hasPrefix("a=") else {
            throw RPCError(.invalidParams, "not a SCRAM client-first-message without channel binding", field: "clientFirst")
        }
        let bare = String(parts[2])
        let attributes = Self.scramAttributes(bare)
        guard let rawUser = attributes["n"], let clientNonce = attributes["r"], !clientNonce.isEmpty, attributes["m"] == nil else {
            throw RPCError(.invalidParams, "the client-first-message needs n= and r=", field: "clientFirst")
        }
        // RFC 5802 §5.1: "=2C" and "=3D" stand for "," and "=" in the user name.
        let username = rawUser.replacingOccurrences(of: "=2C", with: ",").replacingOccurrences(of: "=3D", with: "=").lowercased()
        if let wait = throttle.withLockedValue({ $0.retryAfterMs(account: username, address: p.clientAddress, nowMs: clock()) }) {
            throw RPCError(
                .authThrottled, "too many failed logins; try again in \((wait + 999) / 1000) s", retryAfterMs: wait, temporary: true)
        }
        let account = try store.account(address: username)
        // An unknown user gets a believable challenge from a salt derived from the name, and
        // fails only at the proof, as a wrong password would (RFC 5802 §9).
        var iterations = config.scramIterations
        var salt = Array(SHA256.hash(data: Data(("loft-scram-" + username).utf8)).prefix(16))
        var storedKey = [UInt8](repeating: 0, count: 32)
        var serverKey = [UInt8](repeating: 0, count: 32)
        if let verifier = account?.scramSHA256 {
            let fields = verifier.split(separator: ":")
            if fields.count == 4, let i = Int(fields[0]), let s = Data(base64Encoded: String(fields[1])),
                let k1 = Data(base64Encoded: String(fields[2])), let k2 = Data(base64Encoded: String(fields[3]))
            {
                iterations = i
                salt = [UInt8](s)
                storedKey = [UInt8](k1)
                serverKey = [UInt8](k2)
            }
        }
        let nonce = clientNonce + Credentials.base64url(Credentials.random(18))
        let serverFirst = "r=\(nonce),s=\(Data(salt).base64EncodedString()),i=\(iterations)"
        let id = Credentials.base64url(Credentials.random(12))
        let exchange = SCRAMExchange(
            username: username, accountID: account?.id, clientFirstBare: bare, serverFirst: serverFirst, nonce: nonce,
            storedKey: storedKey, serverKey: serverKey, connection: connection.id, expiresMs: clock() + Self.scramLifetimeMs,
            clientAddress: p.clientAddress)
        let now = clock()
        scramExchanges.withLockedValue { all in
            all = all.filter { $0.value.expiresMs > now }
            if all.count >= Self.maxSCRAMExchanges, let oldest = all.min(by: { $0.value.expiresMs < $1.value.expiresMs }) {
                all[oldest.key] = nil
            }
            all[id] = exchange
        }
        return SCRAMChallenge(exchange: id, serverFirst: serverFirst)
    }

    // client-final-message = client-final-message-without-proof "," proof   ; RFC 5802 §7
    // client-final-message-without-proof = channel-binding "," nonce ["," extensions]
    func scramFinish(_ p: SCRAMFinishParams, connection: RPCConnection) throws -> SCRAMResult {
        guard let exchange = scramExchanges.withLockedValue({ $0.removeValue(forKey: p.exchange) }),
            exchange.connection == connection.id, exchange.expiresMs > clock()
        else {
            throw RPCError(.invalidParams, "no SCRAM exchange \(p.exchange) in progress on this connection", field: "exchange")
        }
        guard let proofRange = p.clientFinal.range(of: ",p=", options: .backwards) else {
            throw RPCError(.invalidParams, "the client-final-message has no proof", field: "clientFinal")
        }
        let withoutProof = String(p.clientFinal[..<proofRange.lowerBound])
        let attributes = Self.scramAttributes(withoutProof)
        let fail = {
            self.throttle.withLockedValue {
                $0.recordFailure(account: exchange.username, address: exchange.clientAddress, nowMs: self.clock())
            }
            self.logLogin("failed", user: exchange.username, mechanism: "scram-sha-256", client: exchange.clientAddress, service: nil)
            return RPCError(.authFailed, "invalid credentials")
        }
        guard attributes["r"] == exchange.nonce, let binding = attributes["c"], binding == "biws" || binding == "eSws",
            let proof = Data(base64Encoded: String(p.clientFinal[proofRange.upperBound...])), proof.count == 32
        else { throw fail() }
        let authMessage = Data("\(exchange.clientFirstBare),\(exchange.serverFirst),\(withoutProof)".utf8)
        let clientSignature = [UInt8](HMAC<SHA256>.authenticationCode(for: authMessage, using: SymmetricKey(data: exchange.storedKey)))
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        let computed = [UInt8](SHA256.hash(data: clientKey))
        guard let accountID = exchange.accountID, Credentials.constantTimeEqual(computed, exchange.storedKey),
            let account = try store.account(id: accountID)
        else { throw fail() }
        guard account.enabled else {
            logLogin("disabled", user: exchange.username, mechanism: "scram-sha-256", client: exchange.clientAddress, service: nil)
            throw RPCError(.accountDisabled, "the account is disabled")
        }
        throttle.withLockedValue { $0.recordSuccess(account: exchange.username, address: exchange.clientAddress) }
        logLogin("ok", user: account.address, mechanism: "scram-sha-256", client: exchange.clientAddress, service: nil)
        let serverSignature = HMAC<SHA256>.authenticationCode(for: authMessage, using: SymmetricKey(data: exchange.serverKey))
        return SCRAMResult(serverFinal: "v=" + Data(serverSignature).base64EncodedString(), session: try session(for: account))
    }

    /// `a=1,b=2` → ["a": "1", "b": "2"]; values keep any "=" after the first.
    static func scramAttributes(_ text: String) -> [String: String] {
        var out: [String: String] = [:]
        for item in text.split(separator: ",") where item.count >= 2 && item.dropFirst().first == "=" {
            out[String(item.prefix(1))] = String(item.dropFirst(2))
        }
        return out
    }
}
