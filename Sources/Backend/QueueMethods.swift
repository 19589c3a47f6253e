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
                    let result = try self.leaseQueue(p)
                    guard result.lease == nil, let wait = p.waitMs, wait > 0 else { return done(.success(result)) }
                    self.park(p, wait: min(wait, Self.maxLeaseWaitMs), nextDueAt: result.nextDueAt, connection: connection, done: done)
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
                selection, now: now, step: { (QueueSchedule.retryNow($0.state, now: now), nil) }, notify: { _, _, _ in [] })
            self.wakeRelays()
            return QueueChangeResult(changed: update.changed)
        }
        blocking(Methods.queueRemove) { _, p in
            guard let entry = try self.store.queuedMessage(id: p.id) else {
                throw RPCError(.noSuchQueueEntry, "no queued message \(p.id)")
            }
            let now = self.nowSeconds
            let attempt = QueueAttempt(at: now, text: "removed from the queue by the administrator")
            let update = try self.updateQueue(entry.message, recipients: nil, now: now) { recipient in
                (QueueSchedule.remove(recipient.state, bounce: p.bounce ?? false), attempt)
            }
            return QueueChangeResult(changed: update.changed)
        }
        blocking(Methods.queueStatus) { _, _ in
            let counts = try self.store.queueCounts()
            return QueueStatusResult(
                messages: counts.messages, recipients: counts.recipients, deferred: counts.deferred, leased: counts.leased,
                oldestAt: counts.oldestAt, nextDueAt: counts.nextDueAt)
        }
    }

    /// The longest a `queue.lease` waits for work (well inside a client's call timeout).
    static let maxLeaseWaitMs: Int64 = 30_000

    /// A `queue.lease` that found nothing waits until mail is queued (`wakeRelays`), its next
    /// recipient falls due, or `wait` passes, then leases again and answers once.
    func park(
        _ p: QueueLeaseParams, wait: Int64, nextDueAt: Int64?, connection: RPCConnection,
        done: @escaping @Sendable (Result<QueueLeaseResult, any Error>) -> Void
    ) {
        let answered = NIOLockedValueBox(false)
        let id = leaseWaiters.nextID()
        let hook = NIOLockedValueBox<RPCConnection.CloseHook?>(nil)
        let wake: @Sendable () -> Void = {
            guard
                answered.withLockedValue({ was in
                    defer { was = true }; return !was
                })
            else { return }
            self.leaseWaiters.remove(id)
            if let h = hook.withLockedValue({ $0 }) { connection.removeCloseHook(h) }
            self.workers.submit { state in
                // A relay that went away (or a back-end shutting down) must not be handed work
                // no one will do: the lease is made only for a caller still there.
                guard case .active = state, !connection.isClosed else {
                    return done(.failure(RPCError(.unavailable, "the caller is gone", temporary: true)))
                }
                done(Result { try self.leaseQueue(p) })
            }
        }
        leaseWaiters.add(id, wake)
        hook.withLockedValue { $0 = connection.onClose { wake() } }
        let untilDue = nextDueAt.map { max(0, $0 - clock()) } ?? wait
        let delay = TimeAmount.milliseconds(max(1, min(wait, untilDue)))
        MultiThreadedEventLoopGroup.singleton.next().scheduleTask(in: delay) { wake() }
    }

    /// Mail was queued or made due: the relays waiting in `queue.lease` ask again.
    func wakeRelays() {
        for wake in leaseWaiters.all() { wake() }
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
        let batch = try store.leaseQueue(
            leaseID: id, now: now, until: until, max: min(max(p.max ?? 100, 1), Self.maxLeaseRecipients), excludingDomains: excluded)
        guard let batch else {
            // When the next recipient this worker may have falls due (its busy domains aside).
            let next = try store.nextQueueDue(excludingDomains: excluded).map { $0 * 1000 }
            return QueueLeaseResult(lease: nil, deadline: nil, domain: nil, messages: [], nextDueAt: next)
        }
        let messages = batch.messages.map { entry in
            LeasedMessage(
                id: entry.message.id, sender: entry.message.sender, size: entry.message.size, bodyType: entry.message.bodyType,
                smtputf8: entry.message.smtputf8, envid: entry.message.envid, ret: entry.message.ret,
                recipients: entry.recipients.map { r in
                    LeasedRecipient(
                        recipient: r.recipient, notify: r.state.notify.map(QueueSchedule.Notify.render), orcpt: r.orcpt)
                })
        }
        let count = messages.reduce(0) { $0 + $1.recipients.count }
        logger.debug("lease \(id): \(count) recipients at \(batch.domain) until \(until)")
        return QueueLeaseResult(lease: id, deadline: until * 1000, domain: batch.domain, messages: messages, nextDueAt: nil)
    }

    func reportQueue(_ p: QueueReportParams) throws -> QueueReportResult {
        guard let entry = try store.queuedMessage(id: p.message) else {
            // Finished and gone: every recipient reached a final state, so a report can only
            // repeat one already applied.
            return QueueReportResult(
                applied: [], ignored: p.outcomes.map { IgnoredOutcome(recipient: $0.recipient, reason: "no longer queued") })
        }
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
        let update = try updateQueue(entry.message, recipients: Array(outcomes.keys), now: now) { recipient in
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
        for outcome in p.outcomes where !update.steps.contains(where: { $0.recipient == outcome.recipient }) {
            ignored.append(IgnoredOutcome(recipient: outcome.recipient, reason: "not a recipient of this message"))
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
            guard let entry = try store.queuedMessage(id: id) else { continue }
            let attempt = QueueAttempt(at: now, enhancedCode: "4.4.7", text: QueueSchedule.expiredText)
            let update = try updateQueue(entry.message, recipients: nil, now: now) { recipient in
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
    /// notifications it calls for, routed to the message's sender (worked out before the
    /// transaction: routing reads the directory).
    func updateQueue(
        _ message: QueuedMessage, recipients: [String]?, now: Int64,
        step: (QueuedRecipient) -> (QueueSchedule.Step, QueueAttempt?)
    ) throws -> QueueUpdate {
        let bounce =
            message.sender.isEmpty || message.origin == "bounce"
            ? nil
            : try Bounce.prepare(
                sender: message.sender, router: router, reportingMTA: config.hostname, originalHeader: [], arrivalDate: message.createdAt)
        let update = try store.updateQueue(.message(message.id, recipients: recipients), now: now, step: step) { message, header, changes in
            guard var bounce else { return [] }
            bounce.originalHeader = header
            return try Self.notifications(bounce: bounce, message: message, changes: changes, date: now)
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
            let sent =
                notification.map {
                    bounce == nil ? ", no notification to <\(message.sender)>" : ", \($0.rawValue) notice to <\(message.sender)>"
                } ?? ""
            logger.info("queue \(queueID): <\(recipient)> \(state.status.rawValue) after \(state.attempts) attempts\(sent)")
        }
        return update
    }

    /// One report per kind of notification (RFC 3464: failed, delayed, delivered/relayed), as
    /// requests to store with the change.
    static func notifications(bounce: Bounce, message: QueuedMessage, changes: [QueueChange], date: Int64) throws -> [StoreRequest] {
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
            try bounce.request(
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

/// The `queue.lease` calls waiting for work, by id.
final class LeaseWaiters: Sendable {
    private let state = NIOLockedValueBox<(next: Int, waiting: [Int: @Sendable () -> Void])>((0, [:]))

    func nextID() -> Int {
        state.withLockedValue { s in
            s.next += 1
            return s.next
        }
    }
    func add(_ id: Int, _ wake: @escaping @Sendable () -> Void) { state.withLockedValue { $0.waiting[id] = wake } }
    func remove(_ id: Int) { state.withLockedValue { _ = $0.waiting.removeValue(forKey: id) } }
    func all() -> [@Sendable () -> Void] { state.withLockedValue { Array($0.waiting.values) } }
}
