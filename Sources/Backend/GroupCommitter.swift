import Dispatch
import NIOConcurrencyHelpers
import Storage

/// Group commit (DESIGN §3): stores submitted while a batch is being written wait and go
/// together in the next one — one transaction and one WAL fsync (with a directory fsync per large body's folder) —
/// so throughput grows with concurrency while every caller still hears back only after its own
/// message is durable.
final class GroupCommitter: Sendable {
    typealias Completion = @Sendable (Result<StoreResult, any Error>) -> Void
    struct Item {
        let request: StoreRequest
        let completion: Completion
    }
    struct State {
        var pending: [Item] = []
        var draining = false
    }

    let store: any MailStorage
    /// Seconds since 1970: the time recorded outcomes are stamped and pruned with.
    let now: @Sendable () -> Int64
    let state = NIOLockedValueBox(State())
    let queue = DispatchQueue(label: "loft.group-commit")
    /// Messages in one transaction at most; more wait for the next.
    static let maxBatch = 512

    init(store: any MailStorage, now: @escaping @Sendable () -> Int64) {
        self.store = store
        self.now = now
    }

    func submit(_ request: StoreRequest, completion: @escaping Completion) {
        let start = state.withLockedValue { s -> Bool in
            s.pending.append(Item(request: request, completion: completion))
            if s.draining { return false }
            s.draining = true
            return true
        }
        if start { queue.async { self.drain() } }
    }

    func drain() {
        while true {
            let batch = state.withLockedValue { s -> [Item] in
                let n = min(s.pending.count, Self.maxBatch)
                let batch = Array(s.pending.prefix(n))
                s.pending.removeFirst(n)
                if batch.isEmpty { s.draining = false }
                return batch
            }
            if batch.isEmpty { return }
            do {
                let results = try store.store(batch.map(\.request), now: now())
                for (item, result) in zip(batch, results) { item.completion(.success(result)) }
            } catch {
                for item in batch { item.completion(.failure(error)) }
            }
        }
    }
}
