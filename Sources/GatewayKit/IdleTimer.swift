public import NIOCore

/// An inactivity timer on one event loop (RFC 1939 §3 autologout, RFC 5321 §4.5.3.2, RFC 9051
/// §5.4). `touch()` is cheap — it only records the time — so it can run on every line; the one
/// scheduled task re-arms itself for the remainder when it finds recent activity. The clock is
/// the event loop's: an `EmbeddedEventLoop` test advances time instead of sleeping (STYLE §11).
///
/// Not Sendable: create, touch and cancel it on its event loop only.
public final class IdleTimer {
    public let timeout: TimeAmount
    private let eventLoop: any EventLoop
    private let onExpiry: () -> Void
    private var lastActivity: NIODeadline
    private var scheduled: Scheduled<Void>?
    private var stopped = false

    /// Starts the timer; `onExpiry` runs on the event loop once `timeout` passes without `touch()`.
    public init(eventLoop: any EventLoop, timeout: TimeAmount, onExpiry: @escaping () -> Void) {
        eventLoop.preconditionInEventLoop()
        self.eventLoop = eventLoop
        self.timeout = timeout
        self.onExpiry = onExpiry
        self.lastActivity = eventLoop.now
        arm(in: timeout)
    }

    /// Records activity now.
    public func touch() {
        lastActivity = eventLoop.now
    }

    /// Stops the timer for good.
    public func cancel() {
        stopped = true
        scheduled?.cancel()
        scheduled = nil
    }

    private func arm(in delay: TimeAmount) {
        scheduled = eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            fire()
        }
    }

    private func fire() {
        guard !stopped else { return }
        let idle = eventLoop.now - lastActivity
        if idle >= timeout {
            stopped = true
            scheduled = nil
            onExpiry()
        } else {
            arm(in: timeout - idle)
        }
    }
}
