import NIOConcurrencyHelpers

/// A clock a test moves by hand, for code that takes the time as a value or a function (login
/// throttling, challenge and cache expiry, lease ends; the back-end counts milliseconds):
/// pass `clock.nowMs` or `{ clock.nowMs }`, and `advance(byMs:)` instead of sleeping (STYLE §11).
public final class ManualClock: Sendable {
    private let ms: NIOLockedValueBox<Int64>

    public init(startMs: Int64 = 1_700_000_000_000) {
        ms = NIOLockedValueBox(startMs)
    }

    public var nowMs: Int64 { ms.withLockedValue { $0 } }

    public func advance(byMs interval: Int64) {
        ms.withLockedValue { $0 += interval }
    }

    public func advance(bySeconds interval: Int64) {
        advance(byMs: interval * 1000)
    }
}
