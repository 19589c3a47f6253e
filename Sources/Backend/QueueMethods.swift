import Foundation
import MailCore
import MailMessage
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import RPCProtocol
import RPCTransport
import Storage

/// The outbound queue's methods (Protocol/README §15): the relay leases due recipients, reads
/// the message, renews its lease and reports per recipient; the administrator lists, shows,
/// retries and removes. Every change of a recipient's state is `QueueSchedule`'s, applied by
/// the store in the transaction that reads the row, and every notification it calls for (a
/// bounce, a delay warning, a success report) is stored in that same transaction.
extension Backend {
    func registerQueue() {
        deferred(Methods.queueLease) { connection, p, done in
            self.workers.submit { state in
                guard case .active = state else {
                    return done(.failure(RPCError(.unavailable, "the back-end is shutting down", temporary: true)))
                }
                do {
                    let since = self.leaseWaiters.wakes
                    let result = try self.leaseQueue(p)
                    guard result.lease == nil, let wait = p.waitMs, wait > 0 else { return done(.success(result)) }
                    let untilDue = result.nextDueAt.map { max(0, $0 - self.clock()) } ?? wait
                    self.park(
                        p, until: self.clock() + max(1, min(wait, Self.maxLeaseWaitMs, untilDue)), since: since, connection: connection,
                        done: done)
                } catch {
                    done(.failure(error))
                }
            }
        }
        blocking(Methods.queueRead) { _, p in
            let length = min(max(p.length ?? RPCLimits.maxChunkBytes, 0), RPCLimits.maxChunkBytes)
            let offset = max(p.offset ?? 0, 0)
            let read = try self.store.readQueued(queueID: p.message, lease: p.lease, now: self.nowSeconds, offset: offset, length: length)
            return QueueReadResult(data: Base64Data(read.bytes), total: read.total, offset: offset)
        }
        blocking(Methods.queueRenew) { _, p in
            let now = self.nowSeconds
            let until = now + self.leaseSeconds(p.leaseMs)
            let renewed = try self.store.renewQueueLease(p.lease, now: now, until: until)
            guard renewed.recipients > 0 else { throw RPCError(.noSuchLease, "lease \(p.lease) holds no recipient any more") }
            return QueueRenewResult(deadline: renewed.deadline * 1000, recipients: renewed.recipients)
        }
        blocking(Methods.queueReport) { _, p in try self.reportQueue(p) }
        blocking(Methods.queueUnpark) { connection, _ in QueueUnparkResult(answered: self.leaseWaiters.unpark(connection)) }
        blocking(Methods.queueList) { _, p in
            let page = try self.store.queuedMessages(limit: min(max(p.limit ?? 100, 1), 10_000), after: p.after)
            return QueueListResult(entries: page.map(Self.queueEntry))
        }
        blocking(Methods.queueShow) { _, p in
            guard let entry = try self.store.queuedMessage(id: p.id) else {
                throw RPCError(.noSuchQueueEntry, "no queued message \(p.id)")
            }
            return Self.queueEntry(entry)
        }
        blocking(Methods.queueRetry) { _, p in
            let now = self.nowSeconds
            let selection: QueueSelection = p.id.map { .message($0, recipients: nil) } ?? .waiting
            if let id = p.id, try self.store.queuedMessage(id: id) == nil {
                throw RPCError(.noSuchQueueEntry, "no queued message \(id)")
            }
            let update = try self.store.updateQueue(
                selection, now: now, step: { (QueueSchedule.retryNow($0.state, now: now), nil) }, notify: { _, _, _, _ in [] })
            self.wakeRelays()
            self.audit(
                "queue.retry", p.id.map { String($0) } ?? "all", "queue retry now: \(update.changed) recipients",
                ["changed": "\(update.changed)"])
            return QueueChangeResult(changed: update.changed)
        }
        blocking(Methods.queueRemove) { _, p in
            guard let entry = try self.store.queuedMessage(id: p.id) else {
                throw RPCError(.noSuchQueueEntry, "no queued message \(p.id)")
            }
            let now = self.nowSeconds
            let attempt = QueueAttempt(at: now, text: "removed from the queue by the administrator")
            let update = try self.updateQueue(entry.message.id, recipients: nil, now: now) { recipient in
                (QueueSchedule.remove(recipient.state, bounce: p.bounce ?? false), attempt)
            }
            self.audit(
                "queue.remove", String(p.id), "queue entry \(p.id) removed\(p.bounce == true ? ", sender notified" : "")",
                ["changed": "\(update.changed)"])
            return QueueChangeResult(changed: update.changed)
        }
        blocking(Methods.queueStatus) { _, _ in try self.queueStatus() }
    }

    func queueStatus() throws -> QueueStatusResult {
        let counts = try store.queueCounts()
        return QueueStatusResult(
            messages: counts.messages, recipients: counts.recipients, deferred: counts.deferred, leased: counts.leased,
            oldestAt: counts.oldestAt, nextDueAt: counts.nextDueAt)
    }

    /// The longest a `queue.lease` waits for work (well inside a client's call timeout).
    static let maxLeaseWaitMs: Int64 = 30_000

    /// A `queue.lease` that found nothing waits until mail is queued (`wakeRelays`), its next
    /// recipient falls due, or `deadline` (ms) passes, then answers once: with a lease as soon
    /// as one can be made, else empty at the deadline. A wake that finds nothing (another worker
    /// was quicker, or the domain is at its concurrency) parks the call again; a wake that came
    /// while a try ran (`since`, the wake count when it began) makes it try again at once, so
    /// no wake is lost between a try's transaction and its parking.
    func park(
        _ p: QueueLeaseParams, until deadline: Int64, since: Int, connection: RPCConnection,
        done: @escaping @Sendable (Result<QueueLeaseResult, any Error>) -> Void
    ) {
        let hook = NIOLockedValueBox<RPCConnection.CloseHook?>(nil)
        let waiters = leaseWaiters
        let finish: @Sendable (LeaseWaiters.Waiter, Result<QueueLeaseResult, any Error>) -> Void = { waiter, result in
            guard waiters.answered(waiter) else { return }
            if let h = hook.withLockedValue({ $0 }) { connection.removeCloseHook(h) }
            done(result)
            // A wake this call took and could not use goes on to the next waiting call.
            if case .failure = result { waiters.wakeFirst() }
        }
        let waiter = LeaseWaiters.Waiter(connection: connection) { waiter in
            self.workers.submit { state in
                // A relay that went away (or a back-end shutting down) must not be handed work
                // no one will do: the lease is made only for a caller still there.
                while true {
                    guard case .active = state, !connection.isClosed, !waiter.unparked else {
                        let gone = RPCError(.unavailable, "the caller is gone", temporary: true)
                        return finish(waiter, waiter.unparked ? .success(.nothing) : .failure(gone))
                    }
                    do {
                        let since = waiters.wakes
                        let result = try self.leaseQueue(p)
                        if result.lease != nil || self.clock() >= deadline { return finish(waiter, .success(result)) }
                        switch waiters.foundNothing(waiter, since: since) {
                        case .answer: return finish(waiter, .success(result))
                        case .parked: return
                        case .again: continue
                        }
                    } catch {
                        return finish(waiter, .failure(error))
                    }
                }
            }
        }
        // The hook first, so the call can be answered (and the hook removed) only once it is on.
        hook.withLockedValue { $0 = connection.onClose { waiters.finish(waiter) } }
        waiters.park(waiter, since: since)
        let delay = TimeAmount.milliseconds(max(1, deadline - clock()))
        MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: delay) { waiters.finish(waiter) }
    }

    /// Mail was queued or made due: the longest-waiting parked `queue.lease` asks again. One
    /// is enough: a lease that leaves work due wakes the next (`leaseQueue`).
    func wakeRelays() {
        leaseWaiters.wakeFirst()
    }

    func leaseSeconds(_ ms: Int64?) -> Int64 {
        let wanted = min(max(ms ?? config.queueLeaseMs, 1000), config.maxQueueLeaseMs)
        return (wanted + 999) / 1000
    }

    /// Recipients a lease hands out at most.
    static let maxLeaseRecipients = 1000

    func leaseQueue(_ p: QueueLeaseParams) throws -> QueueLeaseResult {
        let now = nowSeconds
        let until = now + leaseSeconds(p.leaseMs)
        let id = Credentials.base64url(Credentials.random(12))
        let excluded = Set((p.domains ?? []).map { $0.lowercased() })
        let perDomain = p.perDomain.map { max(1, $0) }
        let batch = try store.leaseQueue(
            leaseID: id, now: now, until: until, max: min(max(p.max ?? 100, 1), Self.maxLeaseRecipients), excludingDomains: excluded,
            perDomain: perDomain)
        guard let batch else {
            // When the next recipient this worker may have falls due (its busy domains aside).
            let next = try store.nextQueueDue(excludingDomains: excluded, perDomain: perDomain, now: now).map { $0 * 1000 }
            return QueueLeaseResult(lease: nil, deadline: nil, domain: nil, messages: [], nextDueAt: next)
        }
        // Another worker for what is left: wakes chain one lease at a time, not all at once.
        if batch.moreDue { wakeRelays() }
        var inline = min(max(p.inlineBytes ?? 0, 0), RPCLimits.maxChunkBytes)
        var messages: [LeasedMessage] = []
        for entry in batch.messages {
            var data: Base64Data?
            // The lease is made: a body that cannot be read now is left to `queue.read` (which
            // reports its error to the relay) rather than failing the whole lease.
            if entry.message.size <= inline,
                let read = try? store.readQueued(
                    queueID: entry.message.id, lease: id, now: now, offset: 0, length: Int(entry.message.size)),
                read.bytes.count == read.total
            {
                data = Base64Data(read.bytes)
                inline -= read.bytes.count
            }
            messages.append(
                LeasedMessage(
                    id: entry.message.id, sender: entry.message.sender, size: entry.message.size, bodyType: entry.message.bodyType,
                    smtputf8: entry.message.smtputf8, envid: entry.message.envid, ret: entry.message.ret,
                    recipients: entry.recipients.map { r in
                        LeasedRecipient(
                            recipient: r.recipient, notify: r.state.notify.map(QueueSchedule.Notify.render), orcpt: r.orcpt)
                    }, data: data))
        }
        let count = messages.reduce(0) { $0 + $1.recipients.count }
        logger.debug("lease \(id): \(count) recipients at \(batch.domain) until \(until)")
        return QueueLeaseResult(lease: id, deadline: until * 1000, domain: batch.domain, messages: messages, nextDueAt: nil)
    }

    func reportQueue(_ p: QueueReportParams) throws -> QueueReportResult {
        let now = nowSeconds
        var outcomes: [String: QueueOutcome] = [:]
        for outcome in p.outcomes {
            guard outcomes[outcome.recipient] == nil else {
                throw RPCError(.invalidParams, "\(outcome.recipient) is reported twice", field: "outcomes.recipient")
            }
            guard QueueSchedule.Result(rawValue: outcome.result) != nil else {
                throw RPCError(.invalidParams, "result must be delivered, deferred or failed", field: "outcomes.result")
            }
            outcomes[outcome.recipient] = outcome
        }
        let update = try updateQueue(p.message, recipients: Array(outcomes.keys), now: now) { recipient in
            let outcome = outcomes[recipient.recipient]!
            let result = QueueSchedule.Result(rawValue: outcome.result)!
            let attempt = QueueAttempt(
                at: now, code: outcome.code, enhancedCode: outcome.enhancedCode, text: outcome.text, remoteMTA: outcome.remoteMta)
            var step = QueueSchedule.report(recipient.state, lease: p.lease, result: result, now: now, policy: self.config.queuePolicy)
            // RFC 3461 §4.2: a server that did not take NOTIFY on gets a "relayed" report from here.
            if case .changed(let state, .delivered?) = step, outcome.dsnPassedOn == true {
                step = .changed(state, notification: nil)
            }
            return (step, attempt)
        }
        var applied: [String] = []
        var ignored: [IgnoredOutcome] = []
        for (_, recipient, step) in update.steps {
            switch step {
            case .changed: applied.append(recipient)
            case .ignored(let reason): ignored.append(IgnoredOutcome(recipient: recipient, reason: reason))
            }
        }
        let missing = p.outcomes.filter { outcome in !update.steps.contains(where: { $0.recipient == outcome.recipient }) }
        if !missing.isEmpty {
            // Finished and gone: every recipient reached a final state, so a report can only
            // repeat one already applied.
            let reason = try store.queuedMessage(id: p.message) == nil ? "no longer queued" : "not a recipient of this message"
            ignored += missing.map { IgnoredOutcome(recipient: $0.recipient, reason: reason) }
        }
        return QueueReportResult(applied: applied, ignored: ignored)
    }

    /// The scheduler's round: recipients past their lifetime fail (with a bounce), those
    /// waiting past the warning age get their delay warning. Run every `queueTickMs` and by
    /// tests directly; bounded per round.
    @discardableResult
    public func queueTick() throws -> Int {
        let now = nowSeconds
        let policy = config.queuePolicy
        var changed = 0
        for id in try store.queueIDsAgeing(now: now, warnAge: policy.delayWarning, limit: 500) {
            let attempt = QueueAttempt(at: now, enhancedCode: "4.4.7", text: QueueSchedule.expiredText)
            let update = try updateQueue(id, recipients: nil, now: now) { recipient in
                let step = QueueSchedule.tick(recipient.state, now: now, policy: policy)
                // Expiry keeps the last remote reply (more useful in the bounce) if there was one.
                if case .changed(let state, _) = step, state.status == .failed, recipient.lastAttempt == nil {
                    return (step, attempt)
                }
                return (step, nil)
            }
            changed += update.changed
        }
        return changed
    }

    /// Applies `step` to a queued message's recipients (`nil`: all) and stores the
    /// notifications it calls for, routed to the message's sender. Routing reads the directory,
    /// which cannot be done inside the store's transaction, and most changes (a delivery) need
    /// no notification: so the first try goes without, and only a change that needs one is
    /// rolled back, routed, and made again.
    func updateQueue(
        _ id: Int64, recipients: [String]?, now: Int64,
        step: (QueuedRecipient) -> (QueueSchedule.Step, QueueAttempt?)
    ) throws -> QueueUpdate {
        var bounce: Bounce?
        var routed = false
        var update: QueueUpdate
        while true {
            do {
                update = try store.updateQueue(.message(id, recipients: recipients), now: now, step: step) {
                    message, header, wholeMessage, changes in
                    guard !message.sender.isEmpty, message.origin != "bounce" else { return [] }
                    guard routed else { throw NeedsRouting(message: message) }
                    // Nil: the sender's mail goes nowhere (Bounce.prepare), so no notice is made.
                    guard var bounce else { return [] }
                    bounce.originalHeader = header
                    return try Self.notifications(
                        bounce: bounce, message: message, changes: changes, date: now, wholeMessage: wholeMessage)
                }
                break
            } catch let needs as NeedsRouting {
                // (`catch … where` crashes this compiler, swiftc 6.3.1.)
                guard !routed else { throw needs }
                routed = true
                bounce = try Bounce.prepare(
                    sender: needs.message.sender, router: router, reportingMTA: config.hostname, originalHeader: [],
                    arrivalDate: needs.message.createdAt)
            }
        }
        if update.stored.contains(where: { $0.queueID != nil }) { wakeRelays() }
        if let bounce {
            for stored in update.stored {
                for (account, placement) in zip(bounce.accounts, stored.placements) {
                    if case .stored(_, _, let uid, let modseq) = placement {
                        publish(account, .messageAdded, mailbox: "INBOX", uids: [uid], modseq: modseq)
                    }
                }
            }
        }
        for (queueID, recipient, step) in update.steps {
            guard case .changed(let state, let notification) = step, state.status.isFinal else { continue }
            let sender = bounce?.returnPath ?? ""
            let sent =
                notification.map {
                    bounce == nil ? ", no notification (null sender or a bounce)" : ", \($0.rawValue) notice to <\(sender)>"
                } ?? ""
            logger.info("queue \(queueID): <\(recipient)> \(state.status.rawValue) after \(state.attempts) attempts\(sent)")
        }
        return update
    }

    /// Thrown inside the store's transaction when a change needs a notification that has not been
    /// routed yet (`updateQueue`).
    struct NeedsRouting: Error {
        let message: QueuedMessage
    }

    /// One report per kind of notification (RFC 3464: failed, delayed, delivered/relayed), as
    /// requests to store with the change. Only the failed one returns the whole message when
    /// RET=FULL asked for it (RFC 3461 §4.3; a delay warning carries the header, as Postfix's
    /// do), read with `wholeMessage` then and only then.
    static func notifications(
        bounce: Bounce, message: QueuedMessage, changes: [QueueChange], date: Int64, wholeMessage: () throws -> [UInt8]
    ) throws -> [StoreRequest] {
        var byKind: [(DeliveryStatusNotification.Action, [DeliveryStatusNotification.Recipient])] = []
        for change in changes {
            guard let notification = change.notification else { continue }
            let recipient = dsnRecipient(change, message: message)
            let action: DeliveryStatusNotification.Action =
                switch notification {
                case .failed: .failed
                case .delayed: .delayed
                // RFC 3461 §4.2: handed to a server that did not take the request on.
                case .delivered: .relayed
                }
            if let i = byKind.firstIndex(where: { $0.0 == action }) {
                byKind[i].1.append(recipient)
            } else {
                byKind.append((action, [recipient]))
            }
        }
        return try byKind.map { action, recipients in
            var bounce = bounce
            bounce.returned = try DeliveryStatusNotification.returnedContent(
                ret: message.ret, size: message.size, failed: action == .failed, read: wholeMessage)
            return try bounce.request(
                recipients: recipients.map { r in
                    var r = r
                    r.action = action
                    return r
                }, envid: message.envid, date: date)
        }
    }

    /// The per-recipient fields for a change: the status and reply of its last attempt.
    static func dsnRecipient(_ change: QueueChange, message: QueuedMessage) -> DeliveryStatusNotification.Recipient {
        let attempt = change.recipient.lastAttempt
        let wanted: Int =
            switch change.notification {
            case .delivered?: 2
            case .delayed?: 4
            default: 5
            }
        var status = DeliveryStatusNotification.Status(wanted, 0, 0)!
        if let text = attempt?.enhancedCode, let code = EnhancedCode(text),
            let parsed = DeliveryStatusNotification.Status(wanted, code.subject, code.detail)
        {
            status = parsed
        }
        var diagnostic: String?
        if let attempt {
            diagnostic = [attempt.code.map(String.init), attempt.enhancedCode, attempt.text].compactMap { $0 }.joined(separator: " ")
            if diagnostic?.isEmpty == true { diagnostic = nil }
        }
        let orcpt = change.recipient.orcpt.map { value in
            // ORCPT is `addr-type;xtext` (RFC 3461 §4.2); the report shows the address.
            value.firstIndex(of: ";").map { String(value[value.index(after: $0)...]) } ?? value
        }
        return DeliveryStatusNotification.Recipient(
            finalRecipient: change.recipient.recipient, originalRecipient: orcpt, status: status, diagnostic: diagnostic,
            remoteMTA: attempt?.code == nil ? nil : attempt?.remoteMTA,
            willRetryUntil: change.notification == .delayed ? message.expiresAt : nil)
    }

    static func queueEntry(_ entry: (message: QueuedMessage, recipients: [QueuedRecipient])) -> RPCProtocol.QueueEntry {
        let m = entry.message
        return RPCProtocol.QueueEntry(
            id: m.id, sender: m.sender, recipients: entry.recipients.map(\.recipient), size: m.size, createdAt: m.createdAt,
            expiresAt: m.expiresAt, origin: m.origin, bodyType: m.bodyType, smtputf8: m.smtputf8, envid: m.envid, ret: m.ret,
            states: entry.recipients.map { r in
                QueueRecipientInfo(
                    recipient: r.recipient, status: r.state.status.rawValue, attempts: r.state.attempts,
                    nextAttemptAt: r.state.nextAttemptAt,
                    lastAttemptAt: r.lastAttempt?.at, lastCode: r.lastAttempt?.code, lastEnhancedCode: r.lastAttempt?.enhancedCode,
                    lastReply: r.lastAttempt?.text, remoteMta: r.lastAttempt?.remoteMTA,
                    notify: r.state.notify.map(QueueSchedule.Notify.render),
                    orcpt: r.orcpt)
            })
    }
}

extension QueueUpdate {
    var changed: Int {
        steps.reduce(0) { n, s in
            if case .changed = s.step { return n + 1 }
            return n
        }
    }
}

/// `x.y.z` of RFC 3463, as a remote server wrote it.
struct EnhancedCode {
    let statusClass: Int
    let subject: Int
    let detail: Int
    init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let c = Int(parts[0]), let s = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        statusClass = c
        subject = s
        detail = d
    }
}

extension Backend {
    /// Runs `queueTick` every `queueTickMs` on the worker pool until the back-end shuts down.
    func startQueueTicks(group: any EventLoopGroup) {
        let interval = TimeAmount.milliseconds(max(config.queueTickMs, 100))
        let task = group.next().scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            self.workers.submit { state in
                guard case .active = state else { return }
                do {
                    try self.queueTick()
                } catch {
                    self.logger.warning("queue round failed: \(error)")
                }
            }
        }
        queueTicks.withLockedValue { $0 = task }
    }
}

/// The `queue.lease` calls waiting for work. Each is parked (waiting for a wake), trying (one
/// lease attempt at a time, on the worker pool) or answered; every change happens under one
/// lock, so a wake always reaches a parked call (or the try that will see it) and a call is
/// answered once.
final class LeaseWaiters: Sendable {
    /// One waiting call; its fields are guarded by the owner's lock.
    final class Waiter: @unchecked Sendable {
        enum Phase { case parked, trying, answered }
        var id = 0
        let connection: RPCConnection
        var phase = Phase.trying
        /// Answer at the end of the try, whatever it finds (the deadline passed, or the caller left).
        var final = false
        /// `queue.unpark`: answer empty, without leasing.
        var unparked: Bool { unparkedBox.withLockedValue { $0 } }
        let unparkedBox = NIOLockedValueBox(false)
        /// Runs one try; it ends with `answered` or `foundNothing`.
        let attempt: @Sendable (Waiter) -> Void
        init(connection: RPCConnection, attempt: @escaping @Sendable (Waiter) -> Void) {
            self.connection = connection
            self.attempt = attempt
        }
    }

    enum AfterTry { case answer, parked, again }

    private let state = NIOLockedValueBox<(next: Int, wakes: Int, parked: [Int: Waiter])>((0, 0, [:]))

    /// How many wakes there have been: a try notes it when it begins.
    var wakes: Int { state.withLockedValue { $0.wakes } }

    /// Parks `waiter`, whose first try began at wake count `since`; a wake since then makes it
    /// try again at once.
    func park(_ waiter: Waiter, since: Int) {
        let run = state.withLockedValue { s -> Bool in
            s.next += 1
            waiter.id = s.next
            if s.wakes != since { return true }
            waiter.phase = .parked
            s.parked[waiter.id] = waiter
            return false
        }
        if run { waiter.attempt(waiter) }
    }

    /// The longest-parked call tries again (ids grow with time; a few dozen wait at most).
    func wakeFirst() {
        let waiter = state.withLockedValue { s -> Waiter? in
            s.wakes &+= 1
            guard let first = s.parked.min(by: { $0.key < $1.key })?.value else { return nil }
            s.parked.removeValue(forKey: first.id)
            first.phase = .trying
            return first
        }
        if let waiter { waiter.attempt(waiter) }
    }

    /// The deadline passed or the caller left: a parked call tries once more and answers; a
    /// trying one answers when its try ends.
    func finish(_ waiter: Waiter) {
        let run = state.withLockedValue { s -> Bool in
            waiter.final = true
            guard waiter.phase == .parked else { return false }
            s.parked.removeValue(forKey: waiter.id)
            waiter.phase = .trying
            return true
        }
        if run { waiter.attempt(waiter) }
    }

    /// `queue.unpark`: every call of `connection` answers empty; how many there were.
    func unpark(_ connection: RPCConnection) -> Int {
        let mine = state.withLockedValue { s in s.parked.values.filter { $0.connection === connection } }
        for waiter in mine {
            waiter.unparkedBox.withLockedValue { $0 = true }
            finish(waiter)
        }
        return mine.count
    }

    /// A try found nothing: try again (a wake came meanwhile), park the call again, or (when
    /// it is to finish) answer now.
    func foundNothing(_ waiter: Waiter, since: Int) -> AfterTry {
        state.withLockedValue { s in
            if waiter.final { return .answer }
            if s.wakes != since { return .again }
            waiter.phase = .parked
            s.parked[waiter.id] = waiter
            return .parked
        }
    }

    /// Marks the call answered; false when it already was.
    func answered(_ waiter: Waiter) -> Bool {
        state.withLockedValue { s in
            guard waiter.phase != .answered else { return false }
            waiter.phase = .answered
            s.parked.removeValue(forKey: waiter.id)
            return true
        }
    }

    var count: Int { state.withLockedValue { $0.parked.count } }
}

extension QueueLeaseResult {
    /// Nothing leased, nothing said about when to ask again.
    static let nothing = QueueLeaseResult(lease: nil, deadline: nil, domain: nil, messages: [], nextDueAt: nil)
}
