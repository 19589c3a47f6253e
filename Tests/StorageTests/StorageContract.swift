import Foundation
import Storage
import Testing

/// StorageTests: the contract every `MailStorage` implementation must pass (DESIGN §3), written
/// against the protocols only, and the SQLite implementation's own checks (crash recovery,
/// `verify` against tampered files) in `SQLiteStoreTests`, the one file here that may look
/// inside its data directory.
///
/// An implementation runs the contract with one parameterised test over its factories and
/// `StorageContract.checks`, as `SQLiteStoreContractTests` does.

/// Opens a fresh, empty store for one check, and the same data again after it is closed.
struct StorageFactory: Sendable, CustomTestStringConvertible {
    /// `reopen` opens the data `store` had (the caller closes `store` first); `cleanup` removes it.
    typealias Opened = (store: any MailStorage, reopen: @Sendable () throws -> any MailStorage, cleanup: @Sendable () -> Void)

    let name: String
    let open: @Sendable () throws -> Opened

    var testDescription: String { name }
}

/// One behaviour of the contract, run on a fresh store.
struct ContractCheck: Sendable, CustomTestStringConvertible {
    let name: String
    let run: @Sendable (StorageUnderTest) throws -> Void

    init(_ name: String, _ run: @escaping @Sendable (StorageUnderTest) throws -> Void) {
        self.name = name
        self.run = run
    }

    var testDescription: String { name }
}

/// The store a check works on. `reopen` closes it and opens the same data: what a restart of
/// the back-end sees.
final class StorageUnderTest {
    private(set) var store: any MailStorage
    private let reopenStore: @Sendable () throws -> any MailStorage
    private let cleanup: @Sendable () -> Void

    init(_ factory: StorageFactory) throws {
        let opened = try factory.open()
        store = opened.store
        reopenStore = opened.reopen
        cleanup = opened.cleanup
    }

    func reopen() throws {
        try reopen(using: reopenStore)
    }

    /// Closes the store and opens it again with `open`, which may first change what is on
    /// disk (a crash's leftovers) or open it differently.
    func reopen(using open: () throws -> any MailStorage) throws {
        try store.close()
        store = try open()
    }

    func finish() {
        try? store.close()
        cleanup()
    }
}

enum StorageContract {
    static let checks: [ContractCheck] =
        directoryChecks + mailboxChecks + selectionChecks + searchChecks + messageChecks + bodyChecks + durabilityChecks

    /// Checks at a limit that need tens of thousands of messages: run on one configuration of
    /// each store (filling them costs seconds; the configurations differ in where bodies go,
    /// which these do not test).
    static let limitChecks: [ContractCheck] = [
        ContractCheck("uidPage at UIDSet.maxRanges: 10,000 ranges a page", uidPageAtTheRangeLimit),
        ContractCheck("search: pages of UIDSet.maxRanges ranges, in SQL and with content tests", searchPaging),
    ]

    /// Runs `check` on a fresh store from `factory`; every check must also leave the store
    /// consistent, as `verify(deep: true)` sees it.
    static func run(_ check: ContractCheck, on factory: StorageFactory) throws {
        let s = try StorageUnderTest(factory)
        defer { s.finish() }
        try check.run(s)
        #expect(try s.store.verify(deep: true) == [], "the store is inconsistent after the check")
    }
}
