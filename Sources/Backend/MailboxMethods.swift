import Foundation
import MailCore
import RPCProtocol
import RPCTransport
import Storage

/// mailbox.*: the folders of the session's account.
extension Backend {
    func registerMailboxes() {
        blocking(Methods.mailboxList) { _, p in
            let account = try self.accountID(session: p.session)
            let boxes = try self.store.mailboxes(accountID: account).filter { !(p.subscribedOnly ?? false) || $0.subscribed }
            let withStatus = p.status ?? false
            let deleted = withStatus && p.deleted == true ? try self.store.deletedCounts(accountID: account, mailboxID: nil) : nil
            return MailboxListResult(
                mailboxes: boxes.map { box in
                    var info = Self.info(box)
                    if withStatus, !box.noselect { info.status = Self.status(box, box.counts, deleted: deleted.map { $0[box.id] }) }
                    return info
                })
        }
        blocking(Methods.mailboxCreate) { _, p in
            let account = try self.account(session: p.session)
            try Self.mayManage(account)
            let name = try Self.mailboxName(p.mailbox)
            let box = try self.store.createMailbox(accountID: account.id, name: name, specialUse: try Self.specialUse(p.specialUse))
            self.publish(account, .mailboxCreated, mailbox: box.name)
            return Self.info(box)
        }
        blocking(Methods.mailboxRename) { _, p in
            let account = try self.account(session: p.session)
            try Self.mayManage(account)
            let from = try Self.mailboxName(p.from, field: "from")
            let to = try Self.mailboxName(p.to, field: "to")
            try self.store.renameMailbox(accountID: account.id, from: from, to: to)
            self.publish(account, .mailboxRenamed, mailbox: to.value, oldMailbox: from.value)
            return Empty()
        }
        blocking(Methods.mailboxDelete) { _, p in
            let account = try self.account(session: p.session)
            try Self.mayManage(account)
            let name = try Self.mailboxName(p.mailbox)
            try self.store.deleteMailbox(accountID: account.id, name: name)
            self.publish(account, .mailboxDeleted, mailbox: name.value)
            return Empty()
        }
        blocking(Methods.mailboxSubscribe) { _, p in
            let account = try self.accountID(session: p.session)
            try self.store.subscribe(accountID: account, name: try Self.mailboxName(p.mailbox), subscribed: p.subscribed)
            return Empty()
        }
        blocking(Methods.mailboxSubscriptions) { _, p in
            SubscriptionListResult(names: try self.store.subscriptions(accountID: try self.accountID(session: p.session)))
        }
        blocking(Methods.mailboxStatus) { _, p in
            let account = try self.accountID(session: p.session)
            let box = try self.selectableMailbox(account, p.mailbox)
            let deleted = p.deleted == true ? try self.store.deletedCounts(accountID: account, mailboxID: box.id) : nil
            return Self.status(box, box.counts, deleted: deleted.map { $0[box.id] })
        }
        blocking(Methods.mailboxSelect) { _, p in
            let account = try self.accountID(session: p.session)
            let selection = try self.store.select(
                accountID: account, name: try Self.mailboxName(p.mailbox), claimRecent: !(p.readOnly ?? false))
            let box = selection.mailbox
            let counts = selection.counts
            return MailboxSelectResult(
                status: Self.status(box, counts),
                keywords: selection.keywords, firstUnseenUid: selection.firstUnseenUID,
                recentUids: selection.recent.isEmpty ? nil : UIDSet(closedRanges: selection.recent), uids: selection.uids.set,
                nextAfterUid: selection.uids.nextAfterUID)
        }
    }

    /// RFC 6154 §2, less `\All` and `\Flagged`: those name virtual mailboxes, which Loft has not.
    static let specialUses = Set(SpecialUse.attributes)

    /// `specialUse` as the mailbox stores it: known attributes, once each, separated by a space;
    /// nil for none.
    static func specialUse(_ text: String?) throws -> String? {
        guard let text else { return nil }
        var uses: [String] = []
        for word in text.split(separator: " ").map(String.init) {
            // Attributes are case-insensitive (RFC 3501 §9 flag-extension); kept as RFC 6154 writes them.
            guard word.hasPrefix("\\"), let use = SpecialUse.attribute(word) else {
                throw RPCError(.invalidParams, "unsupported special use \(word); one of \(specialUses.sorted())", field: "specialUse")
            }
            if !uses.contains(use) { uses.append(use) }
        }
        return uses.isEmpty ? nil : uses.joined(separator: " ")
    }

    /// `deleted`: nil when not asked for; `.some(nil)` when asked for and there are none.
    static func status(_ box: MailboxRecord, _ counts: MailboxCounts, deleted: DeletedCounts?? = nil) -> MailboxStatus {
        var status = MailboxStatus(
            mailbox: box.name, messages: counts.messages, unseen: counts.unseen, uidNext: box.uidNext, uidValidity: box.uidValidity,
            sizeBytes: counts.sizeBytes, highestModseq: box.highestModseq, recent: counts.recent)
        if let deleted {
            status.deleted = deleted?.messages ?? 0
            status.deletedBytes = deleted?.bytes ?? 0
        }
        return status
    }

    /// The per-account setting of DESIGN §5: may clients create, rename and delete mailboxes?
    static func mayManage(_ account: AccountRecord) throws {
        guard account.mayManageMailboxes else {
            throw RPCError(.permissionDenied, "this account may not create, rename or delete mailboxes")
        }
    }

    static func info(_ b: MailboxRecord) -> MailboxInfo {
        MailboxInfo(
            name: b.name, uidValidity: b.uidValidity, subscribed: b.subscribed, specialUse: b.specialUse, noselect: b.noselect ? true : nil)
    }

    /// The mailbox by name for a method that reads its messages or counters: a `\Noselect` one
    /// is `not_selectable` (RFC 3501 §6.3.4: only its name is left).
    func selectableMailbox(_ accountID: Int64, _ name: String, field: String = "mailbox") throws -> MailboxRecord {
        let box = try store.mailbox(accountID: accountID, name: try Self.mailboxName(name, field: field))
        if box.noselect { throw RPCError(.notSelectable, "\(box.name) is only the parent of other mailboxes (\\Noselect)") }
        return box
    }

    func publish(
        _ account: AccountRecord, _ kind: MailEvent.Kind, mailbox: String, oldMailbox: String? = nil, uids: [UInt32]? = nil,
        modseq: Int64? = nil
    ) {
        events.publish(
            accountID: account.id,
            MailEvent(
                subscription: 0, account: account.address, kind: kind, mailbox: mailbox, oldMailbox: oldMailbox, uids: uids,
                modseq: modseq))
    }
}
