/// A failure the caller can act on. The back-end maps each kind to its RPC error in one place.
public struct StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        case noSuchDomain, domainExists, domainNotEmpty
        case noSuchAccount, accountExists, addressInUse
        case noSuchAlias, noSuchGroup
        case noSuchMailbox, mailboxExists, mailboxNotEmpty, permissionDenied
        case noSuchMessage
        case quotaExceeded, tooBig, limitExceeded
        case corrupt
    }
    public let kind: Kind
    public let message: String
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }
    public var description: String { message }
}
