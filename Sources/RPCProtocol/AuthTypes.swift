// Params of the authentication methods. Every one carries the client's address and the service
// so the back-end can throttle per account and per address across all gateways (DESIGN §5).

public struct LoginParams: Codable, Sendable {
    public var username: String
    public var password: String
    public var clientAddress: String?
    public var service: String?
    public init(username: String, password: String, clientAddress: String? = nil, service: String? = nil) {
        self.username = username
        self.password = password
        self.clientAddress = clientAddress
        self.service = service
    }
}

/// RFC 1939 §7: `digest` is the hex MD5 of the greeting's timestamp followed by the secret.
public struct APOPParams: Codable, Sendable {
    public var username: String
    public var timestamp: String
    public var digest: String
    public var clientAddress: String?
    public var service: String?
    public init(username: String, timestamp: String, digest: String, clientAddress: String? = nil, service: String? = nil) {
        self.username = username
        self.timestamp = timestamp
        self.digest = digest
        self.clientAddress = clientAddress
        self.service = service
    }
}

/// RFC 2195: `digest` is the hex HMAC-MD5 of the challenge keyed with the secret.
public struct CRAMMD5Params: Codable, Sendable {
    public var username: String
    public var challenge: String
    public var digest: String
    public var clientAddress: String?
    public var service: String?
    public init(username: String, challenge: String, digest: String, clientAddress: String? = nil, service: String? = nil) {
        self.username = username
        self.challenge = challenge
        self.digest = digest
        self.clientAddress = clientAddress
        self.service = service
    }
}

/// SCRAM-SHA-256 (RFC 5802, RFC 7677), run by the back-end so no gateway ever holds a
/// verifier: the gateway relays the client's messages. `clientFirst` is the whole
/// client-first-message, GS2 header included (`n,,n=user,r=nonce`); channel binding is not
/// supported (`p=` is refused).
public struct SCRAMBeginParams: Codable, Sendable {
    public var clientFirst: String
    public var clientAddress: String?
    public var service: String?
    public init(clientFirst: String, clientAddress: String? = nil, service: String? = nil) {
        self.clientFirst = clientFirst
        self.clientAddress = clientAddress
        self.service = service
    }
}

public struct SCRAMChallenge: Codable, Sendable {
    /// Names this exchange in `auth.scram_finish`; valid for 60 s, on the same connection.
    public var exchange: String
    /// The server-first-message to send to the client (`r=…,s=…,i=…`).
    public var serverFirst: String
    public init(exchange: String, serverFirst: String) {
        self.exchange = exchange
        self.serverFirst = serverFirst
    }
}

public struct SCRAMFinishParams: Codable, Sendable {
    public var exchange: String
    /// The client-final-message (`c=biws,r=…,p=…`).
    public var clientFinal: String
    public init(exchange: String, clientFinal: String) {
        self.exchange = exchange
        self.clientFinal = clientFinal
    }
}

/// A successful SCRAM login: the session, and the server-final-message (`v=…`) the client
/// checks to know it talked to the real server.
public struct SCRAMResult: Codable, Sendable {
    public var serverFinal: String
    public var session: SessionResult
    public init(serverFinal: String, session: SessionResult) {
        self.serverFinal = serverFinal
        self.session = session
    }
}

/// May the session's account use `address` as its sender (SMTP submission, RFC 6409 §6.1)?
public struct SendAsParams: Codable, Sendable {
    public var session: String
    public var address: String
    public init(session: String, address: String) {
        self.session = session
        self.address = address
    }
}

public struct SendAsResult: Codable, Sendable {
    public var allowed: Bool
    public init(allowed: Bool) { self.allowed = allowed }
}

public struct ImpersonateParams: Codable, Sendable {
    public var account: String
    public init(account: String) { self.account = account }
}

/// `auth.challenge`: a one-time APOP timestamp (RFC 1939 §7) or CRAM-MD5 challenge (RFC 2195
/// §2) for a gateway to show its client. `hostname` is the name the gateway greets with.
public struct ChallengeParams: Codable, Sendable {
    public var service: String
    public var hostname: String
    public init(service: String, hostname: String) {
        self.service = service
        self.hostname = hostname
    }
}

/// `<pid.clock.counter.random@hostname>`, accepted once by `auth.apop` (as `timestamp`) or
/// `auth.cram_md5` (as `challenge`) within `expiresMs`.
public struct ChallengeResult: Codable, Sendable, Equatable {
    public var challenge: String
    public var expiresMs: Int
    public init(challenge: String, expiresMs: Int) {
        self.challenge = challenge
        self.expiresMs = expiresMs
    }
}

/// `auth.mechanisms`: whether challenge-response logins (APOP, CRAM-MD5) can succeed for anyone,
/// that is whether at least one enabled account has a challenge-response secret.
public struct MechanismsResult: Codable, Sendable, Equatable {
    public var challengeResponse: Bool
    public init(challengeResponse: Bool) { self.challengeResponse = challengeResponse }
}
