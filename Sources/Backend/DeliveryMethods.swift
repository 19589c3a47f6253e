import Foundation
import JSONCodec
import MailCore
import MailMessage
import RPCProtocol
import RPCTransport
import Storage

/// delivery.check, delivery.begin and upload.*: accepting a message for its recipients,
/// routing it (Router), and storing it durably before answering (DESIGN §3, §4).
extension Backend {
    var router: Router {
        var router = Router(isLocalDomain: { try self.store.isLocalDomain($0) }, lookup: { try self.store.lookup($0) })
        if config.srs {
            let srs = credentials.srs
            let today = nowSeconds / 86_400
            router.reverseSRS = { srs.reverse($0, day: today) }
        }
        return router
    }

    func registerDelivery() {
        blocking(Methods.deliveryCheck) { _, p in
            let sender = try Self.sender(p.sender)
            _ = sender
            let mayRelay = try self.mayRelay(session: p.session, trusted: p.trustedRelay)
            return try self.check(recipient: p.recipient, size: p.size, mayRelay: mayRelay)
        }
        blocking(Methods.deliveryBegin) { connection, p in
            let upload = try self.beginDelivery(
                sender: p.sender, recipients: p.recipients, session: p.session, trusted: p.trustedRelay, size: p.size,
                idempotencyKey: p.idempotencyKey, dsn: p.dsn)
            try self.uploads.add(upload, connection: connection)
            return UploadStarted(upload: upload.id, maxBytes: upload.maxBytes - upload.prefixBytes)
        }
        deferred(Methods.deliverySubmit) { _, p, reply in
            if let key = p.idempotencyKey {
                guard IdempotencyKey.isValid(key) else { return reply(.failure(Self.invalidIdempotencyKey)) }
                // In flight from the moment the call is taken, so that `delivery.outcome` asked
                // after this connection dropped waits for it rather than answering too early.
                self.deliveriesInFlight.begin(key)
            }
            let done = self.endingInFlight(p.idempotencyKey, reply)
            self.workers.submit { _ in
                do {
                    let bytes = p.data.bytes
                    guard bytes.count <= RPCLimits.maxChunkBytes else {
                        throw RPCError(
                            .invalidParams, "delivery.submit takes at most \(RPCLimits.maxChunkBytes) bytes; use delivery.begin",
                            field: "data")
                    }
                    let upload = try self.beginDelivery(
                        sender: p.sender, recipients: p.recipients, session: p.session, trusted: p.trustedRelay, size: Int64(bytes.count),
                        idempotencyKey: p.idempotencyKey, dsn: p.dsn)
                    do {
                        _ = try upload.append(bytes)
                    } catch {
                        upload.discard()
                        throw error
                    }
                    self.commit(upload, done: done)
                } catch {
                    done(.failure(error))
                }
            }
        }
        deferred(Methods.uploadAppend) { connection, p, done in
            let upload: Upload
            do {
                upload = try self.uploads.get(p.upload, connection: connection)
            } catch {
                return done(.failure(error))
            }
            upload.queue.async {
                let bytes = p.data.bytes
                guard bytes.count <= RPCLimits.maxChunkBytes else {
                    return done(.failure(RPCError(.invalidParams, "a chunk holds at most \(RPCLimits.maxChunkBytes) bytes", field: "data")))
                }
                do {
                    done(.success(UploadProgress(received: try upload.append(bytes) - upload.prefixBytes)))
                } catch {
                    done(.failure(error))
                }
            }
        }
        deferred(Methods.uploadAbort) { connection, p, done in
            guard let upload = self.uploads.remove(p.upload, connection: connection) else {
                return done(.failure(RPCError(.noSuchUpload, "no upload \(p.upload) in progress")))
            }
            upload.queue.async {
                upload.discard()
                done(.success(Empty()))
            }
        }
        deferred(Methods.uploadCommit) { connection, p, reply in
            guard let upload = self.uploads.remove(p.upload, connection: connection) else {
                return reply(.failure(RPCError(.noSuchUpload, "no upload \(p.upload) in progress")))
            }
            if let key = upload.idempotencyKey { self.deliveriesInFlight.begin(key) }
            let done = self.endingInFlight(upload.idempotencyKey, reply)
            upload.queue.async { self.commit(upload, done: done) }
        }
        deferred(Methods.deliveryOutcome) { connection, p, done in
            let key = p.idempotencyKey
            guard IdempotencyKey.isValid(key) else { return done(.failure(Self.invalidIdempotencyKey)) }
            self.deliveriesInFlight.wait(key, on: connection.channel.eventLoop) { finished in
                guard finished else {
                    return done(
                        .failure(
                            RPCError(
                                .timeout,
                                "the delivery with this key is still being committed after \(InFlightDeliveries.maxWait); ask again",
                                temporary: true)))
                }
                self.workers.submit { _ in
                    done(
                        Result {
                            guard let recorded = try self.store.recordedOutcome(key: key) else {
                                return DeliveryOutcomeResult(committed: false)
                            }
                            return DeliveryOutcomeResult(committed: true, result: try Self.decodeOutcome(recorded))
                        })
                }
            }
        }
    }

    static let invalidIdempotencyKey = RPCError(
        .invalidParams, "an idempotency key is 1 to \(IdempotencyKey.maxLength) printable ASCII characters", field: "idempotencyKey")

    /// `done`, preceded by the end of the in-flight commit with `key` (if any): the in-flight
    /// entry must be gone before the answer, and the answer comes after the transaction.
    func endingInFlight<R>(
        _ key: String?, _ done: @escaping @Sendable (Result<R, any Error>) -> Void
    ) -> @Sendable (Result<R, any Error>) -> Void {
        guard let key else { return done }
        return { result in
            self.deliveriesInFlight.end(key)
            done(result)
        }
    }

    static func encodeOutcome(_ result: UploadCommitResult) throws -> String {
        String(decoding: try JSONEncoder().encode(result), as: UTF8.self)
    }

    static func decodeOutcome(_ text: String) throws -> UploadCommitResult {
        try JSONDecoder().decode(UploadCommitResult.self, from: Data(text.utf8))
    }

    static func sender(_ text: String) throws -> String {
        if text.isEmpty || text == "<>" { return "" }
        return try address(text, field: "sender").description
    }

    func mayRelay(session: String?, trusted: Bool?) throws -> Bool {
        if trusted == true { return true }
        guard let session else { return false }
        _ = try accountID(session: session)
        return true
    }

    /// Whether the recipient would be accepted now (RCPT time, DESIGN §4).
    func check(recipient: String, size: Int64?, mayRelay: Bool) throws -> RecipientOutcome {
        _ = try Self.address(recipient, field: "recipient")
        let route = try router.route(recipient, mayRelay: mayRelay)
        if let failure = route.failure, route.isEmpty { return Self.outcome(recipient, failure) }
        let serverMax = serverMaxMessageBytes
        let size = size ?? 0
        if size > serverMax {
            return RecipientOutcome(
                recipient: recipient, status: .failed, kind: "too_big", message: "message exceeds the server's limit of \(serverMax) bytes",
                temporary: false)
        }
        var refusals: [RecipientOutcome] = []
        for account in route.accounts {
            if let refusal = try refusal(account, recipient: recipient, size: size) { refusals.append(refusal) }
        }
        // A list is refused only when no member could take the message.
        if !refusals.isEmpty && refusals.count == route.accounts.count && route.remote.isEmpty { return refusals[0] }
        do {
            try checkFreeSpace(for: size)
        } catch let error as RPCError {
            return RecipientOutcome(recipient: recipient, status: .failed, kind: error.kind, message: error.message, temporary: true)
        }
        return RecipientOutcome(recipient: recipient, status: .accepted)
    }

    /// Why an account cannot take a message of `size` bytes now, if it cannot.
    func refusal(_ account: AccountRecord, recipient: String, size: Int64) throws -> RecipientOutcome? {
        let max = try effectiveMaxMessage(account)
        if size > max {
            return RecipientOutcome(
                recipient: recipient, status: .failed, kind: "too_big", message: "message exceeds the recipient's limit of \(max) bytes",
                temporary: false)
        }
        if account.quotaBytes > 0 && account.usedBytes + size > account.quotaBytes {
            // Over quota now but it could fit once mail is deleted: temporary (452 4.2.2);
            // larger than the whole quota: it never will (552 5.2.2).
            let never = size > account.quotaBytes
            return RecipientOutcome(
                recipient: recipient, status: .failed, kind: "quota_exceeded", message: "mailbox full", temporary: !never)
        }
        return nil
    }

    static func outcome(_ recipient: String, _ failure: Route.Failure) -> RecipientOutcome {
        switch failure {
        case .noSuchUser:
            return RecipientOutcome(
                recipient: recipient, status: .failed, kind: "no_such_user", message: "no such user here", temporary: false)
        case .disabled:
            return RecipientOutcome(
                recipient: recipient, status: .failed, kind: "account_disabled", message: "mailbox disabled", temporary: false)
        case .loop:
            return RecipientOutcome(
                recipient: recipient, status: .failed, kind: "loop_detected", message: "forwarding loop", temporary: false)
        case .relayDenied:
            return RecipientOutcome(
                recipient: recipient, status: .failed, kind: "relay_denied", message: "relaying denied", temporary: false)
        }
    }

    /// Checks a delivery's envelope and starts its upload (not yet registered to a connection).
    func beginDelivery(
        sender: String, recipients: [String], session: String?, trusted: Bool?, size: Int64?, idempotencyKey: String? = nil,
        dsn: DeliveryDSN? = nil
    ) throws -> Upload {
        if let idempotencyKey, !IdempotencyKey.isValid(idempotencyKey) { throw Self.invalidIdempotencyKey }
        if let dsn { try Self.checkDSN(dsn, recipients: recipients.count) }
        let sender = try Self.sender(sender)
        guard !recipients.isEmpty else { throw RPCError(.invalidParams, "no recipients", field: "recipients") }
        guard recipients.count <= config.maxRecipientsPerMessage else {
            throw RPCError(.tooManyRecipients, "at most \(config.maxRecipientsPerMessage) recipients per message")
        }
        for (i, r) in recipients.enumerated() { _ = try Self.address(r, field: "recipients.\(i)") }
        let mayRelay = try self.mayRelay(session: session, trusted: trusted)
        let serverMax = serverMaxMessageBytes
        if let size, size > serverMax {
            throw RPCError(.tooBig, "message of \(size) bytes exceeds the server's limit of \(serverMax) bytes")
        }
        try checkFreeSpace(for: size ?? 0)
        // RFC 5321 §4.4: the delivering server records the envelope sender.
        let returnPath = Array("Return-Path: <\(sender)>\r\n".utf8)
        return try makeUpload(
            purpose: .delivery(sender: sender, recipients: recipients, mayRelay: mayRelay, idempotencyKey: idempotencyKey, dsn: dsn),
            maxBytes: serverMax, prefix: returnPath,
            announcedSize: nil)
    }

    func beginUpload(
        purpose: Upload.Purpose, maxBytes: Int64, prefix: [UInt8], announcedSize: Int64?, connection: RPCConnection
    ) throws -> UploadStarted {
        let upload = try makeUpload(purpose: purpose, maxBytes: maxBytes, prefix: prefix, announcedSize: announcedSize)
        do {
            try uploads.add(upload, connection: connection)
        } catch {
            upload.discard()
            throw error
        }
        return UploadStarted(upload: upload.id, maxBytes: maxBytes)
    }

    func makeUpload(purpose: Upload.Purpose, maxBytes: Int64, prefix: [UInt8], announcedSize: Int64?) throws -> Upload {
        let id = Credentials.base64url(Credentials.random(12))
        return Upload(
            id: id, purpose: purpose, maxBytes: maxBytes + Int64(prefix.count), body: try store.newBody(), prefix: prefix,
            announcedSize: announcedSize)
    }

    /// Runs on the upload's queue: makes the body durable (a file's fsync; an inline body is
    /// made durable by the commit), parses it once, routes it, and hands it to the group
    /// committer; answers when that commit is on disk.
    func commit(_ upload: Upload, done: @escaping @Sendable (Result<UploadCommitResult, any Error>) -> Void) {
        if let failure = upload.failure { return done(.failure(failure)) }
        guard let writer = upload.body else { return done(.failure(RPCError(.noSuchUpload, "upload \(upload.id) is finished"))) }
        upload.body = nil
        if let key = upload.idempotencyKey {
            // Committed before: answer as then, store nothing. (The store checks again inside
            // its transaction, for two commits with one key racing each other.)
            do {
                if let recorded = try store.recordedOutcome(key: key) {
                    writer.discard()
                    return done(.success(try Self.decodeOutcome(recorded)))
                }
            } catch {
                writer.discard()
                return done(.failure(error))
            }
        }
        if let announced = upload.announcedSize, announced != upload.received - upload.prefixBytes {
            writer.discard()
            return done(
                .failure(RPCError(.uploadIncomplete, "announced \(announced) bytes but received \(upload.received - upload.prefixBytes)")))
        }
        let body: PreparedBody
        let structure: String?
        let header: [UInt8]
        let returned: DeliveryStatusNotification.ReturnedContent
        do {
            body = try writer.finish()
        } catch {
            writer.discard()
            return done(.failure(error))
        }
        do {
            // The structure of the body alone: its offsets are relative to the body, which
            // copies with different prefixes share (`ParsedMessage.afterPrefix`).
            let contents = try body.contents()
            let parsed = MessageParser.parse(contents)
            structure = String(decoding: parsed.jsonBytes, as: UTF8.self)
            // For a bounce; one byte more than it returns tells it the header was longer.
            header = Array(contents.prefix(min(parsed.headerRange.upperBound, DeliveryStatusNotification.maxHeaderBytes + 1)))
            // RFC 3461 §4.3: with RET=FULL a bounce returns the whole message (it is in memory
            // now; kept only when small enough to be returned).
            let ret: String? = if case .delivery(_, _, _, _, let dsn) = upload.purpose { dsn?.ret } else { nil }
            returned = DeliveryStatusNotification.returnedContent(ret: ret, size: Int64(contents.count), failed: true) { [UInt8](contents) }
        } catch {
            body.discard()
            return done(.failure(error))
        }
        // The bytes the caller sent and their digest: the Return-Path is kept apart from the body.
        let size = body.size
        let digest = body.digest.hex
        let internalDate = nowSeconds
        switch upload.purpose {
        case .append(let accountID, let mailbox, let flags, let date):
            let request = StoreRequest(
                body: body, structure: structure, prefix: upload.prefix, internalDate: date ?? internalDate,
                placements: [Placement(accountID: accountID, mailbox: mailbox, flags: flags)])
            committer.submit(request) { result in
                done(
                    result.flatMap { stored in
                        switch stored.placements.first {
                        case .stored(_, let validity, let uid, let modseq):
                            if let account = try? self.store.account(id: accountID) {
                                self.publish(account, .messageAdded, mailbox: mailbox, uids: [uid], modseq: modseq)
                            }
                            return .success(UploadCommitResult(size: size, sha256: digest, uidValidity: validity, uid: uid))
                        case .failed(let error):
                            return .failure(error)
                        case nil:
                            return .failure(RPCError(.internalError, "nothing was stored"))
                        }
                    })
            }
        case .delivery(let sender, let recipients, let mayRelay, let idempotencyKey, let dsn):
            let plan: DeliveryPlan
            let bounce: Bounce?
            do {
                plan = try DeliveryPlan(recipients: recipients, size: size, backend: self, mayRelay: mayRelay)
                var prepared = try Bounce.prepare(
                    sender: sender, router: router, reportingMTA: config.hostname, originalHeader: header, arrivalDate: internalDate)
                prepared?.returned = returned
                bounce = prepared
            } catch {
                body.discard()
                return done(.failure(error))
            }
            let answer: @Sendable (StoreResult) -> UploadCommitResult = { stored in
                UploadCommitResult(size: size, sha256: digest, recipients: plan.outcomes(stored))
            }
            // RFC 5321 §6.1: once the client has its 250, every recipient that failed is told
            // to the sender — in the same transaction as the delivery (`Bounce`).
            var followUp: StoreRequest.FollowUp?
            if let bounce {
                let wanted = Self.requestedNotifications(recipients: recipients, dsn: dsn)
                followUp = { stored in
                    // RFC 3461 §4.1: failures unless NOTIFY leaves them out; successes when
                    // NOTIFY asks for them: of local deliveries (Action: delivered, §5.2.3) and
                    // of expansions to several addresses (Action: expanded, §5.2.7.3 (c)).
                    let failures = plan.failures(stored).filter { wanted[$0.recipient.lowercased()]?.contains(.failure) ?? true }
                    var delivered: [String] = []
                    var expanded: [(recipient: String, expansions: Int)] = []
                    for (entry, outcome) in zip(plan.perRecipient, plan.outcomes(stored))
                    where wanted[entry.recipient.lowercased()]?.contains(.success) ?? false {
                        if entry.expanded && (outcome.status == .delivered || outcome.status == .queued) {
                            expanded.append((entry.recipient, entry.expansions))
                        } else if outcome.status == .delivered {
                            delivered.append(entry.recipient)
                        }
                    }
                    guard !failures.isEmpty || !delivered.isEmpty || !expanded.isEmpty else { return nil }
                    return try bounce.request(
                        reporting: failures, delivered: delivered, expanded: expanded, dsn: dsn, recipients: recipients,
                        date: internalDate)
                }
            }
            var queueOptions = QueueOptions(lifetime: config.queuePolicy.lifetime)
            var queueSender = sender
            if !plan.remote.isEmpty {
                queueOptions = Self.queueOptions(
                    sender: sender, recipients: recipients, plan: plan, body: body, lifetime: config.queuePolicy.lifetime, dsn: dsn)
                if queueOptions.origin == "forward" { queueSender = forwardingSender(sender, recipients: recipients) }
            }
            let request = StoreRequest(
                body: body, structure: structure, prefix: upload.prefix, internalDate: internalDate,
                placements: plan.accounts.map { Placement(accountID: $0.id, mailbox: "INBOX") },
                queueSender: queueSender, queueRecipients: plan.remote, queueOptions: queueOptions,
                outcome: idempotencyKey.map { key in RecordedOutcome(key: key) { try Self.encodeOutcome(answer($0)) } },
                followUp: followUp)
            committer.submit(request) { result in
                done(
                    result.flatMap { stored in
                        if let earlier = stored.earlierOutcome { return Result { try Self.decodeOutcome(earlier) } }
                        for (account, placement) in zip(plan.accounts, stored.placements) {
                            if case .stored(_, _, let uid, let modseq) = placement {
                                self.publish(account, .messageAdded, mailbox: "INBOX", uids: [uid], modseq: modseq)
                            }
                        }
                        self.bounced(plan.failures(stored), sender: sender, bounce: bounce, stored: stored.followUp)
                        if stored.queueID != nil || stored.followUp?.queueID != nil { self.wakeRelays() }
                        let result = answer(stored)
                        BackendMetrics.delivered(result.recipients ?? [], size: size)  // not for a repeat (above)
                        return .success(result)
                    })
            }
        }
    }
}

extension Backend {
    /// What the queued copy needs to go out right: whether its body has 8-bit bytes (RFC 6152
    /// BODY=8BITMIME; the relay says so to servers that offer it), whether its envelope needs
    /// SMTPUTF8 (RFC 6531 §3.4: a non-ASCII address), and where it came from (an envelope
    /// recipient outside: submission or a trusted relay; else forwarding or a group).
    static func queueOptions(
        sender: String, recipients: [String], plan: DeliveryPlan, body: PreparedBody, lifetime: Int64, dsn: DeliveryDSN?
    ) -> QueueOptions {
        let direct = Set(plan.remote).intersection(recipients.map { $0.lowercased() })
        let eightBit = (try? body.contents())?.contains(where: { $0 >= 0x80 }) ?? false
        let utf8 = ([sender] + plan.remote).contains { $0.utf8.contains { $0 >= 0x80 } }
        var options = QueueOptions(
            origin: direct.isEmpty ? "forward" : "submission", envid: dsn?.envid, ret: dsn?.ret?.lowercased(),
            bodyType: eightBit ? "8bitmime" : "7bit", smtputf8: utf8, lifetime: lifetime)
        // Each queued address gets the NOTIFY and ORCPT of the envelope recipient that led to
        // it (`carriedDSN`); one several recipients led to, those of the first.
        let queued = Dictionary(plan.remote.map { ($0.lowercased(), $0) }, uniquingKeysWith: { first, _ in first })
        for (i, entry) in plan.perRecipient.enumerated() {
            let direct = entry.remote.count == 1 && entry.expansions == 1 && entry.remote[0].lowercased() == entry.recipient.lowercased()
            guard
                let carried = carriedDSN(
                    dsn?.recipients?[i], recipient: entry.recipient, direct: direct, expanded: entry.expanded)
            else { continue }
            for address in entry.remote {
                guard let address = queued[address.lowercased()], options.recipientDSN[address] == nil else { continue }
                options.recipientDSN[address] = carried
            }
        }
        return options
    }

    /// The NOTIFY and ORCPT a queued address gets from the envelope recipient that led to it
    /// (`given`: what its RCPT carried), by RFC 3461 §5.2.7; nil for none.
    /// - The recipient itself (`direct`): as given (§5.2.1 (c), (d)).
    /// - A single-recipient alias — an alias of one target, a forwarding that keeps no copy —
    ///   passes them on (§5.2.7.2).
    /// - A multiple-recipient alias (`expanded`: a group, an alias of several targets, a
    ///   forwarding that keeps a copy; the envelope sender stays the sender's, so none is a
    ///   "mailing list" of §5.2.7.1) passes them on to every address but takes SUCCESS out of
    ///   NOTIFY (§5.2.7.3 (c)): NOTIFY=SUCCESS becomes NEVER. The success is told once, as the
    ///   `expanded` notice for the recipient itself, at commit.
    /// Through an alias, an ORCPT the client did not give is the recipient's own address
    /// (§5.2.1 (d) allows adding one, "the recipient address from the RCPT command"), so a
    /// bounce names the address the sender wrote; only when it is printable US-ASCII (§4.2).
    static func carriedDSN(_ given: RecipientDSN?, recipient: String, direct: Bool, expanded: Bool) -> QueueOptions.RecipientDSN? {
        var notify = given?.notify.flatMap(QueueSchedule.Notify.parse)
        var orcpt = given?.orcpt
        if !direct {
            if orcpt == nil, recipient.utf8.count <= 500 - 7, recipient.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) {
                orcpt = "rfc822;" + recipient
            }
            if expanded { notify = notify.map { $0.subtracting([.success]) } }
        }
        guard notify != nil || orcpt != nil else { return nil }
        return QueueOptions.RecipientDSN(notify: notify, orcpt: orcpt)
    }

    /// The envelope sender of forwarded copies: an outside sender rewritten by SRS through the
    /// local domain that forwarded it, so the next server's SPF check sees one of ours; a
    /// local sender, or `<>`, as it is.
    func forwardingSender(_ sender: String, recipients: [String]) -> String {
        guard config.srs, let from = EmailAddress(sender), !((try? store.isLocalDomain(from.domain.name)) ?? true) else { return sender }
        guard
            let via = recipients.lazy.compactMap({ EmailAddress($0) }).first(where: {
                (try? self.store.isLocalDomain($0.domain.name)) ?? false
            })
        else { return sender }
        return credentials.srs.forward(sender, via: via.domain.name, day: nowSeconds / 86_400)
    }

    /// Per envelope recipient (lower case), the notifications it asked for; absent: none given.
    static func requestedNotifications(recipients: [String], dsn: DeliveryDSN?) -> [String: Set<QueueSchedule.Notify>] {
        var out: [String: Set<QueueSchedule.Notify>] = [:]
        for (i, recipient) in recipients.enumerated() {
            if let text = dsn?.recipients?[i].notify, let set = QueueSchedule.Notify.parse(text) { out[recipient.lowercased()] = set }
        }
        return out
    }

    /// RFC 3461's limits: one entry per recipient, NOTIFY well formed, ENVID at most 100
    /// characters (§4.4), ORCPT at most 500 (§4.2), RET FULL or HDRS (§4.3).
    static func checkDSN(_ dsn: DeliveryDSN, recipients: Int) throws {
        if let list = dsn.recipients {
            guard list.count == recipients else {
                throw RPCError(.invalidParams, "dsn.recipients must have one entry per recipient", field: "dsn.recipients")
            }
            for (i, r) in list.enumerated() {
                if let notify = r.notify, QueueSchedule.Notify.parse(notify) == nil {
                    throw RPCError(
                        .invalidParams, "NOTIFY is NEVER or a list of SUCCESS, FAILURE, DELAY", field: "dsn.recipients.\(i).notify")
                }
                if let orcpt = r.orcpt, orcpt.utf8.count > 500 || !orcpt.contains(";") {
                    throw RPCError(.invalidParams, "ORCPT is addr-type;address, at most 500 characters", field: "dsn.recipients.\(i).orcpt")
                }
            }
        }
        if let ret = dsn.ret, !["FULL", "HDRS"].contains(ret.uppercased()) {
            throw RPCError(.invalidParams, "RET is FULL or HDRS", field: "dsn.ret")
        }
        if let envid = dsn.envid, envid.utf8.count > 100 {
            throw RPCError(.invalidParams, "ENVID is at most 100 characters", field: "dsn.envid")
        }
    }
}
