public import NIOCore

/// How long a client may take, per protocol (STYLE §7, §11). A connection is cut when it stays
/// idle, when a unit it has begun (a command line, an AUTH response, message data) makes no
/// progress, or when it has not logged in within a bounded time.
///
/// Restarting a timer at every byte is what let 500 connections dripping one byte every 3 s
/// hold a gateway for ever (issue 7): here a command line must be complete within `command`,
/// and bulk data must arrive at `progressBytes` per `command` at least, however the bytes are
/// spread. Under stress (the gateway near its connection cap, as Postfix's stress mode) the
/// `stressed` values apply to connections that have not logged in, so slots held by slow or
/// idle strangers come free quickly while logged-in users (an IMAP IDLE, a long POP3 session)
/// keep their RFC timers.
public struct ConnectionTimeouts: Sendable, Hashable {
    /// Nothing pending and nothing received (RFC 5321 §4.5.3.2: 5 min; RFC 1939 §3: ≥ 10 min).
    public var idle: TimeAmount
    /// A unit begun must end, or progress by `progressBytes`, within this.
    public var command: TimeAmount
    /// From the connection's start to a successful login; nil where there is no login (MX).
    public var authentication: TimeAmount?
    public var progressBytes: Int
    /// The three above while the gateway is under stress, for connections not logged in.
    public var stressedIdle: TimeAmount
    public var stressedCommand: TimeAmount
    public var stressedAuthentication: TimeAmount

    public init(
        idle: TimeAmount, command: TimeAmount = .seconds(60), authentication: TimeAmount? = .seconds(120),
        progressBytes: Int = 4096, stressedIdle: TimeAmount = .seconds(10), stressedCommand: TimeAmount = .seconds(10),
        stressedAuthentication: TimeAmount = .seconds(30)
    ) {
        self.idle = idle
        self.command = command
        self.authentication = authentication
        self.progressBytes = max(1, progressBytes)
        self.stressedIdle = min(stressedIdle, idle)
        self.stressedCommand = min(stressedCommand, command)
        self.stressedAuthentication = min(stressedAuthentication, authentication ?? stressedAuthentication)
    }
}

/// Which rule cut a connection.
public enum ConnectionTimeout: Sendable, Hashable {
    case idle
    case command
    case authentication
}

/// The deadlines of one connection as a value: the driver reports what happened and asks when
/// the next deadline is; it never reads a clock itself, so tests drive it with any times.
public struct ConnectionDeadlines: Sendable {
    public let timeouts: ConnectionTimeouts
    let connectedAt: NIODeadline
    var lastActivity: NIODeadline
    /// When the unit now pending began, or last made `progressBytes` of progress.
    var partialSince: NIODeadline?
    var partialBytes = 0
    public private(set) var isAuthenticated = false

    public init(timeouts: ConnectionTimeouts, now: NIODeadline) {
        self.timeouts = timeouts
        self.connectedAt = now
        self.lastActivity = now
    }

    /// `count` bytes arrived; `partial` says whether a unit is left unfinished after framing them.
    public mutating func received(_ count: Int, partial: Bool, now: NIODeadline) {
        lastActivity = now
        guard partial else {
            partialSince = nil
            partialBytes = 0
            return
        }
        if partialSince == nil {
            partialSince = now
            partialBytes = 0
        }
        partialBytes += count
        if partialBytes >= timeouts.progressBytes {
            partialSince = now
            partialBytes = 0
        }
    }

    /// The server did something for the client (answered, streamed a message, heard back from
    /// the back-end): the connection is not idle, and a unit held back meanwhile starts afresh.
    public mutating func serverActivity(now: NIODeadline) {
        lastActivity = now
        if partialSince != nil { partialSince = now }
    }

    /// The client logged in: the authentication deadline and the stressed values stop applying.
    public mutating func authenticated() {
        isAuthenticated = true
    }

    /// The next deadline and the rule behind it.
    public func next(stressed: Bool) -> (deadline: NIODeadline, reason: ConnectionTimeout) {
        let strict = stressed && !isAuthenticated
        var best: (deadline: NIODeadline, reason: ConnectionTimeout)
        if let partialSince {
            best = (partialSince + (strict ? timeouts.stressedCommand : timeouts.command), .command)
        } else {
            best = (lastActivity + (strict ? timeouts.stressedIdle : timeouts.idle), .idle)
        }
        if !isAuthenticated, let limit = timeouts.authentication {
            let deadline = connectedAt + (strict ? timeouts.stressedAuthentication : limit)
            if deadline < best.deadline { best = (deadline, .authentication) }
        }
        return best
    }

    /// The rule that has run out at `now`, if any.
    public func expired(now: NIODeadline, stressed: Bool) -> ConnectionTimeout? {
        let next = next(stressed: stressed)
        return next.deadline <= now ? next.reason : nil
    }

    /// When to look again: the next deadline, or the one that would apply should stress begin
    /// before then, whichever is first (so stress needs no broadcast to every connection).
    public func wakeUp(stressed: Bool) -> NIODeadline {
        min(next(stressed: stressed).deadline, next(stressed: true).deadline)
    }
}
