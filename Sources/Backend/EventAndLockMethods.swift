import RPCProtocol
import RPCTransport
import Storage

/// events.*, quota.get, lock.*.
extension Backend {
    func registerEventsAndLocks() {
        blocking(Methods.eventsSubscribe) { connection, p in
            let account = try self.account(session: p.session)
            let mailbox = try p.mailbox.map { try Self.mailboxName($0).value }
            return SubscriptionResult(
                subscription: try self.events.subscribe(
                    accountID: account.id, account: account.address, mailbox: mailbox, connection: connection))
        }
        inline(Methods.eventsUnsubscribe) { connection, p in
            guard self.events.unsubscribe(p.subscription, connection: connection) else {
                throw RPCError(.invalidParams, "no subscription \(p.subscription)", field: "subscription")
            }
            return Empty()
        }
        blocking(Methods.quotaGet) { _, p in
            let a = try self.account(session: p.session)
            return QuotaInfo(account: a.address, usedBytes: a.usedBytes, limitBytes: a.quotaBytes, messages: a.messageCount)
        }
        blocking(Methods.lockAcquire) { connection, p in
            let account = try self.accountID(session: p.session)
            guard !p.name.isEmpty, p.name.utf8.count <= 64 else {
                throw RPCError(.invalidParams, "a lock name is 1 to 64 bytes", field: "name")
            }
            let lease = min(max(p.leaseMs ?? self.config.maxLockLeaseMs, 1000), self.config.maxLockLeaseMs)
            guard let held = self.locks.acquire(key: "\(account)/\(p.name)", leaseMs: lease, nowMs: self.clock()) else {
                throw RPCError(.inUse, "the \(p.name) lock is held by another session", temporary: true)
            }
            // A lock taken through a connection is released when that connection closes, so a
            // gateway that exits cleanly frees it at once; one that hangs lets the lease run out.
            // The hook goes with the lock, so a gateway connection does not gather one per login.
            let hook = connection.onClose { [locks = self.locks] in _ = locks.release(token: held.token) }
            self.locks.attach(token: held.token) { connection.removeCloseHook(hook) }
            return LockInfo(lock: held.token, leaseMs: held.leaseMs)
        }
        inline(Methods.lockRenew) { _, p in
            guard let held = self.locks.renew(token: p.lock, nowMs: self.clock()) else {
                throw RPCError(.noSuchLock, "the lock has expired or was released")
            }
            return LockInfo(lock: held.token, leaseMs: held.leaseMs)
        }
        inline(Methods.lockRelease) { _, p in
            guard self.locks.release(token: p.lock) else { throw RPCError(.noSuchLock, "the lock has expired or was released") }
            return Empty()
        }
    }
}
