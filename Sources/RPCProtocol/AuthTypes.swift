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

public struct ImpersonateParams: Codable, Sendable {
    public var account: String
    public init(account: String) { self.account = account }
}
