import Foundation
import GatewayKit
import MailCore
import NIOCore
import POP3Codec
import RPCProtocol
import RPCTransport

/// The back-end calls one POP3 connection makes, as futures completed on the connection's event
/// loop, with every RPC error mapped to its POP3 meaning here and nowhere else (STYLE §8).
struct POP3Backend: Sendable {
    let session: BackendSession
    var client: RPCClient { session.client }
    static let service = "pop3"
    static let lockName = "pop3"
    static let mailbox = "INBOX"

    // MARK: - Error mapping (Protocol/README.md §5 → RFC 2449 §8, RFC 3206)
    //
    // Every failed call other than these two is the server's problem and temporary, RFC 3206
    // §4 `-ERR [SYS/TEMP]` (`.maildropFailed`, `.messageFailed`, `.updateFailed`): among them
    // `storage_full` (Protocol §5), which a full disk gives even to the expunge at QUIT —
    // then nothing was deleted, and the client may try again later.

    /// RFC 2449 §8, RFC 3206: a rejected credential is `-ERR [AUTH]` (never saying why);
    /// throttling is `-ERR [LOGIN-DELAY]`; anything else is the server's problem, `-ERR [SYS/TEMP]`.
    static func authFailure(_ error: any Error) -> POP3AuthFailure {
        switch BackendSession.loginFailure(error) {
        case .rejected: .invalidCredentials
        case .throttled(let seconds): .throttled(retryAfterSeconds: seconds)
        case .temporary: .temporaryFailure
        }
    }

    /// `in_use` is RFC 2449 §8.1.2 `-ERR [IN-USE]`; everything else when opening the maildrop
    /// is `-ERR [SYS/TEMP]` (`POP3Event.maildropFailed`).
    static func isInUse(_ error: any Error) -> Bool {
        (error as? RPCError)?.is(.inUse) ?? false
    }

    // MARK: - Calls

    /// Verifies credentials; succeeds with the session token.
    func authenticate(_ credentials: POP3Credentials, on loop: any EventLoop) -> EventLoopFuture<String> {
        let login: BackendSession.Credentials
        switch credentials {
        case .password(let user, let password, let authorizationIdentity):
            login = .password(user: user, password: password, authorizationIdentity: authorizationIdentity)
        case .apop(let user, let timestamp, let digest):
            login = .apop(user: user, timestamp: timestamp, digest: digest)
        case .cramMD5(let user, let challenge, let digest):
            login = .cramMD5(user: user, challenge: challenge, digest: digest)
        }
        return session.login(login, on: loop).map(\.session)
    }

    func acquireLock(session: String, lease: TimeAmount, on loop: any EventLoop) -> EventLoopFuture<LockInfo> {
        let leaseMs = Int(lease.nanoseconds / 1_000_000)
        return client.callFuture(Methods.lockAcquire, LockAcquireParams(session: session, name: Self.lockName, leaseMs: leaseMs))
            .hop(to: loop)
    }

    func renewLock(_ lock: String, timeout: TimeAmount) -> EventLoopFuture<LockInfo> {
        client.callFuture(Methods.lockRenew, LockParams(lock: lock), timeout: timeout)
    }

    func releaseLockAndWait(_ lock: String, on loop: any EventLoop) -> EventLoopFuture<Void> {
        client.callFuture(Methods.lockRelease, LockParams(lock: lock)).map { _ in () }.recover { _ in () }.hop(to: loop)
    }

    func releaseLock(_ lock: String) {
        client.callFuture(Methods.lockRelease, LockParams(lock: lock)).whenComplete { _ in }
    }

    /// One page of INBOX; pass `nextAfterUid` for the next.
    func listPage(session: String, afterUid: UInt32?, on loop: any EventLoop) -> EventLoopFuture<MessageListResult> {
        client.callFuture(
            Methods.messageList, MessageListParams(session: session, mailbox: Self.mailbox, afterUid: afterUid)
        ).hop(to: loop)
    }

    /// Up to `length` bytes of message `uid` from `offset`, decoded, with the message's total.
    func read(
        session: String, uid: UInt32, offset: Int64, length: Int, on loop: any EventLoop
    ) -> EventLoopFuture<(bytes: ByteBuffer, total: Int64)> {
        client.callFuture(
            Methods.messageRead,
            MessageReadParams(session: session, mailbox: Self.mailbox, uid: uid, offset: offset, length: length)
        ).map { result in
            (ByteBuffer(bytes: result.data.bytes), result.total)
        }.hop(to: loop)
    }

    /// The first `length` bytes of several messages in one call, by UID; a message the
    /// back-end did not return (missing, or left for another call) is absent from the answer.
    func readFirst(
        session: String, uids: [UInt32], length: Int, on loop: any EventLoop
    ) -> EventLoopFuture<[UInt32: (bytes: ByteBuffer, total: Int64)]> {
        client.callFuture(
            Methods.messageReadBatch, MessageReadBatchParams(session: session, mailbox: Self.mailbox, uids: uids, length: length)
        ).map { result in
            var chunks: [UInt32: (bytes: ByteBuffer, total: Int64)] = [:]
            for message in result.messages { chunks[message.uid] = (ByteBuffer(bytes: message.data.bytes), message.total) }
            return chunks
        }.hop(to: loop)
    }

    /// RFC 1939 §6: the marked messages go in one call — one back-end transaction — whatever
    /// their flags. Only a maildrop with more than `UIDSet.maxRanges` separate runs of marked
    /// UIDs needs several calls, one after the other.
    func expunge(session: String, uids: [UInt32], on loop: any EventLoop) -> EventLoopFuture<Void> {
        let sorted = uids.sorted()
        let batches = stride(from: 0, to: sorted.count, by: UIDSet.maxRanges).map {
            Array(sorted[$0..<min($0 + UIDSet.maxRanges, sorted.count)])
        }
        var future = loop.makeSucceededVoidFuture()
        for batch in batches {
            future = future.flatMap { [client] in
                client.callFuture(
                    Methods.messageExpunge,
                    MessageExpungeParams(session: session, mailbox: Self.mailbox, uids: UIDSet(batch), regardlessOfFlags: true)
                ).map { _ in () }.hop(to: loop)
            }
        }
        return future
    }
}
