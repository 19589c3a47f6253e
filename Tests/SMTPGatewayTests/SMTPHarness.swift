import Backend
import Foundation
import GatewayKit
import LoftTestSupport
import Logging
import NIOCore
import NIOPosix
import RPCProtocol
import RPCTransport
import SMTPGateway

/// The shared in-process back-end (`BackendHarness`) and an SMTP gateway in front of it on
/// loopback port 0: one MX listener and one submission listener, both plain TCP (TLS is
/// covered by the interop tests with real clients).
final class SMTPHarness {
    let base: BackendHarness
    let clients: BackendClients
    /// With `faults: true`, the gateway reaches the back-end through this, so a test can make
    /// chosen calls fail.
    let proxy: FaultProxy?
    let gateway: SMTPGateway
    var mxPort = 0
    var submissionPort = 0
    var dir: String { base.dir }
    var admin: RPCClient { base.admin }

    init(faults: Bool = false, configure: (inout SMTPGatewayConfiguration) -> Void = { _ in }) async throws {
        base = try await BackendHarness(name: "loft-smtp")
        proxy = try await faults ? FaultProxy(path: base.dir + "/faults.sock", upstream: base.dir + "/gateway.sock") : nil
        clients = BackendClients(
            socketPath: proxy?.path ?? base.dir + "/gateway.sock", software: "loft-smtp-test",
            group: MultiThreadedEventLoopGroup.singleton)
        var gatewayConfig = SMTPGatewayConfiguration(
            listeners: [
                SMTPListener(Listener(host: "127.0.0.1", port: 0, tls: .none), mode: .mx),
                SMTPListener(Listener(host: "127.0.0.1", port: 0, tls: .none), mode: .submission),
            ],
            hostname: "mx.test")
        configure(&gatewayConfig)
        var logger = Logger(label: "smtp-test")
        logger.logLevel = .error
        gateway = try SMTPGateway(
            configuration: gatewayConfig, backend: clients, tls: nil, group: MultiThreadedEventLoopGroup.singleton,
            logger: logger)
        let bound = try await gateway.start()
        mxPort = bound[0].port ?? 0
        submissionPort = bound[1].port ?? 0
        try await base.addTestAccounts()
    }

    func close() async {
        await gateway.stop(grace: .zero)
        await clients.close()
        await proxy?.close()
        await base.close()
    }

    /// Every message in `account`'s INBOX, whole, as stored.
    func inbox(_ account: String) async throws -> [[UInt8]] {
        try await base.inbox(account)
    }

    func connect(_ port: Int) async throws -> SMTPTestClient {
        let client = SMTPTestClient(try await LineClient.connect(port: port))
        _ = try await client.readReply()
        return client
    }
}

/// SMTP on the shared `LineClient`: send lines, read whole (multi-line) replies as sent.
final class SMTPTestClient {
    let line: LineClient

    init(_ line: LineClient) {
        self.line = line
    }

    func send(_ text: String) async throws {
        try await line.send(text)
    }

    func send(_ bytes: [UInt8]) async throws {
        try await line.send(bytes)
    }

    /// The next reply, all its lines joined with "\n", without CRLFs; "<EOF>" when closed.
    func readReply() async throws -> String {
        var lines: [String] = []
        while true {
            guard let line = try await readLine() else { return lines.isEmpty ? "<EOF>" : lines.joined(separator: "\n") }
            lines.append(line)
            if line.count < 4 || Array(line.utf8)[3] != UInt8(ascii: "-") { return lines.joined(separator: "\n") }
        }
    }

    func readLine() async throws -> String? {
        try await line.readLine()
    }

    /// Sends one command line and returns its reply.
    func command(_ line: String) async throws -> String {
        try await send(line + "\r\n")
        return try await readReply()
    }

    func close() async {
        await line.close()
    }
}
