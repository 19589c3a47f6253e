import Foundation
import MailCore
import NIOConcurrencyHelpers
import NIOCore
import RPCProtocol
import Storage
import Testing

@testable import Backend
@testable import RPCTransport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

typealias Harness = DeliveryIdempotencyTests.Harness

extension DeliveryIdempotencyTests.Harness {
    func login() async throws -> String {
        try await gateway.call(Methods.authLogin, LoginParams(username: "alice@example.test", password: "pw")).session
    }

    /// The back-end's side of the one connection that subscribed.
    func subscriberConnection() throws -> RPCConnection {
        try #require(backend.events.state.withLockedValue { Array($0.byConnection.keys) }.first)
    }
}

/// What a subscriber received, from `RPCClient.onNotification`.
final class Received: Sendable {
    let events = NIOLockedValueBox<[(event: MailEvent, lineBytes: Int)]>([])
    var handler: @Sendable (String, ByteBuffer) -> Void {
        { method, line in
            guard method == Methods.eventNotification,
                let event = try? JSONRPC.decodeParams(MailEvent.self, from: line)
            else { return }
            self.events.withLockedValue { $0.append((event, line.readableBytes)) }
        }
    }
    /// Waits (bounded) until `done` holds for what arrived.
    func wait(_ done: @escaping ([MailEvent]) -> Bool) async throws -> [(event: MailEvent, lineBytes: Int)] {
        for _ in 0..<600 {
            let now = events.withLockedValue { $0 }
            if done(now.map(\.event)) { return now }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the expected events did not arrive")
        return events.withLockedValue { $0 }
    }
}

/// The limit only catches a hang: 500,000 subscribe/unsubscribe calls take 20 s on a quiet
/// machine and over 150 s when builds share its two cores.
@Suite(.timeLimit(.minutes(4))) struct EventHubTests {
    /// 10,000 subscriptions (the limit) made and ended again and again: the hub's indexes and
    /// the connection's close hooks end where they started.
    @Test func subscriptionsComeAndGoWithoutATrace() async throws {
        let h = try await Harness()
        let session = try await h.login()
        let hub = h.backend.events
        var ids: [Int64] = []
        for _ in 0..<50 {
            ids += try await withThrowingTaskGroup(of: Int64.self) { group in
                for _ in 0..<200 {
                    group.addTask {
                        try await h.gateway.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session)).subscription
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(Set(ids).count == EventHub.maxPerConnection)
        do {
            _ = try await h.gateway.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session))
            Issue.record("subscription \(EventHub.maxPerConnection + 1) was accepted")
        } catch {
            #expect(error.is(.limitExceeded))
        }
        let connection = try h.subscriberConnection()
        let hooks = connection.closeHookCount
        for chunk in stride(from: 0, to: ids.count, by: 200) {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for id in ids[chunk..<min(chunk + 200, ids.count)] {
                    group.addTask { _ = try await h.gateway.call(Methods.eventsUnsubscribe, UnsubscribeParams(subscription: id)) }
                }
                try await group.waitForAll()
            }
        }
        func expectFlat() {
            hub.state.withLockedValue { s in
                #expect(s.subscriptions.isEmpty && s.byAccount.isEmpty)
                #expect(s.byConnection.count == 1 && s.byConnection[connection]?.subscriptions.isEmpty == true)
                #expect(s.byConnection[connection]?.needResync.isEmpty == true)
            }
            #expect(connection.closeHookCount == hooks, "close hooks grow with subscriptions")
        }
        expectFlat()
        let accountID = try h.backend.accountID(session: session)
        for _ in 0..<5 {
            let round = try (0..<EventHub.maxPerConnection).map { _ in
                try hub.subscribe(accountID: accountID, account: "alice@example.test", connection: connection)
            }
            #expect(hub.state.withLockedValue { $0.byAccount[accountID]?.count } == EventHub.maxPerConnection)
            for id in round { #expect(hub.unsubscribe(id, connection: connection)) }
            expectFlat()
        }
        await h.gateway.close()
        for _ in 0..<100 where !hub.state.withLockedValue({ $0.byConnection.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(hub.state.withLockedValue { $0.byConnection.isEmpty }, "closing the connection forgets it")
        await h.close()
    }

    static let filterCases: [(filter: String?, kind: MailEvent.Kind, mailbox: String, old: String?, wanted: Bool)] = [
        (nil, .messageAdded, "INBOX", nil, true),
        (nil, .mailboxCreated, "Work", nil, true),
        ("INBOX", .messageAdded, "INBOX", nil, true),
        ("INBOX", .messageAdded, "Work", nil, false),
        ("Work", .messageExpunged, "Work", nil, true),
        ("Work", .messageAdded, "Work/2026", nil, false),
        ("Work", .mailboxRenamed, "Play", "Work", true),
        ("Play", .mailboxRenamed, "Play", "Work", true),
        ("Work/2026", .mailboxRenamed, "Play", "Work", true),
        ("Workshop", .mailboxRenamed, "Play", "Work", false),
        ("Work", .resync, "", nil, true),
    ]

    @Test(arguments: filterCases)
    func mailboxFilter(_ c: (filter: String?, kind: MailEvent.Kind, mailbox: String, old: String?, wanted: Bool)) {
        let event = MailEvent(subscription: 0, account: "a@x.test", kind: c.kind, mailbox: c.mailbox, oldMailbox: c.old)
        #expect(EventHub.Subscription.filter(c.filter, wants: event) == c.wanted)
    }

    @Test(arguments: [(0, 1), (1, 1), (10_000, 1), (10_001, 2), (25_000, 3), (100_000, 10)])
    func largeChangesAreSplit(_ c: (uids: Int, parts: Int)) {
        let uids = (0..<c.uids).map { UInt32($0 + 1) }
        let event = MailEvent(subscription: 0, account: "a@x.test", kind: .messageExpunged, mailbox: "INBOX", uids: uids, modseq: 7)
        let parts = EventHub.split(event)
        #expect(parts.count == c.parts)
        #expect(parts.allSatisfy { ($0.uids?.count ?? 0) <= RPCLimits.maxEventUIDs && $0.modseq == 7 && $0.kind == .messageExpunged })
        #expect(parts.flatMap { $0.uids ?? [] } == uids)
    }

    @Test func subscriptionsFilteredByMailbox() async throws {
        let h = try await Harness()
        let session = try await h.login()
        let received = Received()
        let watcher = RPCClient(path: h.dir + "/gateway.sock", software: "watcher", onNotification: received.handler)
        let inbox = try await watcher.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session, mailbox: "inbox")).subscription
        let work = try await watcher.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session, mailbox: "Work")).subscription
        _ = try await h.submit(nil)
        _ = try await h.gateway.call(Methods.mailboxCreate, MailboxCreateParams(session: session, mailbox: "Work"))
        let events = try await received.wait { $0.count >= 2 }.map(\.event)
        #expect(events.map(\.subscription) == [inbox, work])
        #expect(events.map(\.kind) == [.messageAdded, .mailboxCreated])
        await watcher.close()
        await h.close()
    }
}

/// 100,000 messages expunged at once reach a subscriber in bounded notifications, and its
/// connection (a gateway's, shared by many sessions) stays up.
@Suite(.timeLimit(.minutes(3))) struct LargeEventTests {
    @Test func aHundredThousandUIDExpungeIsSplit() async throws {
        let h = try await Harness()
        let session = try await h.login()
        _ = try await h.submit(nil)
        let count = 100_000
        // The other 99,999 copies are made by the store directly (copies of copies), for speed;
        // the back-end's events only see the expunge.
        let accountID = try h.backend.accountID(session: session)
        let inbox = try h.backend.store.mailbox(accountID: accountID, name: .inbox)
        var have = 1
        while have < count {
            let more = min(have, count - have)
            _ = try h.backend.store.copy(
                accountID: accountID, from: inbox.id, uids: UIDSet("1:\(more)")!, to: "INBOX", move: false)
            have += more
        }
        let received = Received()
        let subscriber = RPCClient(path: h.dir + "/gateway.sock", software: "imap", onNotification: received.handler)
        let subscription = try await subscriber.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session)).subscription
        let expunged = try await h.gateway.call(
            Methods.messageExpunge, MessageExpungeParams(session: session, mailbox: "INBOX", uids: .all, regardlessOfFlags: true))
        #expect(expunged.expunged.count == count)
        let arrived = try await received.wait { $0.reduce(0) { $0 + ($1.uids?.count ?? 0) } >= count }
        #expect(arrived.count == count / RPCLimits.maxEventUIDs)
        #expect(arrived.allSatisfy { $0.event.kind == .messageExpunged && $0.event.subscription == subscription })
        #expect(arrived.allSatisfy { ($0.event.uids?.count ?? 0) <= RPCLimits.maxEventUIDs && $0.lineBytes < RPCLimits.maxLineBytes })
        #expect(Set(arrived.flatMap { $0.event.uids ?? [] }) == Set((1...UInt32(count)).map { $0 }))
        // The same connection goes on: calls are answered and the subscription still hears.
        _ = try await subscriber.call(Methods.ping, Empty())
        _ = try await h.submit(nil)
        let later = try await received.wait { $0.last?.kind == .messageAdded }
        #expect(later.last?.event.subscription == subscription && later.last?.event.uids == [UInt32(count + 1)])
        await subscriber.close()
        await h.close()
    }

    /// A subscriber that stops reading: its events are dropped once 1 MiB waits for it (the
    /// back-end's memory for it stays bounded), and when it reads again it hears `resync`.
    @Test func aSubscriberThatDoesNotReadGetsResync() async throws {
        let h = try await Harness()
        let session = try await h.login()
        let accountID = try h.backend.accountID(session: session)
        let socket = try LineSocket(path: h.dir + "/gateway.sock")
        defer { socket.close() }
        try socket.send(#"{"jsonrpc":"2.0","id":1,"method":"hello","params":{"version":1}}"# + "\n")
        try socket.send(#"{"jsonrpc":"2.0","id":2,"method":"events.subscribe","params":{"session":"\#(session)"}}"# + "\n")
        _ = try socket.readLine()
        let answer = try JSONDecoder().decode(JSONValue.self, from: Data(try socket.readLine().utf8))
        guard case .object(let top) = answer, case .object(let result)? = top["result"], case .number(let n)? = result["subscription"]
        else {
            Issue.record("no subscription in \(answer)")
            return
        }
        let subscription = Int64(n)
        let connection = try h.subscriberConnection()
        let big = MailEvent(
            subscription: 0, account: "alice@example.test", kind: .flagsChanged, mailbox: "INBOX", uids: Array(1...10_000), modseq: 2)
        let published = 150
        for _ in 0..<published { h.backend.events.publish(accountID: accountID, big) }
        // Once the event loop has run every send, what waits for this reader is bounded.
        let buffered = try await connection.channel.eventLoop.flatSubmit {
            connection.channel.getOption(ChannelOptions.bufferedWritableBytes)
        }.get()
        #expect(buffered <= RPCServer.writeBufferWaterMark.high + 128 << 10, "\(buffered) bytes buffered for a reader that does not read")
        #expect(h.backend.events.state.withLockedValue { $0.byConnection[connection]?.needResync } == [subscription])
        var flagEvents = 0
        var resync: String?
        while resync == nil {
            let line = try socket.readLine()
            if line.contains(#""kind":"resync""#) { resync = line } else { flagEvents += 1 }
        }
        #expect(flagEvents > 0 && flagEvents < published, "\(flagEvents) of \(published) events arrived")
        let event = try JSONRPC.decodeParams(MailEvent.self, from: ByteBuffer(string: resync ?? ""))
        #expect(event == MailEvent(subscription: subscription, account: "alice@example.test", kind: .resync, mailbox: ""))
        #expect(h.backend.events.state.withLockedValue { $0.byConnection[connection]?.needResync.isEmpty } == true)
        // The subscription stays: the next change arrives as usual.
        _ = try await h.submit(nil)
        let next = try socket.readLine()
        #expect(next.contains(#""kind":"message.added""#) && next.contains(#""subscription":\#(subscription)"#), "\(next)")
        await h.close()
    }
}

/// A blocking Unix-socket client that reads only when asked: a subscriber that stalls.
final class LineSocket {
    let fd: Int32
    var buffer: [UInt8] = []

    init(path: String) throws {
        #if canImport(Glibc)
            fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        #else
            fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in path.utf8.prefix(raw.count - 1).enumerated() { raw[i] = byte }
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) throws {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw POSIXError(.EPIPE) }
            sent += n
        }
    }

    func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw POSIXError(.ETIMEDOUT) }
            buffer += chunk[..<n]
        }
    }

    func close() {
        #if canImport(Glibc)
            Glibc.close(fd)
        #else
            Darwin.close(fd)
        #endif
    }
}

/// Uploads and locks guard themselves with a close hook; one that ends first takes its hook
/// with it, so a gateway's connection, which lives for days, does not gather one per message
/// or per login.
@Suite(.timeLimit(.minutes(1))) struct CloseHookTests {
    @Test func committedAndAbortedUploadsLeaveNoCloseHook() async throws {
        let h = try await Harness()
        let session = try await h.login()
        _ = try await h.gateway.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session))
        let connection = try h.subscriberConnection()
        let hooks = connection.closeHookCount
        for n in 0..<40 {
            let started = try await h.gateway.call(
                Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: ["alice@example.test"]))
            _ = try await h.gateway.call(
                Methods.uploadAppend, UploadAppendParams(upload: started.upload, data: Base64Data(Array("Subject: \(n)\r\n\r\n".utf8))))
            if n % 2 == 0 {
                _ = try await h.gateway.call(Methods.uploadCommit, UploadParams(upload: started.upload))
            } else {
                _ = try await h.gateway.call(Methods.uploadAbort, UploadParams(upload: started.upload))
            }
        }
        #expect(connection.closeHookCount == hooks)
        #expect(try await h.messageCount() == 20)
        // One left open is still discarded when its connection closes.
        let open = try await h.gateway.call(
            Methods.deliveryBegin, DeliveryBeginParams(sender: "s@remote.test", recipients: ["alice@example.test"]))
        #expect(connection.closeHookCount == hooks + 1)
        await h.gateway.close()
        for _ in 0..<100 where h.backend.uploads.uploads.withLockedValue({ !$0.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(h.backend.uploads.uploads.withLockedValue { $0[open.upload] == nil })
        await h.close()
    }

    @Test func releasedLocksLeaveNoCloseHook() async throws {
        let h = try await Harness()
        let session = try await h.login()
        _ = try await h.gateway.call(Methods.eventsSubscribe, EventsSubscribeParams(session: session))
        let connection = try h.subscriberConnection()
        let hooks = connection.closeHookCount
        for _ in 0..<30 {
            let lock = try await h.gateway.call(Methods.lockAcquire, LockAcquireParams(session: session, name: "pop3"))
            _ = try await h.gateway.call(Methods.lockRelease, LockParams(lock: lock.lock))
        }
        #expect(connection.closeHookCount == hooks)
        // A lock still held is released when its connection closes.
        _ = try await h.gateway.call(Methods.lockAcquire, LockAcquireParams(session: session, name: "pop3"))
        #expect(connection.closeHookCount == hooks + 1)
        await h.gateway.close()
        for _ in 0..<100 where h.backend.locks.locks.withLockedValue({ !$0.isEmpty }) { try await Task.sleep(for: .milliseconds(20)) }
        #expect(h.backend.locks.locks.withLockedValue { $0.isEmpty })
        await h.close()
    }
}
