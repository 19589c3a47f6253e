import Foundation
import JSONCodec
import MailCore
import MailMessage
import RPCProtocol
import Storage

/// The bounce for recipients that fail after a delivery is accepted (RFC 5321 §6.1): when a
/// commit stores a message for some recipients — so its client hears 250 — but not for others
/// (a size limit or quota that only the commit could check), a delivery status notification
/// goes to the envelope sender. It is the delivery's `StoreRequest.followUp`, stored in the
/// same transaction: a crash neither loses it nor makes it twice, and a retry with the same
/// idempotency key stores neither again.
///
/// Everything that needs the database (the sender's route, the original header) is worked out
/// before the commit; inside the transaction only the report is composed.
struct Bounce: Sendable {
    /// The envelope sender of the original message, to whom the bounce goes.
    let returnPath: String
    /// Where mail to `returnPath` goes: its accounts' INBOXes, and remote addresses queued
    /// (with the null sender, for the relay to send).
    let accounts: [AccountRecord]
    let remote: [String]
    let reportingMTA: String
    /// The original message's header, as received.
    var originalHeader: [UInt8]
    /// What a report of failures returns of the original message (RET=FULL: all of it); a
    /// report of anything else returns the header whatever this says (RFC 3461 §4.3).
    var returned: DeliveryStatusNotification.ReturnedContent = .header
    let arrivalDate: Int64
    /// Unpredictable: the report's Message-ID and the seed of its MIME boundary.
    let token: String

    /// Locally stored copies begin with the null reverse-path (RFC 5321 §4.4, §6.1).
    static let prefix = Array("Return-Path: <>\r\n".utf8)

    /// The bounce a delivery from `sender` would get, or nil when none may be sent: a null
    /// reverse-path (RFC 5321 §6.1: never), a mail system's own address (a bounce to it would
    /// only come back), or a sender whose mail goes nowhere (a local address that does not
    /// exist).
    static func prepare(
        sender: String, router: Router, reportingMTA: String, originalHeader: [UInt8], arrivalDate: Int64
    ) throws -> Bounce? {
        guard let address = EmailAddress(sender), address.localPart.lowercased() != "mailer-daemon" else { return nil }
        // The system sends it, so a remote sender is reached whatever the original client's rights.
        let route = try router.route(sender, mayRelay: true)
        guard !route.isEmpty else { return nil }
        return Bounce(
            returnPath: sender, accounts: route.accounts, remote: route.remote, reportingMTA: reportingMTA,
            originalHeader: originalHeader, arrivalDate: arrivalDate, token: Credentials.base64url(Credentials.random(15)))
    }

    /// The report on `failures`, as a request to store in the delivery's transaction; it is
    /// never bounced itself (null sender, no follow-up), and a placement of it that fails —
    /// the sender's mailbox is full too — fails alone.
    func request(reporting failures: [DeliveryFailure], date: Int64) throws -> StoreRequest {
        let report = DeliveryStatusNotification(
            reportingMTA: reportingMTA, returnPath: returnPath, arrivalDate: arrivalDate, date: date, messageID: token,
            recipients: failures.map(Self.recipient), originalHeader: originalHeader, returned: returned, boundarySeed: token)
        return store(report, date: date)
    }

    /// The report after a delivery's commit: `failures`, the envelope recipients in
    /// `delivered` that asked for a success notice (RFC 3461 §5.2.3, Action: delivered), and
    /// those in `expanded` that asked for one and were passed on to several addresses
    /// (§5.2.7.3 (c), Action: expanded; `expansions` counts them), with the ORCPT each gave.
    func request(
        reporting failures: [DeliveryFailure], delivered: [String], expanded: [(recipient: String, expansions: Int)] = [],
        dsn: DeliveryDSN?, recipients: [String], date: Int64
    ) throws -> StoreRequest {
        var orcpt: [String: String] = [:]
        for (i, r) in recipients.enumerated() {
            if let value = dsn?.recipients?[i].orcpt {
                orcpt[r.lowercased()] = value.firstIndex(of: ";").map { String(value[value.index(after: $0)...]) } ?? value
            }
        }
        var listed = failures.map { failure in
            var r = Self.recipient(failure)
            r.originalRecipient = orcpt[failure.recipient.lowercased()]
            return r
        }
        listed += delivered.map { address in
            DeliveryStatusNotification.Recipient(
                finalRecipient: address, originalRecipient: orcpt[address.lowercased()],
                status: DeliveryStatusNotification.Status(2, 0, 0)!,
                diagnostic: "250 2.0.0 delivered to the mailbox", action: .delivered)
        }
        listed += expanded.map { address, count in
            DeliveryStatusNotification.Recipient(
                finalRecipient: address, originalRecipient: orcpt[address.lowercased()],
                status: DeliveryStatusNotification.Status(2, 0, 0)!,
                diagnostic: "250 2.0.0 passed on to \(count) addresses", action: .expanded)
        }
        return try request(recipients: listed, envid: dsn?.envid, date: date)
    }

    /// A report on recipients of a queued message (failed, delayed or relayed: the first
    /// recipient's action says which), stored like the one above.
    func request(recipients: [DeliveryStatusNotification.Recipient], envid: String?, date: Int64) throws -> StoreRequest {
        let report = DeliveryStatusNotification(
            reportingMTA: reportingMTA, returnPath: returnPath, arrivalDate: arrivalDate, date: date,
            messageID: Credentials.base64url(Credentials.random(15)),
            originalEnvelopeID: envid, recipients: recipients, originalHeader: originalHeader, returned: returned,
            boundarySeed: Credentials.base64url(Credentials.random(15)))
        return store(report, date: date)
    }

    func store(_ report: DeliveryStatusNotification, date: Int64) -> StoreRequest {
        let bytes = report.encoded()
        let structure = String(decoding: MessageParser.parse(bytes).jsonBytes, as: UTF8.self)
        return StoreRequest(
            body: .inMemory(bytes), structure: structure, prefix: Self.prefix, internalDate: date,
            placements: accounts.map { Placement(accountID: $0.id, mailbox: "INBOX") }, queueSender: "", queueRecipients: remote,
            queueOptions: QueueOptions(origin: "bounce"))
    }

    static func recipient(_ failure: DeliveryFailure) -> DeliveryStatusNotification.Recipient {
        let (code, status) = Self.status(failure.outcome)
        let text = failure.outcome.message ?? "delivery failed"
        return DeliveryStatusNotification.Recipient(
            finalRecipient: failure.finalRecipient,
            expandedFrom: failure.finalRecipient == failure.recipient ? nil : failure.recipient, status: status,
            diagnostic: "\(code) \(status) \(text)")
    }

    /// The one table from a failed outcome to the reply code and RFC 3463 status its bounce
    /// reports. Always class 5, even for a failure that was temporary (a full mailbox):
    /// nothing retries a local delivery yet, so the bounce is final (`Action: failed`).
    static func status(_ outcome: RecipientOutcome) -> (code: Int, status: DeliveryStatusNotification.Status) {
        let (code, subject, detail): (Int, Int, Int) =
            switch outcome.errorKind {
            case .noSuchUser?: (550, 1, 1)
            case .accountDisabled?: (550, 2, 1)
            case .quotaExceeded?: (552, 2, 2)
            // The recipient's own limit: "message length exceeds administrative limit".
            case .tooBig?: (552, 2, 3)
            case .loopDetected?: (554, 4, 6)
            case .relayDenied?: (554, 7, 1)
            case .storageFull?: (552, 3, 1)
            default: (554, 3, 0)
            }
        return (code, DeliveryStatusNotification.Status(5, subject, detail)!)
    }
}

extension Backend {
    /// After a delivery's commit: logs the recipients that failed after acceptance and where
    /// their bounce went, and announces the bounce in the local INBOXes that took it. A
    /// bounce that no mailbox took (the sender's is full too) is only logged: it is never
    /// bounced (RFC 3464 §2).
    func bounced(_ failures: [DeliveryFailure], sender: String, bounce: Bounce?, stored: StoreResult?) {
        guard !failures.isEmpty else { return }
        let who = failures.map { "\($0.finalRecipient) (\($0.outcome.kind ?? "failed"))" }.joined(separator: ", ")
        guard let bounce, let stored else {
            // RFC 5321 §6.1: no notification to a null reverse-path; logging it is a local choice.
            logger.notice("delivery from <\(sender)> failed after acceptance for \(who); no bounce to that sender")
            return
        }
        var delivered: [String] = []
        for (account, placement) in zip(bounce.accounts, stored.placements) {
            switch placement {
            case .stored(_, _, let uid, let modseq):
                publish(account, .messageAdded, mailbox: "INBOX", uids: [uid], modseq: modseq)
                delivered.append(account.address)
            case .failed(let error):
                logger.warning("the bounce to <\(sender)> could not be stored for \(account.address): \(error.message)")
            }
        }
        if stored.queueID != nil { delivered += bounce.remote }
        if delivered.isEmpty {
            logger.warning("delivery from <\(sender)> failed after acceptance for \(who); its bounce went nowhere")
        } else {
            logger.info("delivery from <\(sender)> failed after acceptance for \(who); bounce to \(delivered.joined(separator: ", "))")
        }
    }
}
