public import Backend
import Foundation
import NIOConcurrencyHelpers
public import RPCProtocol
public import RPCTransport

/// An in-process back-end on its real sockets in a fresh temporary directory, with one admin
/// and one gateway client, and the accounts most tests use. Fast password hashing and SCRAM
/// iterations, as every test wants.
public final class BackendHarness: Sendable {
    public let dir: String
    /// The back-end's clock, when the test moves time by hand; nil: the real clock.
    public let clock: ManualClock?
    let config: BackendConfig
    /// Replaced by `restart`.
    private let running: NIOLockedValueBox<Backend>
    public var backend: Backend { running.withLockedValue { $0 } }
    /// Clients reconnect by themselves, so they outlive a `restart`.
    public let admin: RPCClient
    public let gateway: RPCClient
    /// On `relay.sock`, as `loft relay` connects.
    public let relay: RPCClient

    /// The configuration tests start the back-end with (`dir` as the data directory).
    public static func configuration(_ dir: String) -> BackendConfig {
        var config = BackendConfig(dataDirectory: dir)
        config.passwordHashLog2Cost = 4
        config.scramIterations = 16
        // Fixtures use short passwords; PasswordPolicyTests checks the default of 8.
        config.minPasswordLength = 1
        return config
    }

    /// Starts the back-end; `configure` may change its configuration first. With `clock`, the
    /// back-end's time is the test's (`clock.advance`).
    public init(
        name: String = "loft-test", clock: ManualClock? = nil, configure: (inout BackendConfig) -> Void = { _ in }
    ) async throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)").path
        var config = Self.configuration(dir)
        configure(&config)
        self.config = config
        self.clock = clock
        let backend = try Self.start(config, clock: clock)
        try await backend.listen()
        running = NIOLockedValueBox(backend)
        admin = RPCClient(path: dir + "/admin.sock", software: "test")
        gateway = RPCClient(path: dir + "/gateway.sock", software: "test")
        relay = RPCClient(path: dir + "/relay.sock", software: "test")
    }

    static func start(_ config: BackendConfig, clock: ManualClock?) throws -> Backend {
        guard let clock else { return try Backend(config: config) }
        return try Backend(config: config, clock: { clock.nowMs })
    }

    /// Stops the back-end and starts it again on the same data (a crash-free restart), with
    /// its configuration changed by `configure` this time.
    public func restart(configure: (inout BackendConfig) -> Void = { _ in }) async throws {
        await backend.shutdown()
        var config = config
        configure(&config)
        let again = try Self.start(config, clock: clock)
        try await again.listen()
        running.withLockedValue { $0 = again }
        // Until each client has seen the old back-end go, its next call can still be written to
        // the closed connection and fail (`unavailable`): a ping through each, retried, makes
        // the first call of the test go to the new one.
        for client in [admin, gateway, relay] {
            var attempts = 0
            while true {
                do {
                    _ = try await client.call(Methods.ping, Empty())
                    break
                } catch {
                    attempts += 1
                    guard error.is(.unavailable), attempts < 50 else { throw error }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
        }
    }

    /// `example.test` with alice (password `alice-pw`) and bob (`bob-pw`, APOP secret `bob-apop`).
    public func addTestAccounts() async throws {
        _ = try await admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        _ = try await admin.call(Methods.accountAdd, AccountAddParams(address: "alice@example.test", password: "alice-pw"))
        _ = try await admin.call(
            Methods.accountAdd, AccountAddParams(address: "bob@example.test", password: "bob-pw", apopSecret: "bob-apop"))
    }

    /// A gateway session for `account` (by the admin's impersonation, no password needed).
    public func session(_ account: String) async throws -> String {
        try await admin.call(Methods.authImpersonate, ImpersonateParams(account: account)).session
    }

    /// Delivers `message` to `recipient` in one `delivery.submit`, as an SMTP gateway would.
    @discardableResult
    public func deliver(
        _ message: [UInt8], to recipient: String = "alice@example.test", from sender: String = "s@remote.test"
    ) async throws -> UploadCommitResult {
        try await gateway.call(
            Methods.deliverySubmit, DeliverySubmitParams(sender: sender, recipients: [recipient], data: Base64Data(message)))
    }

    /// Message `uid` of `mailbox`, whole, as stored.
    public func read(session: String, uid: UInt32, mailbox: String = "INBOX") async throws -> [UInt8] {
        var bytes: [UInt8] = []
        while true {
            let part = try await gateway.call(
                Methods.messageRead,
                MessageReadParams(session: session, mailbox: mailbox, uid: uid, offset: Int64(bytes.count), length: 1 << 20))
            bytes += part.data.bytes
            if part.data.bytes.isEmpty || bytes.count >= part.total { return bytes }
        }
    }

    /// Every message in `account`'s INBOX, whole, as stored.
    public func inbox(_ account: String) async throws -> [[UInt8]] {
        let session = try await session(account)
        let list = try await admin.call(Methods.messageList, MessageListParams(session: session, mailbox: "INBOX"))
        var messages: [[UInt8]] = []
        for message in list.messages { messages.append(try await read(session: session, uid: message.uid)) }
        return messages
    }

    /// Stops the clients and the back-end and removes the directory.
    public func close() async {
        await admin.close()
        await gateway.close()
        await relay.close()
        await backend.shutdown()
        try? FileManager.default.removeItem(atPath: dir)
    }
}

/// Runs `body` with a fresh back-end and closes it afterwards, whether `body` returns or throws.
public func withBackend<T>(
    name: String = "loft-test", configure: (inout BackendConfig) -> Void = { _ in },
    _ body: (BackendHarness) async throws -> T
) async throws -> T {
    let harness = try await BackendHarness(name: name, configure: configure)
    do {
        let result = try await body(harness)
        await harness.close()
        return result
    } catch {
        await harness.close()
        throw error
    }
}
