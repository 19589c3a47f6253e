import Backend
import Foundation
import LoftTestSupport
import NIOCore
import NIOPosix
import RPCProtocol
import RPCTransport
import Testing

@testable import GatewayKit

/// MessageUpload against a real in-process back-end: deliveries and mailbox uploads, in one
/// call and in chunks, read back byte-exact.
@Suite(.timeLimit(.minutes(1))) struct MessageUploadTests {
    final class Harness {
        let base: BackendHarness
        var client: RPCClient { base.gateway }
        var session = ""

        init() async throws {
            base = try await BackendHarness(name: "loft-upload")
            try await base.addTestAccounts()
            session = try await base.session("alice@example.test")
        }

        func close() async {
            await base.close()
        }

        /// Streams `bytes` in pieces of 1000 through a MessageUpload on an event loop.
        func upload(_ target: MessageUpload.Target, _ bytes: [UInt8], prefix: String = "") async throws -> UploadCommitResult {
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let promise = loop.makePromise(of: UploadCommitResult.self)
            let client = self.client
            loop.execute {
                let upload = MessageUpload(client: client, eventLoop: loop, chunkBytes: 8192, target: target, prefix: prefix)
                for start in stride(from: 0, to: bytes.count, by: 1000) {
                    upload.append(ByteBuffer(bytes: bytes[start..<min(start + 1000, bytes.count)]))
                }
                upload.commit { promise.completeWith($0) }
            }
            return try await promise.futureResult.get()
        }

        func read(_ uid: UInt32) async throws -> [UInt8] {
            try await base.read(session: session, uid: uid)
        }
    }

    static func message(_ size: Int) -> [UInt8] {
        var text = "From: s@remote.test\r\nSubject: upload \(size)\r\n\r\n"
        while text.utf8.count < size { text += "line \(text.utf8.count)\r\n" }
        return Array(text.utf8)
    }

    @Test(arguments: [500, 8192, 30_000])
    func deliveriesArriveByteExact(size: Int) async throws {
        let h = try await Harness()
        let body = Self.message(size)
        let envelope = MessageUpload.Envelope(
            sender: "s@remote.test", recipients: ["alice@example.test"], clientAddress: "192.0.2.1", session: nil,
            trustedRelay: nil)
        let result = try await h.upload(.delivery(envelope), body, prefix: "Received: test\r\n")
        #expect(result.recipients?.first?.status == .delivered)
        let stored = try await h.read(1)
        #expect(stored == Array("Return-Path: <s@remote.test>\r\nReceived: test\r\n".utf8) + body)
        await h.close()
    }

    @Test(arguments: [500, 30_000])
    func mailboxUploadsGetAUID(size: Int) async throws {
        let h = try await Harness()
        let body = Self.message(size)
        let params = MessageAppendParams(session: h.session, mailbox: "INBOX", size: Int64(body.count))
        let result = try await h.upload(.mailbox(params), body)
        #expect(result.uid == 1)
        #expect(try await h.read(1) == body)
        await h.close()
    }
}
