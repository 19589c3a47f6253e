import NIOConcurrencyHelpers
public import NIOCore
import RPCProtocol
public import RPCTransport

/// The server-wide message size limit (`loft settings --max-message`), as the back-end last
/// told it (Protocol/README §16): the gateway watches the directory, whose version and
/// notifications carry the limit, so a new SMTP session advertises with SIZE (RFC 1870 §4)
/// the limit the back-end enforces, with no call per connection and no polling.
///
/// Until the first answer, and while the back-end cannot be reached, `current` is the last
/// limit heard (at start, `initial`).
public final class ServerMessageLimit: Sendable {
    private struct State {
        var limit: Int64
        /// Answers are applied in the order their calls were made: a slow old answer never
        /// overwrites a newer one.
        var asked = 0
        var applied = 0
        var stopped = false
    }
    private let state: NIOLockedValueBox<State>
    private let client: RPCClient
    private let loop: any EventLoop

    /// Retrying a failed watch waits this long (the back-end restarting).
    static let retryDelay = TimeAmount.seconds(1)

    public init(client: RPCClient, events: EventRouter, initial: Int64, on loop: any EventLoop) {
        self.client = client
        self.loop = loop
        state = NIOLockedValueBox(State(limit: initial))
        events.observe(Methods.directoryChangedNotification) { [weak self] line in self?.notified(line) }
        client.observeConnection { [weak self] connected in
            // A watch lives on one connection: a new one (the back-end restarted) needs its own.
            if !connected { self?.loop.scheduleTask(in: Self.retryDelay) { self?.watch() } }
        }
        watch()
    }

    /// The limit to advertise and enforce now.
    public var current: Int64 { state.withLockedValue { $0.limit } }

    public func stop() { state.withLockedValue { $0.stopped = true } }

    private func watch() {
        let ticket = state.withLockedValue { s -> Int? in
            guard !s.stopped else { return nil }
            s.asked += 1
            return s.asked
        }
        guard let ticket else { return }
        client.callFuture(Methods.directoryWatch, Empty()).whenComplete { [weak self] result in
            guard let self else { return }
            switch result {
            case .success(let answer): self.apply(answer.maxMessageBytes, ticket: ticket)
            case .failure: self.loop.scheduleTask(in: Self.retryDelay) { self.watch() }
            }
        }
    }

    private func notified(_ line: ByteBuffer) {
        guard let version = try? JSONRPC.decodeParams(DirectoryVersionResult.self, from: line) else { return watch() }
        let ticket = state.withLockedValue { s -> Int in
            s.asked += 1
            return s.asked
        }
        apply(version.maxMessageBytes, ticket: ticket)
    }

    private func apply(_ limit: Int64?, ticket: Int) {
        state.withLockedValue { s in
            guard ticket > s.applied else { return }
            s.applied = ticket
            if let limit, limit > 0 { s.limit = limit }
        }
    }
}
