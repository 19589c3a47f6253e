import Foundation
import Storage
import Testing

extension StoreOptions {
    static func inline(_ limit: Int) -> StoreOptions {
        var options = StoreOptions()
        options.inlineBodyLimit = limit
        return options
    }
}

extension StorageFactory {
    /// `SQLiteStore` in a new directory under the system's temporary directory.
    static func sqlite(_ name: String, _ options: StoreOptions) -> StorageFactory {
        // The contract's checks count an account's mailboxes from INBOX alone; the default
        // mailboxes are SQLiteStoreTests' (`newAccountsGetTheDefaultMailboxes`).
        var withoutDefaults = options
        withoutDefaults.defaultMailboxes = []
        let options = withoutDefaults
        return StorageFactory(name: name) {
            let dir = FileManager.default.temporaryDirectory.path + "/loft-storage-\(UUID().uuidString)"
            return (
                try SQLiteStore(directory: dir, options: options),
                { try SQLiteStore(directory: dir, options: options) },
                { try? FileManager.default.removeItem(atPath: dir) }
            )
        }
    }
}

/// The contract against the embedded store: with its default inline limit, a small one (so
/// that bodies stored as files are cheap), and none (every body but the empty one a file).
@Suite(.timeLimit(.minutes(2))) struct SQLiteStoreContractTests {
    static let factories: [StorageFactory] = [
        .sqlite("SQLite, 64 KiB inline", StoreOptions()),
        .sqlite("SQLite, 1 KiB inline", .inline(1024)),
        .sqlite("SQLite, nothing inline", .inline(0)),
    ]

    @Test(arguments: factories, StorageContract.checks)
    func contract(_ factory: StorageFactory, _ check: ContractCheck) throws {
        try StorageContract.run(check, on: factory)
    }

    @Test(arguments: StorageContract.limitChecks)
    func contractAtTheLimits(_ check: ContractCheck) throws {
        try StorageContract.run(check, on: Self.factories[0])
    }
}
