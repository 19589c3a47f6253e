import LoftTestSupport
import NIOCore
import NIOPosix
import NIOSSL
import SMTPCodec
import Testing

@testable import Relay

/// The relay's SMTP client against a scripted server on loopback. Results only, never elapsed
/// time: the machine is loaded.
@Suite(.serialized) struct SMTPClientConnectionTests {
    static let group = MultiThreadedEventLoopGroup.singleton

    static func configuration(
        tls: SMTPClientTLSPolicy = .none, caFile: String? = nil, timeouts: SMTPClientTimeouts = .all(.seconds(90))
    ) -> SMTPClientConfiguration {
        SMTPClientConfiguration(heloName: "relay.test", tls: tls, caFile: caFile, connectTimeout: .seconds(60), timeouts: timeouts)
    }

    static func open(
        _ server: FakeSMTPServer, host: String = "localhost", _ configuration: SMTPClientConfiguration = configuration()
    ) async throws -> SMTPClientConnection {
        try await SMTPClientConnection.open(host: host, address: "127.0.0.1", port: server.port, configuration: configuration, group: group)
    }

    static func mailbox(_ text: String) -> Mailbox {
        let at = text.lastIndex(of: "@")!
        return Mailbox(localPart: String(text[..<at]), domain: String(text[text.index(after: at)...]))
    }

    static func envelope(_ recipients: [String] = ["bob@example.net"], size: Int = 100, body: BodyType = .sevenBit) -> OutboundEnvelope {
        OutboundEnvelope(
            sender: .mailbox(mailbox("alice@example.org")), recipients: recipients.map { OutboundRecipient(mailbox($0)) }, size: size,
            body: body)
    }

    /// Serves `bytes` in chunks of `chunk` octets.
    static func source(_ bytes: [UInt8], chunk: Int = 7) -> SMTPClientBodySource {
        { offset in
            let start = Int(offset)
            guard start < bytes.count else { return nil }
            return Array(bytes[start..<min(start + chunk, bytes.count)])
        }
    }

    static func source(_ text: String, chunk: Int = 7) -> SMTPClientBodySource { source(Array(text.utf8), chunk: chunk) }

    static let tlsContext: NIOSSLContext = {
        let certificate = try! NIOSSLCertificate(bytes: Array(TestCertificate.certificatePEM.utf8), format: .pem)
        let key = try! NIOSSLPrivateKey(bytes: Array(TestCertificate.keyPEM.utf8), format: .pem)
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(certificate)], privateKey: .privateKey(key))
        return try! NIOSSLContext(configuration: configuration)
    }()

    // MARK: - Messages

    @Test func theBodyArrivesByteExactAfterUnstuffing() async throws {
        let server = try await FakeSMTPServer(FakeSMTPServer.Script())
        let body =
            "From: alice@example.org\r\nSubject: dots\r\n\r\n.one leading dot\r\n..two\r\n.\r\nnot the end\r\n"
            + String(repeating: "x", count: 5000) + "\r\n"
        let connection = try await Self.open(server)
        #expect(connection.isReusable)
        #expect(connection.remoteGreeting == "mx.test ESMTP fake")
        #expect(connection.capabilities.extensions.contains(.pipelining))
        let results = await connection.deliver(Self.envelope(size: body.utf8.count), body: Self.source(body))
        #expect(results.map(\.result) == [.delivered])
        #expect(results.first?.remoteMTA == "localhost")
        #expect(results.first?.replyCode == 250)
        #expect(results.first?.enhancedCode == .init(2, 0, 0))
        #expect(results.first?.text == "Queued")
        #expect(server.record.messages == [Array(body.utf8)])
        await connection.quit()
        #expect(server.record.commands[0].last == "QUIT")
        await server.stop()
    }

    @Test func pipelinedCommandsWithOneRecipientRefused() async throws {
        var script = FakeSMTPServer.Script()
        script.holdRepliesUntilData = true
        script.rcpt = { $0.contains("<nobody@") ? "550 5.1.1 No such user\r\n" : "250 2.1.5 OK\r\n" }
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server)
        let results = await connection.deliver(
            Self.envelope(["a@example.net", "nobody@example.net", "c@example.net"]), body: Self.source("Hi\r\n"))
        #expect(results.map(\.result) == [.delivered, .failed, .delivered])
        #expect(results[1].replyCode == 550)
        #expect(results[1].enhancedCode == .init(5, 1, 1))
        #expect(
            server.record.commands[0] == [
                "EHLO relay.test", "MAIL FROM:<alice@example.org> SIZE=100", "RCPT TO:<a@example.net>", "RCPT TO:<nobody@example.net>",
                "RCPT TO:<c@example.net>", "DATA",
            ])
        await connection.quit()
        await server.stop()
    }

    @Test func oneAtATimeWithoutPipelining() async throws {
        var script = FakeSMTPServer.Script()
        script.keywords = []
        script.rcpt = { $0.contains("<later@") ? "451 4.2.1 Try later\r\n" : "250 OK\r\n" }
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server)
        let results = await connection.deliver(Self.envelope(["a@example.net", "later@example.net"]), body: Self.source("Hi\r\n"))
        #expect(results.map(\.result) == [.delivered, .deferred])
        #expect(results[1].enhancedCode == .init(4, 2, 1))
        #expect(server.record.messages.count == 1)
        await connection.quit()
        await server.stop()
    }

    @Test(arguments: [("451 4.3.0 Disk full\r\n", DeliveryStatus.deferred), ("554 5.7.1 Spam\r\n", .failed)])
    func aNegativeReplyAfterTheDot(reply: String, status: DeliveryStatus) async throws {
        var script = FakeSMTPServer.Script()
        script.endOfData = { _ in reply }
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server)
        let results = await connection.deliver(Self.envelope(["a@example.net", "b@example.net"]), body: Self.source("Hi\r\n"))
        #expect(results.map(\.result) == [status, status])
        #expect(connection.isReusable)
        await connection.quit()
        await server.stop()
    }

    @Test func aSecondEnvelopeOnTheSameConnection() async throws {
        var script = FakeSMTPServer.Script()
        script.rcpt = { $0.contains("<nobody@") ? "550 5.1.1 No\r\n" : "250 OK\r\n" }
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server)
        let refused = await connection.deliver(Self.envelope(["nobody@example.net"]), body: Self.source("One\r\n"))
        #expect(refused.map(\.result) == [.failed])
        #expect(connection.isReusable)
        let first = await connection.deliver(Self.envelope(), body: Self.source("Two\r\n"))
        let second = await connection.deliver(Self.envelope(["carol@example.net"]), body: Self.source("Three\r\n"))
        #expect(first.map(\.result) == [.delivered])
        #expect(second.map(\.result) == [.delivered])
        #expect(server.record.connections == 1)
        #expect(server.record.messages == [Array("Two\r\n".utf8), Array("Three\r\n".utf8)])
        #expect(server.record.commands[0].contains("RSET"))
        await connection.quit()
        await server.stop()
    }

    @Test func binaryMIMEGoesThroughBDAT() async throws {
        var script = FakeSMTPServer.Script()
        script.keywords = ["PIPELINING", "CHUNKING", "BINARYMIME"]
        let server = try await FakeSMTPServer(script)
        let body: [UInt8] =
            Array("Content-Type: application/octet-stream\r\n\r\n".utf8) + (0..<255).map(UInt8.init) + [13, 46, 13, 10, 46, 13, 10]
        let connection = try await Self.open(server)
        let results = await connection.deliver(Self.envelope(size: body.count, body: .binaryMIME), body: Self.source(body, chunk: 50))
        #expect(results.map(\.result) == [.delivered])
        #expect(server.record.messages == [body])
        #expect(server.record.commands[0].contains { $0.hasPrefix("BDAT") && $0.hasSuffix("LAST") })
        await connection.quit()
        await server.stop()
    }

    // MARK: - TLS

    @Test func opportunisticTLS() async throws {
        var script = FakeSMTPServer.Script()
        script.tls = Self.tlsContext
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server, Self.configuration(tls: .opportunistic))
        #expect(connection.tlsActive)
        let results = await connection.deliver(Self.envelope(), body: Self.source("Secret\r\n"))
        #expect(results.map(\.result) == [.delivered])
        #expect(server.record.tlsConnections == 1)
        #expect(server.record.commands[0].filter { $0.hasPrefix("EHLO") }.count == 2)
        #expect(server.record.messages == [Array("Secret\r\n".utf8)])
        await connection.quit()
        await server.stop()
    }

    @Test func requiredTLSWithAMatchingCA() async throws {
        var script = FakeSMTPServer.Script()
        script.tls = Self.tlsContext
        let server = try await FakeSMTPServer(script)
        let files = try TestCertificate.write()
        let connection = try await Self.open(server, host: "localhost", Self.configuration(tls: .required, caFile: files.certificate))
        #expect(connection.tlsActive)
        let results = await connection.deliver(Self.envelope(), body: Self.source("Secret\r\n"))
        #expect(results.map(\.result) == [.delivered])
        await connection.quit()
        await server.stop()
    }

    @Test func requiredTLSWithAnUntrustedCertificateDefers() async throws {
        var script = FakeSMTPServer.Script()
        script.tls = Self.tlsContext
        let server = try await FakeSMTPServer(script)
        // The system trust store does not know the test certificate.
        let connection = try await Self.open(server, host: "localhost", Self.configuration(tls: .required))
        #expect(!connection.isReusable)
        #expect(connection.failure?.code == .tlsFailed)
        let results = await connection.deliver(Self.envelope(), body: Self.source("Secret\r\n"))
        #expect(results.map(\.result) == [.deferred])
        #expect(results.first?.enhancedCode == .init(4, 7, 0))
        #expect(results.first?.text.hasPrefix("TLS handshake failed: the certificate did not verify") == true)
        #expect(server.record.messages.isEmpty)
        await server.stop()
    }

    /// The test certificate is for localhost and 127.0.0.1: connected to 127.0.0.1 under
    /// another host name, its address entry must not make it valid for that name.
    @Test func requiredTLSWithACertificateForAnotherNameDefers() async throws {
        var script = FakeSMTPServer.Script()
        script.tls = Self.tlsContext
        let server = try await FakeSMTPServer(script)
        let files = try TestCertificate.write()
        let connection = try await Self.open(server, host: "mx.example.net", Self.configuration(tls: .required, caFile: files.certificate))
        #expect(!connection.isReusable)
        #expect(connection.failure?.code == .tlsFailed)
        let results = await connection.deliver(Self.envelope(), body: Self.source("Secret\r\n"))
        #expect(results.map(\.result) == [.deferred])
        #expect(results.first?.enhancedCode == .init(4, 7, 0))
        #expect(results.first?.text.hasPrefix("TLS handshake failed: the certificate is not for the host name mx.example.net") == true)
        #expect(server.record.messages.isEmpty)
        await server.stop()
    }

    @Test func requiredTLSNotOfferedDefers() async throws {
        let server = try await FakeSMTPServer(FakeSMTPServer.Script())
        let connection = try await Self.open(server, Self.configuration(tls: .required))
        #expect(!connection.isReusable)
        let results = await connection.deliver(Self.envelope(), body: Self.source("Secret\r\n"))
        #expect(results.map(\.result) == [.deferred])
        #expect(results.first?.enhancedCode == .init(4, 7, 0))
        #expect(results.first?.text == "TLS required but STARTTLS not offered")
        #expect(results.first?.fromServer == false)
        #expect(server.record.messages.isEmpty)
        await server.stop()
    }

    @Test func aFailedOpportunisticHandshakeReconnectsInPlainText() async throws {
        var script = FakeSMTPServer.Script()
        script.tls = Self.tlsContext
        script.brokenTLS = true
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server, Self.configuration(tls: .opportunistic))
        #expect(connection.fellBackToPlainText)
        #expect(!connection.tlsActive)
        let results = await connection.deliver(Self.envelope(), body: Self.source("Plain\r\n"))
        #expect(results.map(\.result) == [.delivered])
        #expect(server.record.connections == 2)
        #expect(!server.record.commands[1].contains("STARTTLS"))
        await connection.quit()
        await server.stop()
    }

    // MARK: - Failures

    @Test func theServerDroppingTheConnectionMidDataDefers() async throws {
        var script = FakeSMTPServer.Script()
        script.dropAfterDataBytes = 1000
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server)
        let body = String(repeating: "0123456789abcdef0123456789abcdef\r\n", count: 2000)
        let results = await connection.deliver(Self.envelope(["a@example.net", "b@example.net"]), body: Self.source(body, chunk: 4096))
        #expect(results.map(\.result) == [.deferred, .deferred])
        #expect(results.first?.enhancedCode == .init(4, 4, 2))
        #expect(!connection.isReusable)
        await server.stop()
    }

    @Test func aServerThatNeverAnswersTimesOut() async throws {
        var script = FakeSMTPServer.Script()
        script.silent = true
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server, Self.configuration(timeouts: .all(.milliseconds(200))))
        #expect(!connection.isReusable)
        #expect(connection.failure?.code == .timeout)
        let results = await connection.deliver(Self.envelope(), body: Self.source("Hi\r\n"))
        #expect(results.map(\.result) == [.deferred])
        #expect(results.first?.enhancedCode == .init(4, 4, 2))
        await server.stop()
    }

    @Test func aServerThatStopsAnsweringAfterDataTimesOut() async throws {
        var script = FakeSMTPServer.Script()
        script.endOfData = { _ in "" }
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server, Self.configuration(timeouts: .all(.milliseconds(300))))
        let results = await connection.deliver(Self.envelope(), body: Self.source("Hi\r\n"))
        #expect(results.map(\.result) == [.deferred])
        #expect(connection.failure?.code == .timeout)
        await server.stop()
    }

    @Test func aBodyThatCannotBeReadDefers() async throws {
        struct Gone: Error {}
        let server = try await FakeSMTPServer(FakeSMTPServer.Script())
        let connection = try await Self.open(server)
        let results = await connection.deliver(Self.envelope()) { offset in
            if offset > 0 { throw Gone() }
            return Array("partial".utf8)
        }
        #expect(results.map(\.result) == [.deferred])
        #expect(results.first?.enhancedCode == .init(4, 3, 0))
        #expect(server.record.messages.isEmpty)
        await server.stop()
    }

    @Test func aRefusedConnectThrows() async throws {
        let server = try await FakeSMTPServer(FakeSMTPServer.Script())
        let port = server.port
        await server.stop()
        await #expect(throws: (any Error).self) {
            _ = try await SMTPClientConnection.open(
                host: "localhost", address: "127.0.0.1", port: port, configuration: Self.configuration(), group: Self.group)
        }
    }

    @Test func aTooBigMessageIsNotSent() async throws {
        var script = FakeSMTPServer.Script()
        script.keywords = ["SIZE 50"]
        let server = try await FakeSMTPServer(script)
        let connection = try await Self.open(server)
        let results = await connection.deliver(Self.envelope(size: 51), body: Self.source("x"))
        #expect(results.map(\.result) == [.failed])
        #expect(results.first?.enhancedCode == .init(5, 3, 4))
        #expect(connection.isReusable)
        #expect(!server.record.commands[0].contains { $0.hasPrefix("MAIL") })
        await connection.quit()
        await server.stop()
    }
}
