import Testing

@testable import MailCore

/// The queue's state machine as a table (Protocol/README §15): each row is a state, an event
/// at a time, and what must come of it.
@Suite struct QueueScheduleTests {
    typealias S = QueueSchedule
    static let policy = S.Policy(retry: [300, 600, 1200], lifetime: 10_000, delayWarning: 3600)

    static func state(
        _ status: S.Status, attempts: Int = 0, next: Int64 = 0, lease: String? = nil, until: Int64? = nil, warned: Bool = false,
        notify: Set<S.Notify>? = nil
    ) -> S.State {
        S.State(
            status: status, attempts: attempts, nextAttemptAt: next, leaseID: lease, leaseUntil: until, queuedAt: 0, expiresAt: 10_000,
            warned: warned, notify: notify)
    }

    enum Event {
        case lease(String, until: Int64)
        case report(String, S.Result)
        case tick
        case retry
        case remove(bounce: Bool)
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let state: S.State
        let event: Event
        let now: Int64
        /// nil: ignored.
        let status: S.Status?
        let notification: S.Notification?
        var check: @Sendable (S.State) -> Bool = { _ in true }
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "pending leased", state: state(.pending), event: .lease("a", until: 400), now: 100, status: .leased, notification: nil) {
            $0.leaseID == "a" && $0.leaseUntil == 400
        },
        Row(
            name: "deferred not yet due", state: state(.deferred, next: 500), event: .lease("a", until: 400), now: 100, status: nil,
            notification: nil),
        Row(
            name: "held lease not due", state: state(.leased, lease: "a", until: 400), event: .lease("b", until: 900), now: 399,
            status: nil, notification: nil),
        Row(
            name: "expired lease leased again", state: state(.leased, lease: "a", until: 400), event: .lease("b", until: 900), now: 400,
            status: .leased, notification: nil
        ) {
            $0.leaseID == "b" && $0.attempts == 1
        },
        Row(
            name: "2xx delivered", state: state(.leased, lease: "a", until: 400), event: .report("a", .delivered), now: 200,
            status: .delivered, notification: nil),
        Row(
            name: "2xx with NOTIFY=SUCCESS", state: state(.leased, lease: "a", until: 400, notify: [.success]),
            event: .report("a", .delivered), now: 200, status: .delivered, notification: .delivered),
        Row(
            name: "4xx first retry", state: state(.leased, lease: "a", until: 400), event: .report("a", .deferred), now: 200,
            status: .deferred, notification: nil
        ) {
            $0.attempts == 1 && $0.nextAttemptAt == 500 && $0.leaseUntil == nil
        },
        Row(
            name: "4xx last interval repeats", state: state(.leased, attempts: 5, lease: "a", until: 400), event: .report("a", .deferred),
            now: 200, status: .deferred, notification: nil
        ) {
            $0.nextAttemptAt == 1400
        },
        Row(
            name: "4xx retry capped at expiry", state: state(.leased, attempts: 5, lease: "a", until: 10_500),
            event: .report("a", .deferred), now: 9_900, status: .deferred, notification: nil
        ) {
            $0.nextAttemptAt == 10_000
        },
        Row(
            name: "4xx past lifetime fails", state: state(.leased, lease: "a", until: 10_500), event: .report("a", .deferred), now: 10_000,
            status: .failed, notification: .failed),
        Row(
            name: "5xx bounces", state: state(.leased, lease: "a", until: 400), event: .report("a", .failed), now: 200, status: .failed,
            notification: .failed),
        Row(
            name: "5xx with NOTIFY=NEVER", state: state(.leased, lease: "a", until: 400, notify: []), event: .report("a", .failed),
            now: 200, status: .failed, notification: nil),
        Row(
            name: "repeated 4xx ignored", state: state(.deferred, attempts: 1, next: 500, lease: "a"), event: .report("a", .deferred),
            now: 250, status: nil, notification: nil),
        Row(
            name: "report on final ignored", state: state(.delivered, lease: "a"), event: .report("a", .failed), now: 250, status: nil,
            notification: nil),
        Row(
            name: "late 4xx of an expired lease", state: state(.leased, lease: "a", until: 400), event: .report("a", .deferred), now: 900,
            status: .deferred, notification: nil),
        Row(
            name: "late 5xx after a new lease", state: state(.leased, lease: "b", until: 900), event: .report("a", .failed), now: 500,
            status: nil, notification: nil),
        Row(
            name: "late 2xx after a new lease", state: state(.leased, lease: "b", until: 900), event: .report("a", .delivered), now: 500,
            status: .delivered, notification: nil),
        Row(
            name: "late 2xx after a newer lease's 4xx", state: state(.deferred, attempts: 1, next: 900, lease: "b"),
            event: .report("a", .delivered), now: 500, status: .delivered, notification: nil),
        Row(name: "tick: waiting", state: state(.deferred, attempts: 1, next: 900), event: .tick, now: 500, status: nil, notification: nil),
        Row(
            name: "tick: delay warning", state: state(.deferred, attempts: 1, next: 9000), event: .tick, now: 3600, status: .deferred,
            notification: .delayed
        ) {
            $0.warned
        },
        Row(
            name: "tick: warning by age, never tried", state: state(.pending), event: .tick, now: 3600, status: .pending,
            notification: .delayed),
        Row(
            name: "tick: warned once", state: state(.deferred, attempts: 1, next: 9000, warned: true), event: .tick, now: 4000, status: nil,
            notification: nil),
        Row(
            name: "tick: warning not wanted", state: state(.deferred, attempts: 1, next: 9000, notify: [.failure]), event: .tick, now: 3600,
            status: .deferred, notification: nil
        ) {
            $0.warned
        },
        Row(
            name: "tick: expired", state: state(.deferred, attempts: 3, next: 12_000), event: .tick, now: 10_000, status: .failed,
            notification: .failed),
        Row(
            name: "tick: expired while leased, lease over", state: state(.leased, lease: "a", until: 9_000), event: .tick, now: 10_000,
            status: .failed, notification: .failed),
        Row(
            name: "tick: expired but lease running", state: state(.leased, lease: "a", until: 10_500), event: .tick, now: 10_000,
            status: nil, notification: nil),
        Row(
            name: "retry now", state: state(.deferred, attempts: 1, next: 900), event: .retry, now: 500, status: .deferred,
            notification: nil
        ) {
            $0.nextAttemptAt == 500
        },
        Row(
            name: "retry of a leased one", state: state(.leased, lease: "a", until: 900), event: .retry, now: 500, status: nil,
            notification: nil),
        Row(
            name: "remove with bounce", state: state(.deferred, next: 900), event: .remove(bounce: true), now: 500, status: .failed,
            notification: .failed),
        Row(
            name: "remove silently", state: state(.leased, lease: "a", until: 900), event: .remove(bounce: false), now: 500,
            status: .failed, notification: nil),
    ]

    @Test(arguments: rows) func transition(_ row: Row) {
        let step: S.Step =
            switch row.event {
            case .lease(let id, let until): S.lease(row.state, id: id, until: until, now: row.now)
            case .report(let id, let result): S.report(row.state, lease: id, result: result, now: row.now, policy: Self.policy)
            case .tick: S.tick(row.state, now: row.now, policy: Self.policy)
            case .retry: S.retryNow(row.state, now: row.now)
            case .remove(let bounce): S.remove(row.state, bounce: bounce)
            }
        switch step {
        case .ignored:
            #expect(row.status == nil, "\(row.name): ignored")
        case .changed(let next, let notification):
            #expect(next.status == row.status, "\(row.name)")
            #expect(notification == row.notification, "\(row.name)")
            #expect(row.check(next), "\(row.name): \(next)")
        }
    }

    @Test func notifyParsing() {
        #expect(S.Notify.parse("NEVER") == [])
        #expect(S.Notify.parse("success,Delay") == [.success, .delay])
        #expect(S.Notify.parse("never,success") == nil, "NEVER stands alone (RFC 3461 §4.1)")
        #expect(S.Notify.parse("failure,failure") == nil)
        #expect(S.Notify.parse("") == nil)
        #expect(S.Notify.render([.delay, .success]) == "SUCCESS,DELAY")
        #expect(S.Notify.render([]) == "NEVER")
    }

    @Test func retryScheduleAndDefaults() {
        #expect((1...7).map { Self.policy.delay(afterAttempts: $0) } == [300, 600, 1200, 1200, 1200, 1200, 1200])
        #expect(S.Policy.standard.retry == [300, 600, 1200, 2400, 7200] && S.Policy.standard.lifetime == 432_000)
        #expect(S.Policy(retry: [], lifetime: 0, delayWarning: -1) == S.Policy(retry: [300], lifetime: 1, delayWarning: 0))
        // No NOTIFY: failures and delays, not successes (RFC 3461 §4.1).
        let plain = Self.state(.pending)
        #expect(plain.wants(.failure) && plain.wants(.delay) && !plain.wants(.success))
    }
}

@Suite struct TimeSpanTests {
    @Test(
        arguments: [
            ("30s", 30), ("5m", 300), ("2h", 7200), ("5d", 432_000), ("1w", 604_800), ("45", 45), ("0", 0), (" 4H ", 14_400),
        ] as [(String, Int64)])
    func parses(_ text: String, _ seconds: Int64) {
        #expect(TimeSpan.parse(text) == seconds)
    }

    @Test(arguments: ["", "m", "-5m", "5x", "1.5h", "5mm", "9223372036854775807w", "٣m"])
    func refuses(_ text: String) {
        #expect(TimeSpan.parse(text) == nil)
    }

    @Test func formats() {
        #expect([300, 7200, 432_000, 45, 90].map(TimeSpan.format) == ["5m", "2h", "5d", "45s", "90s"])
    }
}
