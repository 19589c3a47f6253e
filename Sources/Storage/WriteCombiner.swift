import Dispatch
import GRDB
import Synchronization

/// Group commit for the store's small write transactions (a relay's leases, reports and
/// renewals): callers that arrive while one transaction is committing go together in the next,
/// each in its own savepoint, so eight relay workers reporting at once cost one WAL fsync and
/// one write of the pages they share instead of eight. Every caller still returns only after
/// the transaction that holds its change has committed (DESIGN §3), and one caller's failure
/// rolls back only its own savepoint.
///
/// Leader and followers: the first caller to find no batch running runs one with everything
/// waiting (itself first) on its own thread; the others block until their batch is done. The
/// leader then hands the lead to the first caller that arrived meanwhile, so nobody waits
/// longer than one batch behind the one it arrived during. (GRDB serialises writers but does
/// not combine them; the delivery path has its own committer, `GroupCommitter`, which also
/// installs body files, so this one stays for transactions that only touch rows.)
final class WriteCombiner: Sendable {
    /// One caller's transaction body; its fields are written by the leader before `signal` and
    /// read by the caller after it, so the semaphore orders every access. `work` is dropped
    /// before the caller is let go: it wraps a closure the caller lent without letting it
    /// escape (`withoutActuallyEscaping` checks).
    final class Job: @unchecked Sendable {
        var work: ((Database) throws -> Void)?
        /// Run after the commit, still on the writer (body files no row refers to any more are
        /// removed there, so no store can install the same file in between).
        var afterCommit: (() -> Void)?
        let signal = DispatchSemaphore(value: 0)
        var lead = false
        var failure: (any Error)?
        init(_ work: @escaping (Database) throws -> Void) { self.work = work }
    }

    struct State {
        var pending: [Job] = []
        var running = false
    }

    let state = Mutex(State())
    /// Transactions run, for tests and diagnostics.
    let transactions = Mutex(0)
    /// Callers in one transaction at most; more wait for the next.
    static let maxBatch = 64

    /// Runs `job` in a combined transaction; returns when that transaction has committed or
    /// failed (then `job.failure` says why).
    func perform(_ job: Job, pool: DatabasePool) {
        let leads = state.withLock { s -> Bool in
            s.pending.append(job)
            if s.running { return false }
            s.running = true
            return true
        }
        if !leads {
            job.signal.wait()
            guard job.lead else { return }
        }
        let batch = state.withLock { s -> [Job] in
            let n = min(s.pending.count, Self.maxBatch)
            defer { s.pending.removeFirst(n) }
            return Array(s.pending.prefix(n))
        }
        Self.run(batch, pool: pool)
        transactions.withLock { $0 += 1 }
        for done in batch {
            done.work = nil
            done.afterCommit = nil
        }
        let next = state.withLock { s -> Job? in
            guard let first = s.pending.first else {
                s.running = false
                return nil
            }
            first.lead = true
            return first
        }
        next?.signal.signal()
        for other in batch where other !== job { other.signal.signal() }
    }

    static func run(_ batch: [Job], pool: DatabasePool) {
        do {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction {
                    for job in batch {
                        do {
                            try db.inSavepoint {
                                try job.work?(db)
                                return .commit
                            }
                        } catch {
                            job.failure = error
                            // SQLite rolls the whole transaction back on some errors (a full
                            // disk, I/O): then the batch so far is lost with it.
                            if !db.isInsideTransaction { throw error }
                        }
                    }
                    return .commit
                }
                for job in batch where job.failure == nil { job.afterCommit?() }
            }
        } catch {
            for job in batch where job.failure == nil { job.failure = error }
        }
    }
}

extension SQLiteStore {
    /// A write transaction combined with concurrent callers' (`WriteCombiner`); for bodies that
    /// touch only rows and do not call back into the store. `afterCommit` gets the body's
    /// result once it has committed, still on the writer.
    func combinedWrite<T>(_ body: (Database) throws -> T, afterCommit: (@Sendable (T) -> Void)? = nil) throws -> T {
        try withoutActuallyEscaping(body) { body in
            var result: T?
            let job = WriteCombiner.Job { _ in }
            job.work = { db in
                let value = try body(db)
                result = value
                if let afterCommit { job.afterCommit = { afterCommit(value) } }
            }
            combiner.perform(job, pool: pool)
            if let failure = job.failure {
                if let error = failure as? DatabaseError { throw Self.storageError(error, "write") }
                throw failure
            }
            guard let result else { throw StorageError(.ioFailure, "write: the transaction returned nothing") }
            return result
        }
    }
}
