import RPCProtocol
import Storage

/// The routes of all recipients of one message, merged: each account gets one copy and each
/// remote address one queue entry however many recipients lead there; each recipient keeps the
/// indices of its own so its outcome can be told afterwards, and the accounts that refused it
/// before the commit so that a bounce can name them.
struct DeliveryPlan: Sendable {
    struct Entry: Sendable {
        var recipient: String
        /// Indices into `accounts` of the copies made for it.
        var accounts: [Int]
        /// The remote addresses it leads to (its route's), each also in `DeliveryPlan.remote`.
        var remote: [String]
        /// Its outcome when nothing takes it: the route's failure, or the first refusal.
        var refusal: RecipientOutcome?
        /// Accounts it leads to that refused the message before the commit (size, quota).
        var refused: [(account: AccountRecord, why: RecipientOutcome)]
        /// How many places it leads to: its route's local accounts and remote addresses.
        var expansions: Int
        /// It leads to more than one place (a group, an alias of several targets, a
        /// forwarding that keeps a copy): a failure there names the account, not the recipient.
        var expanded: Bool { expansions > 1 }
    }

    var accounts: [AccountRecord] = []
    var remote: [String] = []
    var perRecipient: [Entry] = []

    init(recipients: [String], size: Int64, backend: Backend, mayRelay: Bool) throws {
        var accountIndex: [Int64: Int] = [:]
        var remoteSeen = Set<String>()
        for recipient in recipients {
            let route = try backend.router.route(recipient, mayRelay: mayRelay)
            var mine: [Int] = []
            var refusal: RecipientOutcome?
            var refused: [(account: AccountRecord, why: RecipientOutcome)] = []
            if let failure = route.failure, route.isEmpty { refusal = Backend.outcome(recipient, failure) }
            for account in route.accounts {
                if let why = try backend.refusal(account, recipient: recipient, size: size) {
                    refusal = refusal ?? why
                    refused.append((account, why))
                    continue
                }
                if let i = accountIndex[account.id] {
                    mine.append(i)
                } else {
                    accountIndex[account.id] = accounts.count
                    mine.append(accounts.count)
                    accounts.append(account)
                }
            }
            for r in route.remote where remoteSeen.insert(r.lowercased()).inserted { remote.append(r) }
            perRecipient.append(
                Entry(
                    recipient: recipient, accounts: mine, remote: route.remote, refusal: refusal, refused: refused,
                    expansions: route.accounts.count + route.remote.count))
        }
    }

    func outcomes(_ stored: StoreResult) -> [RecipientOutcome] {
        perRecipient.map { entry in
            let results = entry.accounts.map { stored.placements[$0] }
            if results.contains(where: \.isStored) {
                let alsoQueued = !entry.remote.isEmpty && stored.queueID != nil
                return RecipientOutcome(recipient: entry.recipient, status: .delivered, alsoQueued: alsoQueued ? true : nil)
            }
            if !entry.remote.isEmpty && stored.queueID != nil { return RecipientOutcome(recipient: entry.recipient, status: .queued) }
            if let refusal = entry.refusal { return refusal }
            for case .failed(let error) in results { return Self.outcome(entry.recipient, error) }
            return RecipientOutcome(
                recipient: entry.recipient, status: .failed, kind: "no_such_user", message: "no such user here", temporary: false)
        }
    }

    /// A placement that failed inside the commit's transaction.
    static func outcome(_ recipient: String, _ error: StorageError) -> RecipientOutcome {
        let quota = error.kind == .quotaExceeded
        return RecipientOutcome(
            recipient: recipient, status: .failed, kind: quota ? "quota_exceeded" : "internal_error", message: error.message,
            temporary: true)
    }

    /// What failed after all, for the bounce (RFC 5321 §6.1): nothing unless some recipient
    /// was delivered or queued — only then does the client hear 250 for the message; when all
    /// fail it hears the failure instead. Then each recipient that failed, and each account a
    /// delivered one (a group, say) did not reach, once per account, in recipient order.
    func failures(_ stored: StoreResult) -> [DeliveryFailure] {
        let outcomes = outcomes(stored)
        guard outcomes.contains(where: { $0.status != .failed }) else { return [] }
        var reported = Set<Int64>()
        var failures: [DeliveryFailure] = []
        for (entry, outcome) in zip(perRecipient, outcomes) {
            var members: [(account: AccountRecord, why: RecipientOutcome)] = entry.refused
            for i in entry.accounts {
                if case .failed(let error) = stored.placements[i] { members.append((accounts[i], Self.outcome(entry.recipient, error))) }
            }
            for (account, why) in members where reported.insert(account.id).inserted {
                failures.append(
                    DeliveryFailure(
                        recipient: entry.recipient, finalRecipient: entry.expanded ? account.address : entry.recipient, outcome: why))
            }
            // A route that led nowhere (no such user, a loop, a disabled account).
            if outcome.status == .failed && members.isEmpty {
                failures.append(DeliveryFailure(recipient: entry.recipient, finalRecipient: entry.recipient, outcome: outcome))
            }
        }
        return failures
    }
}

/// One address a delivery did not reach: the envelope recipient it came through, the address
/// that failed (the recipient itself, or the account a group or alias led to), and why.
struct DeliveryFailure: Sendable, Equatable {
    var recipient: String
    var finalRecipient: String
    var outcome: RecipientOutcome
}
