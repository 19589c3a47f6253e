import Backend
import Crypto
import Foundation
import GatewayKit
import LoftTestSupport
import Logging
import NIOCore
import NIOPosix
import POP3Gateway
import RPCProtocol
import RPCTransport

/// The shared in-process back-end (`BackendHarness`) and a POP3 gateway in front of it on
/// loopback port 0 (one plain listener, one STLS, one implicit TLS).
final class POP3Harness {
    let base: BackendHarness
    let clients: BackendClients
    /// With `faults: true`, the gateway reaches the back-end through this, so a test can make
    /// chosen calls fail.
    let proxy: FaultProxy?
    let gateway: POP3Gateway
    var plainPort = 0
    var stlsPort = 0
    var implicitPort = 0
    var dir: String { base.dir }
    var backend: Backend { base.backend }
    var admin: RPCClient { base.admin }
    var delivery: RPCClient { base.gateway }

    init(faults: Bool = false, configure: (inout POP3GatewayConfiguration) -> Void = { _ in }) async throws {
        base = try await BackendHarness(name: "loft-pop3")
        proxy = try await faults ? FaultProxy(path: base.dir + "/faults.sock", upstream: base.dir + "/gateway.sock") : nil
        clients = BackendClients(
            socketPath: proxy?.path ?? base.dir + "/gateway.sock", software: "loft-pop3-test",
            group: MultiThreadedEventLoopGroup.singleton)
        var gatewayConfig = POP3GatewayConfiguration(
            listeners: [
                Listener(host: "127.0.0.1", port: 0, tls: .none),
                Listener(host: "127.0.0.1", port: 0, tls: .startTLS),
                Listener(host: "127.0.0.1", port: 0, tls: .implicit),
            ],
            hostname: "pop.test")
        configure(&gatewayConfig)
        let files = try TestCertificate.write()
        var logger = Logger(label: "pop3-test")
        logger.logLevel = .error
        gateway = try POP3Gateway(
            configuration: gatewayConfig, backend: clients, tls: TLSFiles(certificate: files.certificate, key: files.key),
            group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        let bound = try await gateway.start()
        plainPort = bound[0].port ?? 0
        stlsPort = bound[1].port ?? 0
        implicitPort = bound[2].port ?? 0
        try await base.addTestAccounts()
    }

    func close() async {
        await gateway.stop(grace: .zero)
        await clients.close()
        await proxy?.close()
        await base.close()
    }

    /// Delivers `message` to `recipient` through the RPC, as an SMTP gateway would.
    func deliver(_ message: String, to recipient: String = "alice@example.test") async throws {
        let started = try await delivery.call(
            Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: [recipient]))
        _ = try await delivery.call(
            Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array(message.utf8))))
        _ = try await delivery.call(Methods.uploadCommit, UploadParams(upload: started.upload))
    }

    func connect(port: Int? = nil, tls: Bool = false) async throws -> POP3TestClient {
        POP3TestClient(try await LineClient.connect(port: port ?? plainPort, tls: tls))
    }
}

/// POP3 on the shared `LineClient`: commands are lines, and a multi-line response is read up
/// to its terminating dot.
final class POP3TestClient {
    let line: LineClient

    init(_ line: LineClient) {
        self.line = line
    }

    func send(_ command: String) async throws {
        try await line.send(command + "\r\n")
    }

    func sendRaw(_ bytes: String) async throws {
        try await line.send(bytes)
    }

    /// The next line without CRLF; nil at EOF.
    func readLine() async throws -> String? {
        try await line.readLine()
    }

    /// Sends `command` and returns the status line.
    func command(_ command: String) async throws -> String {
        try await send(command)
        return try await readLine() ?? "<EOF>"
    }

    /// Reads the body of a multi-line response up to the terminating "." line, undoing the dot
    /// stuffing, and returns it with CRLF line ends (as RFC 1939 §3 clients do).
    func readMultiLineBody() async throws -> [UInt8] {
        var body: [UInt8] = []
        while let line = try await readLine() {
            if line == "." { return body }
            let unstuffed = line.hasPrefix(".") ? String(line.dropFirst()) : line
            body += Array(unstuffed.utf8) + [13, 10]
        }
        throw POP3TestError("connection closed inside a multi-line response")
    }

    /// True when the server has closed the connection (after reading what is left).
    func isClosed() async throws -> Bool {
        (try await readLine()) == nil
    }

    func close() async {
        await line.close()
    }

    /// Puts a TLS client handler in front, after STLS's +OK.
    func startTLS() async throws {
        try await line.startTLS()
    }
}

struct POP3TestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
