import Foundation
import GatewayKit
import IMAPCodec
import Logging
import MailCore
import NIOCore
import RPCProtocol
import RPCTransport

/// Runs the commands of the authenticated and selected states against the back-end (RFC 3501
/// §6.3, §6.4), one at a time (the session holds input while one runs): it owns the login, the
/// selected mailbox's view with its sequence numbers, and the event subscription that tells it
/// of other sessions' changes, which it reports as untagged responses when §7.4.1 allows.
actor IMAPCommandRunner {
    let client: RPCClient
    let events: EventRouter
    let configuration: IMAPGatewayConfiguration
    let logger: Logger
    var output: IMAPOutput?
    var login: SessionResult?
    var selected: Selected?
    var closed = false
    /// Messages the command being finished put into a mailbox (APPEND, COPY).
    var added: (mailbox: String, uids: [UInt32])?
    var idling = false
    /// RFC 7162 §3.1: a CONDSTORE enabling command was issued; FETCH responses for flag
    /// changes carry MODSEQ, SELECT reports HIGHESTMODSEQ.
    var condstore = false
    /// RFC 7162 §3.2.3: ENABLE QRESYNC was answered; VANISHED replaces EXPUNGE.
    var qresync = false
    /// RFC 9051: ENABLE IMAP4rev2 was answered. No `\Recent` and no RECENT responses (Appendix
    /// E item 12), ESEARCH for every SEARCH (§6.4.4), a LIST response in SELECT (§6.3.2), UID
    /// in every FETCH for a change (item 21), UTF-8 mailbox names (`naming`).
    var rev2 = false
    let naming: IMAPNaming
    /// A literal of this FETCH could not be read to its end after its length was written: it
    /// was padded, and the command ends NO (the stream stays well formed).
    var literalShortfall = false
    /// The tag of the command running (RFC 4731's ESEARCH names it).
    var currentTag: IMAPTag = ""
    var idleRefresher: Task<Void, Never>?
    var reportPending = false
    var pendingReport: Task<Void, Never>?

    /// Extensions advertised after IMAP4rev1 and the login capabilities: each is complete.
    static func extensions(literalMinus: Bool) -> [String] {
        // RFC 7888 §5: never both.
        [literalMinus ? "LITERAL-" : "LITERAL+"] + extensions
    }

    static let extensions = [
        "IMAP4rev2", "SASL-IR", "CHILDREN", "UIDPLUS", "MOVE", "UNSELECT", "NAMESPACE", "ID", "IDLE", "ENABLE", "LIST-EXTENDED",
        "LIST-STATUS", "SPECIAL-USE", "CREATE-SPECIAL-USE", "QUOTA", "QUOTA=RES-STORAGE",
        "CONDSTORE", "QRESYNC", "COMPRESS=DEFLATE", "ESEARCH", "SEARCHRES", "SORT", "THREAD=ORDEREDSUBJECT",
        "THREAD=REFERENCES", "BINARY", "STATUS=SIZE",
    ]

    struct Selected {
        var name: String
        var view: IMAPMailboxView
        var subscription: EventSubscription?
        var listener: Task<Void, Never>?
        /// Modseqs of this session's own flag changes, whose events it need not report.
        var ownModseqs: Set<Int64> = []
        var resync = false
        /// RFC 5182 `$`: the UIDs the last SEARCH … RETURN (SAVE) found.
        var saved: [UInt32] = []
    }

    init(client: RPCClient, events: EventRouter, configuration: IMAPGatewayConfiguration, naming: IMAPNaming, logger: Logger) {
        self.naming = naming
        self.client = client
        self.events = events
        self.configuration = configuration
        self.logger = logger
    }

    func attach(_ output: IMAPOutput) { self.output = output }

    func loggedIn(_ session: SessionResult) { login = session }

    /// The APPEND the connection ran put `uid` into `mailbox`.
    func appended(_ uid: UInt32?, to mailbox: String) {
        if let uid { added = (mailbox, [uid]) }
    }

    func close() {
        closed = true
        idleRefresher?.cancel()
        deselect()
    }

    var token: String { login?.session ?? "" }

    // MARK: - Running a command

    func run(_ tagged: IMAPTaggedCommand) async -> IMAPCompletion {
        await refreshIfNeeded()
        var out = ResponseWriter(limit: configuration.writeBatchBytes)
        let completion: IMAPCompletion
        currentTag = tagged.tag
        do {
            completion = try await execute(tagged.command, into: &out)
        } catch let error as IMAPCommandError {
            completion = error.completion
        } catch {
            completion = Self.completion(for: error, trycreate: false)
        }
        await flush(&out)
        return await finish(completion, after: tagged.command.name, uid: Self.isUID(tagged.command))
    }

    /// Reports what other sessions changed (RFC 3501 §7.4.1: no EXPUNGE after FETCH, STORE or
    /// SEARCH, whose sequence numbers the client may be using; the UID forms allow it), then
    /// gives back the completion.
    func finish(_ completion: IMAPCompletion, after command: IMAPCommandName, uid: Bool = false) async -> IMAPCompletion {
        if completion.status == .ok, let (mailbox, uids) = added, mailbox == selected?.name {
            // This session's own APPEND or COPY into the selected mailbox is reported at once
            // (RFC 3501 §6.3.11), not when its event arrives.
            selected?.view.noteAdded(uids)
        }
        added = nil
        var out = ResponseWriter(limit: configuration.writeBatchBytes)
        let expungeAllowed = uid || ![.fetch, .store, .search].contains(command)
        if completion.state != .logout, selected != nil {
            await reportChanges(expungeAllowed: expungeAllowed, into: &out)
        }
        await flush(&out)
        return completion
    }

    static func namesSequenceNumbers(_ key: IMAPSearchKey) -> Bool {
        switch key {
        case .sequence: true
        case .not(let inner): namesSequenceNumbers(inner)
        case .or(let a, let b): namesSequenceNumbers(a) || namesSequenceNumbers(b)
        case .and(let all): all.contains(where: namesSequenceNumbers)
        default: false
        }
    }

    static func isUID(_ command: IMAPCommand) -> Bool {
        switch command {
        // RFC 7162 §3.2.10.2 (and RFC 3501 §7.4.1's reason): not a UID SEARCH, SORT or THREAD
        // whose keys name message numbers, which an expunge would shift.
        case .search(_, let key, let uid, _), .sort(_, _, let key, let uid), .thread(_, _, let key, let uid):
            uid && !Self.namesSequenceNumbers(key)
        case .fetch(_, _, let uid, _), .store(_, _, let uid), .copy(_, _, let uid): uid
        default: false
        }
    }

    func flush(_ out: inout ResponseWriter) async {
        guard let buffer = out.take(), let output else { return }
        await output.write(buffer)
    }

    /// Writes what is gathered once it passes the batch size (back-pressure: waits while the
    /// client does not read).
    func emit(_ out: inout ResponseWriter) async {
        if out.isFull { await flush(&out) }
    }

    /// A token with less than a quarter of its life left is exchanged for a new one: an IMAP
    /// connection outlives the 24-hour session (Protocol §6).
    func refreshIfNeeded() async {
        guard let current = login, BackendSession.needsRefresh(current, now: Int64(Date().timeIntervalSince1970)) else { return }
        if let fresh = try? await client.call(Methods.sessionRefresh, SessionParams(session: current.session)) {
            login = fresh
        }
    }

    func execute(_ command: IMAPCommand, into out: inout ResponseWriter) async throws -> IMAPCompletion {
        switch command {
        case .noop:
            return IMAPCompletion(.ok, "NOOP completed")
        case .check:
            // RFC 3501 §6.4.1: every change is durable when it is answered; nothing to do.
            return IMAPCompletion(.ok, "CHECK completed")
        case .select(let mailbox, let parameters):
            return try await select(mailbox, parameters, readOnly: false, into: &out)
        case .examine(let mailbox, let parameters):
            return try await select(mailbox, parameters, readOnly: true, into: &out)
        case .enable(let names):
            return await enable(names, into: &out)
        case .create(let mailbox, let uses):
            var name = try requireName(mailbox)
            // RFC 3501 §6.3.3: a trailing delimiter says the name is to have children.
            while name.hasSuffix("/") { name.removeLast() }
            guard !name.isEmpty, MailboxName(name) != nil else { throw IMAPCommandError(.no, code: "CANNOT", "invalid mailbox name") }
            if name.caseInsensitiveCompare("INBOX") == .orderedSame {
                throw IMAPCommandError(.no, code: "ALREADYEXISTS", "INBOX always exists")
            }
            do {
                _ = try await client.call(
                    Methods.mailboxCreate,
                    MailboxCreateParams(session: token, mailbox: name, specialUse: uses.isEmpty ? nil : uses.joined(separator: " ")))
            } catch {
                // RFC 6154 §3: NO, and USEATTR when it is the special use that cannot be given.
                if error.knownKind == .invalidParams, error.data?.field == "specialUse" {
                    throw IMAPCommandError(.no, code: "USEATTR", error.message)
                }
                throw error
            }
            return IMAPCompletion(.ok, "CREATE completed")
        case .delete(let mailbox):
            let name = try requireName(mailbox)
            _ = try await client.call(Methods.mailboxDelete, MailboxParams(session: token, mailbox: name))
            return IMAPCompletion(.ok, "DELETE completed")
        case .rename(let from, let to):
            let source = try requireName(from)
            let target = try requireName(to)
            _ = try await client.call(Methods.mailboxRename, MailboxRenameParams(session: token, from: source, to: target))
            return IMAPCompletion(.ok, "RENAME completed")
        case .subscribe(let mailbox):
            let name = try requireName(mailbox)
            _ = try await client.call(Methods.mailboxSubscribe, MailboxSubscribeParams(session: token, mailbox: name, subscribed: true))
            return IMAPCompletion(.ok, "SUBSCRIBE completed")
        case .unsubscribe(let mailbox):
            let name = try requireName(mailbox)
            _ = try await client.call(Methods.mailboxSubscribe, MailboxSubscribeParams(session: token, mailbox: name, subscribed: false))
            return IMAPCompletion(.ok, "UNSUBSCRIBE completed")
        case .list(let command):
            return try await list(command, into: &out)
        case .lsub(let reference, let pattern):
            return try await lsub(reference: reference, pattern: pattern, into: &out)
        case .status(let mailbox, let items):
            if items.contains(.highestModseq) { await enableCondstore(into: &out) }
            return try await status(mailbox, items, into: &out)
        case .close:
            // RFC 3501 §6.4.2: expunge silently when read-write, then back to authenticated.
            if let current = selected, !current.view.readOnly {
                _ = try? await client.call(Methods.messageExpunge, MessageExpungeParams(session: token, mailbox: current.name))
            }
            deselect()
            return IMAPCompletion(.ok, "CLOSE completed", state: .authenticated)
        case .expunge:
            return try await expunge(uids: nil, into: &out)
        case .search(let charset, let key, let uid, let returns):
            return try await search(charset: charset, key: key, uid: uid, returns: returns, into: &out)
        case .sort(let criteria, let charset, let key, let uid):
            return try await sort(criteria, charset: charset, key: key, uid: uid, into: &out)
        case .thread(let algorithm, let charset, let key, let uid):
            return try await thread(algorithm, charset: charset, key: key, uid: uid, into: &out)
        case .fetch(let set, let attributes, let uid, let modifiers):
            if attributes.contains(.modseq) || modifiers.changedSince != nil { await enableCondstore(into: &out) }
            return try await fetch(set, attributes, uid: uid, modifiers: modifiers, into: &out)
        case .store(let set, let action, let uid):
            if action.unchangedSince != nil { await enableCondstore(into: &out) }
            return try await store(set, action, uid: uid, into: &out)
        case .copy(let set, let mailbox, let uid):
            return try await copy(set, to: mailbox, uid: uid, move: false, into: &out)
        case .move(let set, let mailbox, let uid):
            return try await copy(set, to: mailbox, uid: uid, move: true, into: &out)
        case .uidExpunge(let set):
            // RFC 4315 §2.1: only the named messages that carry \Deleted.
            return try await expunge(uids: try resolve(set, uid: true), into: &out)
        case .getQuota(let root):
            // RFC 9208 §3.2: one quota root per account, named "" (as mox names it).
            guard root.isEmpty else { throw IMAPCommandError(.no, code: "NONEXISTENT", "no such quota root; the account's is \"\"") }
            out.line(try await quotaLine())
            return IMAPCompletion(.ok, "GETQUOTA completed")
        case .getQuotaRoot(let mailbox):
            // §4.1.2: the mailbox need not exist; every mailbox of the account is under "".
            let name = try requireName(mailbox)
            out.line("* QUOTAROOT \(quotedMailbox(name)) \"\"")
            out.line(try await quotaLine())
            return IMAPCompletion(.ok, "GETQUOTAROOT completed")
        case .unselect:
            // RFC 3691: like CLOSE, without expunging.
            deselect()
            return IMAPCompletion(.ok, "UNSELECT completed", state: .authenticated)
        case .capability, .logout, .startTLS, .authenticate, .login, .id, .namespace, .idle, .compress:
            // The session answers these itself.
            return IMAPCompletion(.bad, "unexpected command")
        }
    }

    // MARK: - Names

    /// A mailbox name from the client, in the RPC's UTF-8 (`IMAPNaming`).
    func requireName(_ mailbox: IMAPMailbox) throws -> String {
        guard let name = naming.mailboxName(mailbox), !name.isEmpty else {
            throw IMAPCommandError(.no, code: "CANNOT", "invalid mailbox name (RFC 3501 §5.1.3)")
        }
        return name
    }

    // MARK: - Errors (STYLE §8: one place)

    /// What a back-end error is in IMAP (RFC 5530 response codes).
    static func completion(for error: any Error, trycreate: Bool) -> IMAPCompletion {
        if let error = error as? IMAPCommandError { return error.completion }
        guard let rpc = error as? RPCError else { return IMAPCompletion(.no, code: "SERVERBUG", "internal error") }
        switch rpc.knownKind {
        case .noSuchMailbox?:
            return trycreate
                ? IMAPCompletion(.no, code: "TRYCREATE", "no such mailbox") : IMAPCompletion(.no, code: "NONEXISTENT", "no such mailbox")
        case .mailboxExists?: return IMAPCompletion(.no, code: "ALREADYEXISTS", "the mailbox already exists")
        case .invalidMailboxName?: return IMAPCompletion(.no, code: "CANNOT", "invalid mailbox name: \(rpc.message)")
        case .permissionDenied?: return IMAPCompletion(.no, code: "NOPERM", "this account may not create, rename or delete mailboxes")
        case .mailboxIsInbox?: return IMAPCompletion(.no, code: "CANNOT", "INBOX cannot be deleted")
        case .invalidRename?: return IMAPCompletion(.no, code: "CANNOT", "a mailbox cannot be moved inside itself")
        case .notSelectable?: return IMAPCompletion(.no, code: "CANNOT", "the mailbox is not selectable (\\Noselect)")
        case .notEmpty?: return IMAPCompletion(.no, code: "CANNOT", "the mailbox has children")
        case .tooManyMailboxes?, .limitExceeded?: return IMAPCompletion(.no, code: "LIMIT", rpc.message)
        case .quotaExceeded?: return IMAPCompletion(.no, code: "OVERQUOTA", "quota exceeded")
        case .tooBig?: return IMAPCompletion(.no, code: "TOOBIG", "the message is too large")
        case .noSuchMessage?: return IMAPCompletion(.no, code: "EXPUNGEISSUED", "the message was expunged")
        case .storageFull?: return IMAPCompletion(.no, code: "UNAVAILABLE", "the server's storage is full, try again later")
        case .sessionInvalid?, .accountDisabled?:
            return IMAPCompletion(.no, code: "UNAVAILABLE", "the session has ended; log in again", state: .logout)
        case .invalidParams?: return IMAPCompletion(.bad, rpc.message)
        default:
            if rpc.data?.temporary == true { return IMAPCompletion(.no, code: "UNAVAILABLE", "temporary server failure, try again later") }
            return IMAPCompletion(.no, code: "SERVERBUG", "server error")
        }
    }

    // MARK: - Selection (RFC 3501 §6.3.1, §6.3.2)

    func select(
        _ mailbox: IMAPMailbox, _ parameters: [IMAPSelectParameter], readOnly: Bool, into out: inout ResponseWriter
    ) async throws -> IMAPCompletion {
        let options = try selectOptions(parameters)
        // RFC 7162 §3.2.11: a server that offers CONDSTORE says the mailbox selected before is
        // closed, enabled or not.
        if selected != nil { out.line("* OK [CLOSED] previous mailbox closed") }
        // A SELECT that fails leaves no mailbox selected (§6.3.1).
        deselect()
        if options.condstore { condstore = true }
        let name = try requireName(mailbox)
        // The subscription is made while the mailbox is read: one round trip instead of two,
        // and no change between the two is missed (a duplicate report is harmless).
        let events = events
        let session = token
        async let subscribing = try? events.subscribe(session: session, mailbox: name)
        let result: MailboxSelectResult
        do {
            result = try await client.call(Methods.mailboxSelect, MailboxSelectParams(session: token, mailbox: name, readOnly: readOnly))
        } catch {
            await subscribing?.cancelSubscription()
            var failed = Self.completion(for: error, trycreate: false)
            if failed.state == nil { failed.state = .authenticated }
            return failed
        }
        var uids = Self.expand(result.uids)
        var next = result.nextAfterUid
        do {
            while let after = next {
                let page = try await client.call(Methods.messageUids, MessageUidsParams(session: token, mailbox: name, afterUid: after))
                uids.append(contentsOf: Self.expand(page.uids))
                next = page.nextAfterUid
            }
        } catch {
            // §6.3.1: a SELECT that fails leaves nothing selected, and no subscription behind.
            await subscribing?.cancelSubscription()
            var failed = Self.completion(for: error, trycreate: false)
            if failed.state == nil { failed.state = .authenticated }
            return failed
        }
        let recent = Set(Self.expand(result.recentUids))
        let view = IMAPMailboxView(uidValidity: result.status.uidValidity, readOnly: readOnly, uids: uids, recent: recent)
        var current = Selected(name: name, view: view)
        let system = ["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"]
        let flags = (system + result.keywords).joined(separator: " ")
        out.line("* FLAGS (\(flags))")
        out.line("* \(view.count) EXISTS")
        if !rev2 { out.line("* \(recent.count) RECENT") }
        if let unseen = result.firstUnseenUid, let seq = view.sequenceNumber(of: unseen) {
            out.line("* OK [UNSEEN \(seq)] first unseen message")
        }
        out.line("* OK [UIDVALIDITY \(result.status.uidValidity)] UIDs valid")
        out.line("* OK [UIDNEXT \(result.status.uidNext)] predicted next UID")
        // RFC 3501 §7.1: `\*` says new keywords may be created.
        out.line(readOnly ? "* OK [PERMANENTFLAGS ()] read-only" : "* OK [PERMANENTFLAGS (\(flags) \\*)] flags permitted")
        // RFC 7162 §3.1.2.1.
        if condstore { out.line("* OK [HIGHESTMODSEQ \(result.status.highestModseq)] highest mailbox mod-sequence") }
        // RFC 9051 §6.3.2: the mailbox's name as the server has it, with accurate attributes.
        if rev2 {
            let mailboxes = (try? await client.call(Methods.mailboxList, MailboxListParams(session: token)).mailboxes) ?? []
            let attributes = MailboxTree(mailboxes, subscribed: []).attributes(of: name, subscribedReturned: false)
            out.line("* LIST (\(attributes.joined(separator: " "))) \"/\" \(quotedMailbox(name))")
        }
        current.subscription = await subscribing
        if let subscription = current.subscription {
            current.listener = Task { [weak self] in
                for await event in subscription {
                    await self?.received(event)
                }
            }
        }
        selected = current
        // §3.2.5: the changes since the client's state, when it is of this UIDVALIDITY.
        if let resync = options.qresync, resync.uidValidity == result.status.uidValidity {
            let known = resync.knownUIDs.flatMap(Self.uidSet)
            do {
                try await resynchronise(since: resync.modseq, within: known, into: &out)
            } catch {
                deselect()
                var failed = Self.completion(for: error, trycreate: false)
                if failed.state == nil { failed.state = .authenticated }
                return failed
            }
        }
        return IMAPCompletion(
            .ok, code: readOnly ? "READ-ONLY" : "READ-WRITE", readOnly ? "EXAMINE completed" : "SELECT completed",
            state: .selected(readOnly: readOnly))
    }

    func deselect() {
        selected?.listener?.cancel()
        selected?.subscription?.cancelSubscription()
        selected = nil
    }

    static func expand(_ set: UIDSet?) -> [UInt32] {
        guard let set else { return [] }
        var result: [UInt32] = []
        for range in set.ranges(largest: UInt32.max) { result.append(contentsOf: range) }
        return result
    }

    func requireSelected() throws -> Selected {
        guard let selected else { throw IMAPCommandError(.bad, "no mailbox selected") }
        return selected
    }

    // MARK: - IDLE (RFC 2177)

    /// From `+ idling` to DONE, changes are written as they arrive (EXPUNGE too: a command is in
    /// progress), through the event subscription, never by polling.
    func startIdle() async {
        idling = true
        await reportWhileIdle()
        let refresh = configuration.idleRefreshInterval
        idleRefresher = Task { [weak self] in
            // An IDLE may last days: the session is refreshed before its token expires.
            while !Task.isCancelled {
                try? await Task.sleep(for: refresh)
                await self?.refreshIfNeeded()
            }
        }
    }

    /// Ends IDLE once a report in progress has been written, so DONE's own report and the tagged
    /// OK come after it, in order.
    func stopIdle() async -> IMAPCompletion {
        idling = false
        idleRefresher?.cancel()
        idleRefresher = nil
        await pendingReport?.value
        pendingReport = nil
        return IMAPCompletion(.ok, "IDLE terminated")
    }

    func reportWhileIdle() async {
        guard idling, !closed else { return }
        var out = ResponseWriter(limit: configuration.writeBatchBytes)
        await reportChanges(expungeAllowed: true, into: &out)
        await flush(&out)
    }

    // MARK: - Other sessions' changes (RFC 3501 §5.2, §7.3.1, §7.4.1)

    func received(_ event: BackendEvent) async {
        defer { if idling { reportSoon() } }
        guard selected != nil else { return }
        switch event {
        case .resync:
            selected!.resync = true
        case .changed(let change):
            guard change.mailbox == selected!.name || change.oldMailbox == selected!.name else { return }
            let uids = change.uids ?? []
            switch change.kind {
            case .messageAdded: selected!.view.noteAdded(uids)
            case .messageExpunged: selected!.view.noteExpunged(uids)
            case .flagsChanged:
                if let modseq = change.modseq, selected!.ownModseqs.remove(modseq) != nil { return }
                selected!.view.noteFlagsChanged(uids)
            case .mailboxDeleted, .mailboxRenamed:
                // The mailbox went away under the session: everything in it is gone.
                selected!.view.noteCurrent([])
            case .resync:
                selected!.resync = true
            case .mailboxCreated:
                break
            }
        }
    }

    /// Events come in bursts (a delivery to a list, an expunge of many): one report for those
    /// that arrive within a few milliseconds of each other.
    func reportSoon() {
        guard !reportPending else { return }
        reportPending = true
        pendingReport = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(20))
            await self?.reportPendingNow()
        }
    }

    func reportPendingNow() async {
        reportPending = false
        await reportWhileIdle()
    }

    func reportChanges(expungeAllowed: Bool, into out: inout ResponseWriter) async {
        // `selected` is changed in place, never through a copy held across an await: events that
        // arrive meanwhile (the actor takes them while this waits) must not be overwritten.
        guard let name = selected?.name else { return }
        if selected?.resync == true, let uids = try? await allUIDs(name), selected?.name == name {
            // Cleared only once re-read: while the back-end is still restarting, the next
            // report tries again.
            selected?.resync = false
            selected?.view.noteCurrent(uids)
            // Flags may have changed unseen too.
            selected?.view.noteFlagsChanged(uids)
        }
        guard selected?.name == name, let changed = selected?.view.takeFlagChanges() else { return }
        if !changed.isEmpty {
            for set in IMAPMailboxView.uidSets(changed) {
                guard let page = try? await summaries(name, set, fields: nil) else { continue }
                for message in page {
                    guard let seq = selected?.view.sequenceNumber(of: message.uid) else { continue }
                    // A change this session made and has reported already.
                    if selected?.ownModseqs.contains(message.modseq) == true { continue }
                    let names = flagNames(message).joined(separator: " ")
                    out.line("* \(seq) FETCH (FLAGS (\(names)) UID \(message.uid)\(modseqItem(message.modseq)))")
                }
                await emit(&out)
            }
        }
        guard selected != nil else { return }
        let updates = selected!.view.takeUpdates(expungeAllowed: expungeAllowed)
        if qresync {
            for set in IMAPMailboxView.uidSets(updates.expungedUIDs) { out.line("* VANISHED \(set)") }
        } else {
            for seq in updates.expunged { out.line("* \(seq) EXPUNGE") }
        }
        if let exists = updates.exists { out.line("* \(exists) EXISTS") }
        if let recent = updates.recent, !rev2 { out.line("* \(recent) RECENT") }
    }

    func allUIDs(_ mailbox: String) async throws -> [UInt32] {
        var uids: [UInt32] = []
        var after: UInt32?
        repeat {
            let page = try await client.call(Methods.messageUids, MessageUidsParams(session: token, mailbox: mailbox, afterUid: after))
            uids.append(contentsOf: Self.expand(page.uids))
            after = page.nextAfterUid
        } while after != nil
        return uids
    }

    /// Every summary of `set` (which the caller keeps within one UIDSet), page by page.
    func summaries(_ mailbox: String, _ set: UIDSet, fields: [String]?) async throws -> [MessageSummary] {
        var result: [MessageSummary] = []
        var after: UInt32?
        repeat {
            let page = try await client.call(
                Methods.messageList,
                MessageListParams(
                    session: token, mailbox: mailbox, uids: set, limit: configuration.listPageSize, afterUid: after, fields: fields))
            result.append(contentsOf: page.messages)
            after = page.nextAfterUid
        } while after != nil
        return result
    }

    /// A mailbox name in a response, in this session's form (`IMAPNaming`).
    func quotedMailbox(_ name: String) -> String { naming.quoted(name) }

    // MARK: - STATUS (RFC 3501 §6.3.10)

    func status(_ mailbox: IMAPMailbox, _ items: [IMAPStatusItem], into out: inout ResponseWriter) async throws -> IMAPCompletion {
        let name = try requireName(mailbox)
        let status = try await client.call(
            Methods.mailboxStatus, MailboxStatusParams(session: token, mailbox: name, deleted: Self.needsDeleted(items) ? true : nil))
        out.line(statusLine(name, status, items))
        return IMAPCompletion(.ok, "STATUS completed")
    }

    /// RFC 9208 §4.2.1 and §5.1: `* QUOTA "" (STORAGE used limit)` in units of 1024 octets, or
    /// an empty list for an account without a limit.
    func quotaLine() async throws -> String {
        let quota = try await client.call(Methods.quotaGet, SessionParams(session: token))
        guard quota.limitBytes > 0 else { return "* QUOTA \"\" ()" }
        return "* QUOTA \"\" (STORAGE \(quota.usedBytes / 1024) \(quota.limitBytes / 1024))"
    }

    /// DELETED and DELETED-STORAGE cost the back-end a scan, so they are asked for only when named.
    static func needsDeleted(_ items: [IMAPStatusItem]) -> Bool { items.contains(.deleted) || items.contains(.deletedStorage) }

    /// `* STATUS name (items)`, for STATUS and LIST's STATUS return option (RFC 5819).
    func statusLine(_ name: String, _ status: MailboxStatus, _ items: [IMAPStatusItem]) -> String {
        let values = items.map { item -> String in
            switch item {
            case .messages: "MESSAGES \(status.messages)"
            case .recent: "RECENT \(status.recent ?? 0)"
            case .uidNext: "UIDNEXT \(status.uidNext)"
            case .uidValidity: "UIDVALIDITY \(status.uidValidity)"
            case .unseen: "UNSEEN \(status.unseen)"
            case .highestModseq: "HIGHESTMODSEQ \(status.highestModseq)"
            case .size: "SIZE \(status.sizeBytes)"
            case .deleted: "DELETED \(status.deleted ?? 0)"
            // RFC 9208 §5.1: in the STORAGE resource's units of 1024 octets.
            case .deletedStorage: "DELETED-STORAGE \((status.deletedBytes ?? 0) / 1024)"
            }
        }
        return "* STATUS \(quotedMailbox(name)) (\(values.joined(separator: " ")))"
    }

    // MARK: - EXPUNGE (RFC 3501 §6.4.3)

    func expunge(uids: [UInt32]?, into out: inout ResponseWriter) async throws -> IMAPCompletion {
        let current = try requireSelected()
        guard !current.view.readOnly else { throw IMAPCommandError(.no, code: "READ-ONLY", "the mailbox is read-only") }
        var removed: [UInt32] = []
        var expungeModseq: Int64?
        if let uids {
            for set in IMAPMailboxView.uidSets(uids) {
                let result = try await client.call(
                    Methods.messageExpunge, MessageExpungeParams(session: token, mailbox: current.name, uids: set))
                removed.append(contentsOf: result.expunged)
                if !result.expunged.isEmpty { expungeModseq = result.modseq }
            }
        } else {
            let result = try await client.call(Methods.messageExpunge, MessageExpungeParams(session: token, mailbox: current.name))
            removed = result.expunged
            expungeModseq = result.modseq
        }
        writeExpunged(removed, into: &out)
        // RFC 7162 §3.2.7, §3.2.9: the new HIGHESTMODSEQ once something went, with QRESYNC on.
        if qresync, !removed.isEmpty, let modseq = expungeModseq {
            return IMAPCompletion(.ok, code: "HIGHESTMODSEQ \(modseq)", "EXPUNGE completed")
        }
        return IMAPCompletion(.ok, "EXPUNGE completed")
    }

    // MARK: - Message sets

    /// The UIDs a command's set names, ascending: sequence numbers through the view, UIDs as
    /// far as the session knows them.
    func resolve(_ set: IMAPSequenceSet, uid: Bool) throws -> [UInt32] {
        let current = try requireSelected()
        // RFC 5182 §2.1: `$` is the saved messages that are still there, in either form.
        if set.isSaved { return current.saved.filter { current.view.sequenceNumber(of: $0) != nil } }
        if uid { return current.view.uids(ofUIDSet: set) }
        guard let uids = current.view.uids(ofSequenceSet: set) else {
            throw IMAPCommandError(.bad, "invalid message sequence number (the mailbox has \(current.view.count) messages)")
        }
        return uids
    }

    // MARK: - STORE (RFC 3501 §6.4.6)

    func store(
        _ set: IMAPSequenceSet, _ action: IMAPStoreAction, uid: Bool, into out: inout ResponseWriter
    ) async throws
        -> IMAPCompletion
    {
        let current = try requireSelected()
        let uids = try resolve(set, uid: uid)
        guard !current.view.readOnly else { throw IMAPCommandError(.no, code: "READ-ONLY", "the mailbox is read-only") }
        // RFC 3501 §2.3.2: \Recent cannot be changed by a client; it is ignored.
        let names = action.flags.filter { $0.caseInsensitiveCompare("\\Recent") != .orderedSame }
        guard let flags = MessageFlags(names: names) else { throw IMAPCommandError(.bad, "invalid flag in the list") }
        let operation: MessageFlagsParams.Operation =
            switch action.operation {
            case .replace: .set
            case .add: .add
            case .remove: .remove
            }
        var modified: [UInt32] = []
        for batch in IMAPMailboxView.uidSets(uids) {
            let result = try await client.call(
                Methods.messageFlags,
                MessageFlagsParams(
                    session: token, mailbox: current.name, uids: batch, operation: operation, flags: flags,
                    unchangedSince: action.unchangedSince, silent: action.silent && action.unchangedSince == nil ? true : nil))
            if let modseq = result.modseq ?? result.updated.first?.modseq { selected?.ownModseqs.insert(modseq) }
            if selected != nil, selected!.ownModseqs.count > 1000 { selected!.ownModseqs.removeAll() }
            modified.append(contentsOf: result.skipped)
            // RFC 7162 §3.1.3: with UNCHANGEDSINCE the new MODSEQ is reported even for .SILENT,
            // and for the messages the STORE did not need to change.
            guard !action.silent || action.unchangedSince != nil else { continue }
            for update in result.updated + (result.unchanged ?? []) {
                guard let seq = selected?.view.sequenceNumber(of: update.uid) else { continue }
                // §3.2.4: with QRESYNC every FETCH carries the UID.
                let uidPart = uid || qresync || rev2 ? " UID \(update.uid)" : ""
                if action.silent {
                    out.line("* \(seq) FETCH (MODSEQ (\(update.modseq))\(uidPart))")
                } else {
                    let names = flagNames(update.flags, uid: update.uid).joined(separator: " ")
                    out.line("* \(seq) FETCH (FLAGS (\(names))\(uidPart)\(modseqItem(update.modseq)))")
                }
                await emit(&out)
            }
        }
        if !modified.isEmpty {
            // §3.1.3: the messages that failed the test, as UIDs for UID STORE, else numbers.
            let numbers = uid ? modified.sorted() : modified.compactMap { selected?.view.sequenceNumber(of: $0) }.map(UInt32.init).sorted()
            return IMAPCompletion(.ok, code: "MODIFIED \(Self.uidList(numbers))", "conditional STORE failed for some messages")
        }
        return IMAPCompletion(.ok, "STORE completed")
    }

    // MARK: - COPY (RFC 3501 §6.4.7) and MOVE (RFC 6851)

    func copy(
        _ set: IMAPSequenceSet, to mailbox: IMAPMailbox, uid: Bool, move: Bool, into out: inout ResponseWriter
    ) async throws
        -> IMAPCompletion
    {
        let current = try requireSelected()
        let uids = try resolve(set, uid: uid)
        let target = try requireName(mailbox)
        var sources: [UInt32] = []
        var targets: [UInt32] = []
        var validity: UInt32 = 0
        var sourceModseq: Int64?
        do {
            for batch in IMAPMailboxView.uidSets(uids) {
                let result = try await client.call(
                    move ? Methods.messageMove : Methods.messageCopy,
                    MessageCopyParams(session: token, mailbox: current.name, uids: batch, to: target))
                sources.append(contentsOf: result.sourceUids)
                targets.append(contentsOf: result.targetUids)
                validity = result.uidValidity
                if let modseq = result.sourceModseq { sourceModseq = modseq }
            }
        } catch {
            throw IMAPCommandError(Self.completion(for: error, trycreate: true))
        }
        guard !sources.isEmpty else { return IMAPCompletion(.ok, move ? "MOVE completed" : "COPY completed") }
        added = (target, targets)
        // RFC 4315 §3: COPYUID uidvalidity source-set target-set, pairwise in order.
        let code = "COPYUID \(validity) \(Self.uidList(sources)) \(Self.uidList(targets))"
        if move {
            // RFC 6851 §4.3: COPYUID in an untagged OK, then the EXPUNGEs, then the tagged OK.
            out.line("* OK [\(code)] moved")
            writeExpunged(sources, into: &out)
            // RFC 6851 §4.4 with RFC 7162 §3.2.7: the source's new HIGHESTMODSEQ.
            if qresync, let modseq = sourceModseq { return IMAPCompletion(.ok, code: "HIGHESTMODSEQ \(modseq)", "MOVE completed") }
            return IMAPCompletion(.ok, "MOVE completed")
        }
        return IMAPCompletion(.ok, code: code, "COPY completed")
    }

    /// UIDs as a sequence set with ranges, in the order given (pairing matters for COPYUID).
    static func uidList(_ uids: [UInt32]) -> String {
        var parts: [String] = []
        var index = 0
        while index < uids.count {
            let start = uids[index]
            var end = start
            while index + 1 < uids.count, uids[index + 1] == end &+ 1 {
                index += 1
                end = uids[index]
            }
            parts.append(start == end ? "\(start)" : "\(start):\(end)")
            index += 1
        }
        return parts.joined(separator: ",")
    }
}

/// A command's failure with the IMAP answer it gets.
struct IMAPCommandError: Error {
    var completion: IMAPCompletion
    init(_ status: IMAPCompletion.Status, code: String? = nil, _ text: String) {
        completion = IMAPCompletion(status, code: code, text)
    }
    init(_ completion: IMAPCompletion) { self.completion = completion }
}

/// Untagged responses gathered for one write.
struct ResponseWriter {
    let limit: Int
    var buffer = ByteBuffer()
    init(limit: Int) { self.limit = limit }

    mutating func line(_ text: String) {
        buffer.writeString(text)
        buffer.writeString("\r\n")
    }

    mutating func text(_ text: String) {
        buffer.writeString(text)
    }

    mutating func bytes(_ bytes: ByteBuffer) {
        var bytes = bytes
        buffer.writeBuffer(&bytes)
    }

    var isFull: Bool { buffer.readableBytes >= limit }

    mutating func take() -> ByteBuffer? {
        guard buffer.readableBytes > 0 else { return nil }
        defer { buffer = ByteBuffer() }
        return buffer
    }
}
