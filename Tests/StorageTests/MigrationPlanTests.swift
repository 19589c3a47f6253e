import Crypto
import Foundation
import GRDB
import Storage
import Testing

/// `loft backend --check` (issue 14): what opening a data directory would migrate, found
/// without changing a byte there; a database a newer Loft migrated is named as such, and the
/// store refuses to open it.
@Suite struct MigrationPlanTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// Every file under `dir` with its SHA-256.
    static func contents(_ dir: String) throws -> [String: String] {
        var out: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: dir)
        while let name = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir + "/" + name, isDirectory: &isDirectory), !isDirectory.boolValue else {
                continue
            }
            out[name] = SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name))).description
        }
        return out
    }

    @Test func aV1StoreListsEveryMigrationAndIsLeftAsFound() throws {
        let dir = NSTemporaryDirectory() + "loft-plan-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: Self.fixtures.appendingPathComponent("store-v1").path, toPath: dir)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let before = try Self.contents(dir)
        let plan = try SQLiteStore.migrationPlan(directory: dir)
        #expect(try Self.contents(dir) == before, "nothing written, nothing added")
        #expect(plan.exists && plan.applied == ["v1"] && plan.unknown.isEmpty)
        #expect(plan.pending.map(\.id) == (2...9).map { "v\($0)" } && plan.current == "v9")
        #expect(plan.pending.allSatisfy { !$0.summary.isEmpty })

        try SQLiteStore(directory: dir).close()  // the upgrade itself
        let after = try SQLiteStore.migrationPlan(directory: dir)
        #expect(after.pending.isEmpty && after.applied.count == 9)

        // A newer Loft's migration: named, and the store will not open on it.
        let queue = try DatabaseQueue(path: dir + "/" + SQLiteStore.databaseName)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v10')") }
        try queue.close()
        #expect(try SQLiteStore.migrationPlan(directory: dir).unknown == ["v10"])
        #expect(throws: StorageError.self) { try SQLiteStore(directory: dir) }
    }

    @Test func noDatabaseMeansANewStore() throws {
        let plan = try SQLiteStore.migrationPlan(directory: NSTemporaryDirectory() + "loft-none-\(UUID().uuidString)")
        #expect(!plan.exists && plan.pending.isEmpty && plan.current == "v9")
    }
}
