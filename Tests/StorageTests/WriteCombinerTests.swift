import Dispatch
import Foundation
import GRDB
import Synchronization
import Testing

@testable import Storage

/// `combinedWrite`: concurrent callers share commits, each sees its own result, and one
/// caller's failure rolls back only its own change.
@Suite(.timeLimit(.minutes(1))) struct WriteCombinerTests {
    struct Refused: Error {}

    @Test func concurrentCallersCommitTogetherAndFailAlone() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/loft-combiner-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        defer { try? store.close() }
        try store.combinedWrite { db in try db.execute(sql: "CREATE TABLE scratch (n INTEGER PRIMARY KEY)") }

        let callers = 64
        let results = Mutex<[Int: Result<Int, any Error>]>([:])
        DispatchQueue.concurrentPerform(iterations: callers) { n in
            let result = Result {
                try store.combinedWrite { db -> Int in
                    try db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [n])
                    // Every seventh caller fails after writing: its row must not stay.
                    if n % 7 == 3 { throw Refused() }
                    return try Int.fetchOne(db, sql: "SELECT n FROM scratch WHERE n = ?", arguments: [n])!
                }
            }
            results.withLock { $0[n] = result }
        }
        let all = results.withLock { $0 }
        #expect(all.count == callers)
        for (n, result) in all {
            switch result {
            case .success(let value): #expect(n % 7 != 3 && value == n)
            case .failure(let error): #expect(n % 7 == 3 && error is Refused)
            }
        }
        let stored = try store.combinedWrite { db in try Int.fetchAll(db, sql: "SELECT n FROM scratch ORDER BY n") }
        #expect(stored == (0..<callers).filter { $0 % 7 != 3 })
    }

    /// Callers that arrive while a transaction runs share the next one.
    @Test func callersWaitingDuringACommitShareTheNext() throws {
        let dir = FileManager.default.temporaryDirectory.path + "/loft-combiner-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = try SQLiteStore(directory: dir)
        defer { try? store.close() }
        try store.combinedWrite { db in try db.execute(sql: "CREATE TABLE scratch (n INTEGER PRIMARY KEY)") }
        let before = store.combiner.transactions.withLock { $0 }
        let release = DispatchSemaphore(value: 0)
        let followers = 9
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            _ = try? store.combinedWrite { db in
                try db.execute(sql: "INSERT INTO scratch (n) VALUES (100)")
                release.wait()
            }
        }
        // The first caller holds its transaction open until the others are all waiting.
        while store.combiner.state.withLock({ !$0.running }) { usleep(1000) }
        for n in 0..<followers {
            DispatchQueue.global().async(group: group) {
                _ = try? store.combinedWrite { db in try db.execute(sql: "INSERT INTO scratch (n) VALUES (?)", arguments: [n]) }
            }
        }
        while store.combiner.state.withLock({ $0.pending.count < followers }) { usleep(1000) }
        release.signal()
        group.wait()
        #expect(store.combiner.transactions.withLock { $0 } - before == 2)
        #expect(try store.combinedWrite { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM scratch") } == followers + 1)
    }
}
