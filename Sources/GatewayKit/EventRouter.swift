public import Logging
import NIOConcurrencyHelpers
public import NIOCore
public import RPCProtocol
import RPCTransport

/// A change to a subscribed account's mail, or word that some may have been missed.
public enum BackendEvent: Sendable, Equatable {
    case changed(MailEvent)
    /// Events may have been lost (the back-end restarted, or could not keep up with this
    /// gateway): re-read the state instead of trusting the events so far (IMAP resynchronises
    /// with `message.list` `changedSince`).
    case resync
}

/// The event subscriptions of one back-end connection (issue 7 §3): a connection of a gateway
/// (an IMAP session in IDLE, a web mail page) subscribes to an account's events, optionally
/// one mailbox's, and reads them as an async sequence. The back-end's `event` notifications
/// arrive on the shared RPC connection and are routed here by subscription id. When that
/// connection drops (the back-end restarted), every subscription is made again on the new
/// connection by itself, with back-off, and each subscriber gets `.resync` once it is.
public final class EventRouter: Sendable {
    struct Entry {
        var session: String
        var mailbox: String?
        var continuation: AsyncStream<BackendEvent>.Continuation
        /// The back-end's id while subscribed on the current connection.
        var backendID: Int64?
    }
    struct State {
        var nextLocalID = 0
        var entries: [Int: Entry] = [:]
        var localID: [Int64: Int] = [:]
        var resubscribing = false
        /// Counts lost connections: a subscribe answered on a connection that has since gone
        /// must not be bound (its id is dead there).
        var generation = 0
    }
    let state = NIOLockedValueBox(State())
    let client = NIOLockedValueBox<RPCClient?>(nil)
    /// Receivers of the connection's other notifications, by method.
    let observers = NIOLockedValueBox<[String: @Sendable (ByteBuffer) -> Void]>([:])
    let logger: Logger
    /// Each subscriber's buffer of events not yet read; older ones go, and a `.resync` is due.
    static let bufferedEvents = 1000

    public init(logger: Logger = Logger(label: "loft.events")) {
        self.logger = logger
    }

    /// Binds the router to the client whose notifications it receives (see `BackendClients`).
    func attach(_ client: RPCClient) {
        self.client.withLockedValue { $0 = client }
        client.observeConnection { [weak self] connected in
            if !connected { self?.connectionLost() }
        }
    }

    /// Subscribes to the account of `session`, or only to `mailbox` of it. The sequence ends
    /// when the subscription is cancelled or the router closes.
    public func subscribe(session: String, mailbox: String? = nil) async throws -> EventSubscription {
        guard let client = client.withLockedValue({ $0 }) else { throw RPCError(.unavailable, "no back-end client") }
        let (stream, continuation) = AsyncStream<BackendEvent>.makeStream(bufferingPolicy: .bufferingNewest(Self.bufferedEvents))
        let (localID, generation) = state.withLockedValue { s -> (Int, Int) in
            s.nextLocalID += 1
            s.entries[s.nextLocalID] = Entry(session: session, mailbox: mailbox, continuation: continuation)
            return (s.nextLocalID, s.generation)
        }
        continuation.onTermination = { [weak self] _ in self?.remove(localID) }
        do {
            let result = try await client.call(Methods.eventsSubscribe, Self.params(session: session, mailbox: mailbox))
            bind(localID, to: result.subscription, generation: generation)
        } catch {
            remove(localID)
            throw error
        }
        return EventSubscription(stream: stream, cancel: { [weak self] in self?.remove(localID) })
    }

    static func params(session: String, mailbox: String?) -> EventsSubscribeParams {
        EventsSubscribeParams(session: session, mailbox: mailbox)
    }

    /// Records the back-end's id for a subscription made in connection `generation`. A
    /// subscription cancelled meanwhile is ended in the back-end too; one whose connection has
    /// gone meanwhile is left to be made again.
    func bind(_ localID: Int, to backendID: Int64, generation: Int) {
        enum Outcome { case bound, orphan, stale }
        let outcome = state.withLockedValue { s -> Outcome in
            guard s.generation == generation else { return .stale }
            guard s.entries[localID] != nil else { return .orphan }
            s.entries[localID]?.backendID = backendID
            s.localID[backendID] = localID
            return .bound
        }
        switch outcome {
        case .bound: break
        case .orphan: unsubscribe(backendID)
        case .stale: startResubscribing()
        }
    }

    func unsubscribe(_ backendID: Int64) {
        guard let client = client.withLockedValue({ $0 }) else { return }
        client.callFuture(Methods.eventsUnsubscribe, UnsubscribeParams(subscription: backendID)).whenComplete { _ in }
    }

    /// The number of live subscriptions (tests, metrics).
    public var count: Int { state.withLockedValue { $0.entries.count } }

    func remove(_ localID: Int) {
        let gone = state.withLockedValue { s -> (Int64?, AsyncStream<BackendEvent>.Continuation)? in
            guard let entry = s.entries.removeValue(forKey: localID) else { return nil }
            if let id = entry.backendID { s.localID[id] = nil }
            return (entry.backendID, entry.continuation)
        }
        guard let (backendID, continuation) = gone else { return }
        continuation.finish()
        if let backendID { unsubscribe(backendID) }
    }

    /// Hands every notification `method` other than `event` on this connection to `body`, on
    /// the connection's event loop, in the order they arrive (`loft ldap` watches
    /// `directory.changed`). One receiver per method; a later one replaces it.
    public func observe(_ method: String, _ body: @escaping @Sendable (_ line: ByteBuffer) -> Void) {
        observers.withLockedValue { $0[method] = body }
    }

    /// A notification from the back-end: an `event`, or one for an observer.
    func received(method: String, line: ByteBuffer) {
        guard method == Methods.eventNotification else {
            observers.withLockedValue { $0[method] }?(line)
            return
        }
        guard let event = try? JSONRPC.decodeParams(MailEvent.self, from: line) else {
            logger.warning("an event notification that does not decode")
            return
        }
        let continuation = state.withLockedValue { s in s.localID[event.subscription].flatMap { s.entries[$0]?.continuation } }
        continuation?.yield(event.kind == .resync ? .resync : .changed(event))
    }

    // MARK: - Reconnection

    func connectionLost() {
        state.withLockedValue { s in
            s.generation += 1
            s.localID = [:]
            for id in s.entries.keys { s.entries[id]?.backendID = nil }
        }
        startResubscribing()
    }

    /// Starts the one loop that makes lost subscriptions again, unless it runs already.
    func startResubscribing() {
        let start = state.withLockedValue { s -> Bool in
            guard !s.entries.isEmpty, !s.resubscribing else { return false }
            s.resubscribing = true
            return true
        }
        if start { Task { await resubscribe() } }
    }

    /// Makes every subscription again, retrying with back-off (0.1 s doubling to 5 s) while the
    /// back-end cannot be reached; each renewed subscriber is told `.resync`. One the back-end
    /// refuses for good (the session ended: password changed, account disabled) is told
    /// `.resync` and ended; its subscriber learns why when it next uses the session.
    func resubscribe() async {
        var delay: UInt64 = 100_000_000
        while true {
            let (pending, generation) = state.withLockedValue { s -> ([(Int, Entry)], Int) in
                let left = s.entries.filter { $0.value.backendID == nil }.map { ($0.key, $0.value) }
                if left.isEmpty { s.resubscribing = false }
                return (left, s.generation)
            }
            guard !pending.isEmpty else { return }
            guard let client = client.withLockedValue({ $0 }) else {
                state.withLockedValue { $0.resubscribing = false }
                return
            }
            var unreachable = false
            for (localID, entry) in pending {
                do {
                    let result = try await client.call(
                        Methods.eventsSubscribe, Self.params(session: entry.session, mailbox: entry.mailbox))
                    bind(localID, to: result.subscription, generation: generation)
                    entry.continuation.yield(.resync)
                } catch let error where Self.isTemporary(error) {
                    unreachable = true
                    break
                } catch {
                    entry.continuation.yield(.resync)
                    remove(localID)
                }
            }
            if unreachable {
                try? await Task.sleep(nanoseconds: delay)
                delay = min(delay * 2, 5_000_000_000)
            } else {
                delay = 100_000_000
            }
        }
    }

    static func isTemporary(_ error: RPCError) -> Bool {
        error.is(.unavailable) || error.is(.timeout) || error.is(.overloaded) || error.data?.temporary == true
    }

    /// Ends every subscription (the gateway is stopping).
    public func close() {
        let all = state.withLockedValue { s -> [AsyncStream<BackendEvent>.Continuation] in
            defer {
                s.entries = [:]
                s.localID = [:]
            }
            return s.entries.values.map(\.continuation)
        }
        for continuation in all { continuation.finish() }
    }
}

/// One subscription's events, in order. Cancel it (or stop iterating and drop it) to end it.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = BackendEvent
    let stream: AsyncStream<BackendEvent>
    let cancel: @Sendable () -> Void

    public func makeAsyncIterator() -> AsyncStream<BackendEvent>.Iterator {
        stream.makeAsyncIterator()
    }

    /// Ends the subscription here and in the back-end.
    public func cancelSubscription() {
        cancel()
    }
}
