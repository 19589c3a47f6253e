public import Logging
import NIOConcurrencyHelpers
import NIOCore
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
    }
    let state = NIOLockedValueBox(State())
    let client = NIOLockedValueBox<RPCClient?>(nil)
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
        let localID = state.withLockedValue { s -> Int in
            s.nextLocalID += 1
            s.entries[s.nextLocalID] = Entry(session: session, mailbox: mailbox, continuation: continuation)
            return s.nextLocalID
        }
        continuation.onTermination = { [weak self] _ in self?.remove(localID) }
        do {
            let result = try await client.call(Methods.eventsSubscribe, Self.params(session: session, mailbox: mailbox))
            bind(localID, to: result.subscription)
        } catch {
            remove(localID)
            throw error
        }
        return EventSubscription(stream: stream, cancel: { [weak self] in self?.remove(localID) })
    }

    static func params(session: String, mailbox: String?) -> EventsSubscribeParams {
        EventsSubscribeParams(session: session, mailbox: mailbox)
    }

    func bind(_ localID: Int, to backendID: Int64) {
        state.withLockedValue { s in
            guard s.entries[localID] != nil else { return }
            s.entries[localID]?.backendID = backendID
            s.localID[backendID] = localID
        }
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
        if let backendID, let client = client.withLockedValue({ $0 }) {
            client.callFuture(Methods.eventsUnsubscribe, UnsubscribeParams(subscription: backendID)).whenComplete { _ in }
        }
    }

    /// An `event` notification from the back-end.
    func received(method: String, line: ByteBuffer) {
        guard method == Methods.eventNotification else { return }
        guard let event = try? JSONRPC.decodeParams(MailEvent.self, from: line) else {
            logger.warning("an event notification that does not decode")
            return
        }
        let continuation = state.withLockedValue { s in s.localID[event.subscription].flatMap { s.entries[$0]?.continuation } }
        continuation?.yield(event.kind == .resync ? .resync : .changed(event))
    }

    // MARK: - Reconnection

    func connectionLost() {
        let start = state.withLockedValue { s -> Bool in
            s.localID = [:]
            for id in s.entries.keys { s.entries[id]?.backendID = nil }
            guard !s.entries.isEmpty, !s.resubscribing else { return false }
            s.resubscribing = true
            return true
        }
        if start { Task { await resubscribe() } }
    }

    /// Makes every subscription again, retrying with back-off (0.1 s doubling to 5 s) until
    /// the back-end answers; each renewed subscriber is told `.resync`.
    func resubscribe() async {
        var delay: UInt64 = 100_000_000
        while true {
            let pending = state.withLockedValue { s -> [(Int, Entry)] in
                let left = s.entries.filter { $0.value.backendID == nil }.map { ($0.key, $0.value) }
                if left.isEmpty { s.resubscribing = false }
                return left
            }
            guard !pending.isEmpty, let client = client.withLockedValue({ $0 }) else { return }
            var failed = false
            for (localID, entry) in pending {
                do {
                    let result = try await client.call(
                        Methods.eventsSubscribe, Self.params(session: entry.session, mailbox: entry.mailbox))
                    bind(localID, to: result.subscription)
                    entry.continuation.yield(.resync)
                } catch let error where error.is(.sessionInvalid) {
                    // The session ended (password changed, account disabled): the subscriber
                    // learns it when it next uses the session.
                    entry.continuation.yield(.resync)
                    remove(localID)
                } catch {
                    failed = true
                    break
                }
            }
            if failed {
                try? await Task.sleep(nanoseconds: delay)
                delay = min(delay * 2, 5_000_000_000)
            }
        }
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
