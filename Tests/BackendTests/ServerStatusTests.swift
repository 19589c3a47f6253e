import LoftTestSupport
import RPCProtocol
import RPCTransport
import Testing

/// `server.status` (issue 14): the store counted as the accounts are charged and as stored,
/// the queue, and low disk space as a problem before new mail is refused.
@Suite(.timeLimit(.minutes(1))) struct ServerStatusTests {
    @Test func countsWhatIsStoredAndSharedBodiesOnce() async throws {
        try await withBackend(name: "loft-server-status") { h in
            try await h.addTestAccounts()
            let empty = try await h.admin.call(Methods.serverStatus, Empty())
            #expect(empty.domains == 1 && empty.accounts == 2 && empty.messages == 0 && empty.bodies == 0)
            #expect(empty.queue.messages == 0 && empty.problems.isEmpty && empty.databaseBytes > 0)
            let message = Array("Subject: shared\r\n\r\nfor two\r\n".utf8)
            _ = try await h.gateway.call(
                Methods.deliverySubmit,
                DeliverySubmitParams(
                    sender: "s@remote.test", recipients: ["alice@example.test", "bob@example.test"], data: Base64Data(message)))
            try await h.deliver(Array(repeating: UInt8(ascii: "x"), count: 100_000) + Array("\r\n".utf8))
            let s = try await h.admin.call(Methods.serverStatus, Empty())
            #expect(s.messages == 3 && s.bodies == 2, "one body shared by alice's and bob's copies")
            #expect(s.fileBodies == 1 && s.fileBodyBytes == 100_002, "above the 64 KiB inline limit")
            #expect(s.bodyBytes == Int64(message.count) + 100_002)
            // Each copy is charged with its Return-Path line, so charged ≥ stored.
            #expect(s.messageBytes > s.bodyBytes + Int64(message.count))
            #expect(s.startedAt > 1_700_000_000 && s.pid > 0 && s.maxMessageBytes == 50 << 20)
        }
    }

    @Test func lowDiskSpaceIsAProblemBeforeMailIsRefused() async throws {
        // A minimum larger than any disk: below it, new mail is refused (and said so).
        try await withBackend(name: "loft-server-status-disk", configure: { $0.minFreeBytes = 1 << 60 }) { h in
            let s = try await h.admin.call(Methods.serverStatus, Empty())
            #expect(s.problems.count == 1 && s.problems[0].contains("new mail is refused until space is freed"), "\(s.problems)")
        }
        let free = try await withBackend(name: "loft-server-status-free") { h in
            try await h.admin.call(Methods.serverStatus, Empty()).freeBytes ?? 0
        }
        // Free space between the minimum and twice it: a warning that names the setting.
        try await withBackend(name: "loft-server-status-near", configure: { $0.minFreeBytes = free * 2 / 3 }) { h in
            let s = try await h.admin.call(Methods.serverStatus, Empty())
            #expect(s.problems.count == 1 && s.problems[0].contains("backend.min_free_space"), "\(s.problems)")
        }
    }
}
