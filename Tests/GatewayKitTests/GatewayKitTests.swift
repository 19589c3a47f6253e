import Foundation
import LoftTestSupport
import NIOCore
import NIOEmbedded
import NIOSSL
import NIOTLS
import Testing

@testable import GatewayKit

@Suite struct ClientAddressTests {
    @Test(arguments: [
        ("127.0.0.1", "127.0.0.1", true), ("127.8.9.10", "127.8.9.10", true), ("::1", "::1", true),
        ("::ffff:127.0.0.1", "127.0.0.1", true), ("::FFFF:192.0.2.7", "192.0.2.7", false),
        ("192.0.2.7", "192.0.2.7", false), ("2001:db8::1", "2001:db8::1", false), ("128.0.0.1", "128.0.0.1", false),
    ])
    func loopbackAndText(input: String, text: String, loopback: Bool) {
        let address = ClientAddress(ip: input)
        #expect(address.text == text)
        #expect(address.isLoopback == loopback)
    }

    @Test func fromSocketAddresses() throws {
        #expect(ClientAddress(try SocketAddress(ipAddress: "127.0.0.1", port: 1)).isLoopback)
        #expect(ClientAddress(try SocketAddress(ipAddress: "::1", port: 1)).isLoopback)
        #expect(!ClientAddress(try SocketAddress(ipAddress: "10.0.0.1", port: 1)).isLoopback)
        #expect(ClientAddress(try SocketAddress(ipAddress: "10.0.0.1", port: 1)).text == "10.0.0.1")
        #expect(ClientAddress(nil).text == "unknown")
    }
}

@Suite struct ConnectionLimiterTests {
    @Test func perAddressLimitAndRelease() {
        let limiter = ConnectionLimiter(perAddress: 2, total: 10)
        #expect(limiter.admit("a") && limiter.admit("a"))
        #expect(!limiter.admit("a"))
        #expect(limiter.admit("b"))
        limiter.release("a")
        #expect(limiter.count(for: "a") == 1)
        #expect(limiter.admit("a"))
        #expect(limiter.totalCount == 3)
    }

    @Test func totalLimit() {
        let limiter = ConnectionLimiter(perAddress: 5, total: 2)
        #expect(limiter.admit("a") && limiter.admit("b"))
        #expect(!limiter.admit("c"))
        limiter.release("b")
        #expect(limiter.admit("c"))
        limiter.release("zzz")  // never admitted: ignored
        #expect(limiter.totalCount == 2)
    }
}

@Suite struct StartTLSTests {
    @Test func discardsPipelinedPlaintextAndPutsTLSFirst() throws {
        let files = try TestCertificate.write()
        let context = try GatewayTLS.serverContext(certificatePath: files.certificate, keyPath: files.key)
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteCountingHandler())
        var buffered = ByteBuffer(string: "USER mallory\r\nPASS x\r\n")
        try StartTLS.begin(on: channel, context: context, discarding: &buffered)
        #expect(buffered.readableBytes == 0)
        let first = try channel.pipeline.syncOperations.context(handlerType: NIOSSLServerHandler.self)
        #expect(first.name.isEmpty == false)
        #expect(StartTLS.isHandshakeCompleted(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil)))
        #expect(!StartTLS.isHandshakeCompleted("something else"))
        _ = try? channel.finish()
    }

    @Test func tlsFilesDefaultToTheDataDirectory() {
        let files = TLSFiles(dataDirectory: "/d", certificate: "", key: "")
        #expect(files == TLSFiles(certificate: "/d/tls/cert.pem", key: "/d/tls/key.pem"))
        #expect(TLSFiles(dataDirectory: "/d", certificate: "/c", key: "/k").certificate == "/c")
    }

    /// SIGHUP's reload (issue 14): a pair that loads replaces the context new connections get;
    /// one that does not leaves the current one, and says why.
    @Test func reloadSwapsTheContextOnlyWhenTheFilesLoad() throws {
        let files = try TestCertificate.write()
        let tls = try ServerTLS(files: TLSFiles(certificate: files.certificate, key: files.key))
        let first = tls.current
        try tls.reload()
        let second = tls.current
        #expect(first !== second)
        let saved = try Data(contentsOf: URL(fileURLWithPath: files.certificate))
        try Data("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n".utf8).write(to: URL(fileURLWithPath: files.certificate))
        #expect(throws: GatewayError.self) { try tls.reload() }
        #expect(tls.current === second)
        try saved.write(to: URL(fileURLWithPath: files.certificate))
        let fixed = ServerTLS(context: first)
        try fixed.reload()
        #expect(fixed.current === first, "a fixed context has no files to reload")
    }

    @Test func listenersWithoutTLSNeedNoContext() throws {
        #expect(try GatewayTLS.serverContext(for: [Listener(host: "::", port: 1, tls: .none)], files: nil) == nil)
        #expect(throws: GatewayError.self) {
            _ = try GatewayTLS.serverContext(for: [Listener(host: "::", port: 1, tls: .implicit)], files: nil)
        }
        #expect(throws: GatewayError.self) {
            _ = try GatewayTLS.serverContext(certificatePath: "/nonexistent", keyPath: "/nonexistent")
        }
    }
}

final class ByteCountingHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
}
