import NIOCore
import POP3Codec
import RPCProtocol

/// The maildrop as the back-end listed it at login: POP3 unique-id → back-end UID, message
/// number and size (RFC 1939 §8: the numbering and the set of messages stay fixed for the
/// session). Built page by page from `message.list`.
struct POP3Snapshot {
    struct Message: Equatable {
        var uid: UInt32
        var number: Int
        var size: Int
    }

    private(set) var byID: [String: Message] = [:]
    private(set) var entries: [POP3MaildropEntry] = []

    /// Adds one page of INBOX in UID order.
    mutating func add(_ page: MessageListResult) {
        for message in page.messages {
            // RFC 1939 §7: unique and stable across sessions; UIDs never repeat within a
            // UIDVALIDITY, so the pair does.
            let id = "\(page.uidValidity).\(message.uid)"
            byID[id] = Message(uid: message.uid, number: entries.count + 1, size: Int(message.size))
            entries.append(POP3MaildropEntry(uid: id, size: Int(message.size)))
        }
    }

    subscript(id: String) -> Message? { byID[id] }

    /// The back-end UIDs of `ids`, skipping any this snapshot does not hold.
    func uids(of ids: [String]) -> [UInt32] {
        ids.compactMap { byID[$0]?.uid }
    }
}

/// The first chunks of messages a client reading in order will ask for next, read while the
/// current one is served, so that its RETR does not wait for a back-end round trip.
///
/// At most `maximumMessages` are held, and `maximumBytes` in all; a fetch takes the one for its
/// message and drops those before it, or drops them all. The snapshot's messages are immutable,
/// so a read-ahead cannot be stale; if the message was expunged meanwhile its read fails, and
/// the fetch reads again and reports that read's outcome, exactly as without read-ahead.
struct POP3ReadAhead<Chunk> {
    struct Entry {
        var uid: UInt32
        var number: Int
        var length: Int
        var serial: Int
        /// nil while the read is in flight.
        var result: Result<Chunk, any Error>?
    }

    let maximumMessages: Int
    let maximumBytes: Int
    let chunkBytes: Int
    private(set) var entries: [Entry] = []
    private var serial = 0

    init(maximumMessages: Int, maximumBytes: Int, chunkBytes: Int) {
        self.maximumMessages = maximumMessages
        self.maximumBytes = maximumBytes
        self.chunkBytes = chunkBytes
    }

    /// The read-ahead of `uid`, if there is one; it and those before it leave the cache (the
    /// client has moved past them). Without one, the cache is emptied: the client skipped.
    mutating func take(_ uid: UInt32) -> Entry? {
        guard let index = entries.firstIndex(where: { $0.uid == uid }) else {
            entries.removeAll()
            return nil
        }
        let entry = entries[index]
        entries.removeFirst(index + 1)
        return entry
    }

    /// The messages to read next, after message `number`, once half of the cache is used up:
    /// one batch for one `message.read_batch`. `following` gives the next live message after a
    /// number (POP3Session's view, which skips deletion marks), `snapshot` its UID and size.
    mutating func plan(
        after number: Int, following: (Int) -> (number: Int, uid: String)?, snapshot: POP3Snapshot
    ) -> [Entry] {
        guard maximumMessages > 0, entries.count <= maximumMessages / 2 else { return [] }
        var budget = maximumBytes - entries.reduce(0) { $0 + $1.length }
        var last = entries.last?.number ?? number
        var batch: [Entry] = []
        while entries.count + batch.count < maximumMessages, let next = following(last), let target = snapshot[next.uid] {
            let length = min(target.size, chunkBytes, maximumBytes)
            guard length <= budget, length > 0 else { break }
            budget -= length
            last = next.number
            serial += 1
            batch.append(Entry(uid: target.uid, number: next.number, length: length, serial: serial))
        }
        entries += batch
        return batch
    }

    /// Records the answer for read-ahead `serial`; false when it is no longer held (taken by a
    /// fetch while in flight, or dropped).
    mutating func complete(serial: Int, _ result: Result<Chunk, any Error>) -> Bool {
        guard let index = entries.firstIndex(where: { $0.serial == serial }) else { return false }
        entries[index].result = result
        return true
    }

    mutating func removeAll() {
        entries.removeAll()
    }
}

/// The RFC 1939 §8 maildrop lock a session holds in the back-end, with its lease renewed every
/// third of it. A renewal that fails, or is not answered within that third, means the lock is
/// gone or may be (the back-end restarted, the lease ran out): `onLost` runs, and the session
/// must end without UPDATE, before another session could take the maildrop.
///
/// Not Sendable: lives on its connection's event loop.
final class MaildropLock {
    typealias Renew = (_ lock: String, _ timeout: TimeAmount) -> EventLoopFuture<LockInfo>
    let eventLoop: any EventLoop
    let renew: Renew
    let onLost: (any Error) -> Void
    private(set) var token: String?
    private var renewal: Scheduled<Void>?

    init(eventLoop: any EventLoop, renew: @escaping Renew, onLost: @escaping (any Error) -> Void) {
        self.eventLoop = eventLoop
        self.renew = renew
        self.onLost = onLost
    }

    /// The lock was granted with `leaseMs`.
    func acquired(_ info: LockInfo) {
        token = info.lock
        schedule(leaseMs: info.leaseMs)
    }

    private func schedule(leaseMs: Int) {
        let interval = TimeAmount.milliseconds(Int64(max(leaseMs / 3, 300)))
        renewal = eventLoop.assumeIsolated().scheduleTask(in: interval) { [self] in
            guard let held = token else { return }
            renew(held, interval).hop(to: eventLoop).assumeIsolated().whenComplete { [self] result in
                guard token == held else { return }
                switch result {
                case .success(let info):
                    schedule(leaseMs: info.leaseMs)
                case .failure(let error):
                    token = nil
                    onLost(error)
                }
            }
        }
    }

    /// Stops renewing; returns the token to release in the back-end, if one was held.
    func relinquish() -> String? {
        renewal?.cancel()
        renewal = nil
        defer { token = nil }
        return token
    }
}
