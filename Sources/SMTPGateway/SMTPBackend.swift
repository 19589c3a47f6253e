import Foundation
import NIOCore
import RPCProtocol
import RPCTransport
import SMTPCodec

/// The back-end calls one SMTP connection makes, as futures completed on the connection's event
/// loop, and every back-end answer mapped to its SMTP reply here and nowhere else (STYLE §8).
struct SMTPBackend: Sendable {
    let client: RPCClient
    static let service = "smtp"

    // MARK: - Replies (Protocol/README.md §5, §8 → RFC 5321 §4.2, RFC 3463)

    /// The reply for a recipient the back-end refused, at RCPT (`delivery.check`) or at commit.
    static func reply(for outcome: RPCProtocol.RecipientOutcome) -> SMTPReply? {
        guard outcome.status == .failed else { return nil }
        return reply(kind: outcome.kind ?? "", temporary: outcome.temporary ?? false)
    }

    /// The one table from back-end error kinds to SMTP replies.
    static func reply(kind: String, temporary: Bool) -> SMTPReply {
        switch kind {
        case "no_such_user": .unknownRecipient
        case "relay_denied": SMTPReply(554, .init(5, 7, 1), "Relay access denied")
        case "account_disabled": SMTPReply(550, .init(5, 2, 1), "Mailbox disabled")
        case "loop_detected": SMTPReply(554, .init(5, 4, 6), "Routing loop detected")
        case "too_big": .messageTooBig
        case "quota_exceeded":
            temporary
                ? SMTPReply(452, .init(4, 2, 2), "Mailbox full, try again later")
                : SMTPReply(552, .init(5, 2, 2), "Mailbox full: the message is larger than the whole quota")
        case "too_many_recipients": .tooManyRecipients
        case "invalid_address": SMTPReply(501, .init(5, 1, 3), "Bad address syntax")
        case "internal_error", "unavailable", "timeout", "overloaded", "session_invalid", "no_such_upload":
            .localError
        // Protocol §5: an unknown kind is permanent unless the back-end says it is temporary.
        default: temporary ? .localError : SMTPReply(550, .init(5, 0, 0), "Delivery refused")
        }
    }

    /// The reply for a failed call (`delivery.*`, `upload.*`): the back-end's error kinds as
    /// above; transport failures (`unavailable`, `timeout`, `overloaded`) and anything unknown are
    /// the server's problem, 451 4.3.0, so the client tries again later.
    static func reply(for error: any Error) -> SMTPReply {
        guard let error = error as? RPCError else { return .localError }
        return reply(kind: error.kind, temporary: error.data?.temporary ?? false)
    }

    /// `auth_failed`, `account_disabled` and a malformed name are wrong credentials (535 5.7.8,
    /// never saying which); `auth_throttled` is 454 4.7.0 with the delay (RFC 4954 §6);
    /// anything else is a temporary failure.
    static func authenticationReply(for error: any Error) -> SMTPReply {
        guard let error = error as? RPCError else { return .temporaryAuthenticationFailure }
        if error.is(.authFailed) || error.is(.accountDisabled) || error.is(.invalidParams) {
            return .authenticationFailed
        }
        if error.is(.authThrottled) {
            let seconds = error.data?.retryAfterMs.map { max(1, ($0 + 999) / 1000) } ?? 1
            return SMTPReply(454, .init(4, 7, 0), "Too many failed logins; try again in \(seconds) seconds")
        }
        return .temporaryAuthenticationFailure
    }

    /// RFC 6409 §6.1, RFC 3463 X.7.1: MAIL FROM an address that is not the user's.
    static func senderNotOwned(_ account: String) -> SMTPReply {
        SMTPReply(553, .init(5, 7, 1), "Sender address rejected: not owned by user \(account)")
    }

    static let tooManyRecipientsForConnection = SMTPReply(
        452, .init(4, 5, 3), "Too many recipients in this connection; try again in a new one")

    // MARK: - Calls

    /// Verifies credentials; succeeds with the session.
    func authenticate(
        _ credentials: SASLCredentials, clientAddress: String, on loop: any EventLoop
    ) -> EventLoopFuture<
        SessionResult
    > {
        let future: EventLoopFuture<SessionResult>
        switch credentials {
        case .plain(let authorization, let user, let password):
            // An authorization identity other than the user would be proxy authentication,
            // which Loft does not offer (RFC 4616 §2): refused like a wrong password.
            if !authorization.isEmpty, authorization != user {
                return loop.makeFailedFuture(RPCError(.authFailed, "authorization identity refused"))
            }
            future = client.callFuture(
                Methods.authLogin,
                LoginParams(username: user, password: password, clientAddress: clientAddress, service: Self.service))
        case .login(let user, let password):
            future = client.callFuture(
                Methods.authLogin,
                LoginParams(username: user, password: password, clientAddress: clientAddress, service: Self.service))
        case .cramMD5(let user, let digest, let challenge):
            future = client.callFuture(
                Methods.authCRAMMD5,
                CRAMMD5Params(
                    username: user, challenge: challenge, digest: digest, clientAddress: clientAddress,
                    service: Self.service))
        }
        return future.hop(to: loop)
    }

    /// A one-time CRAM-MD5 challenge from the back-end (RFC 2195 §2, DESIGN §2).
    func challenge(hostname: String, on loop: any EventLoop) -> EventLoopFuture<String> {
        client.callFuture(Methods.authChallenge, ChallengeParams(service: Self.service, hostname: hostname)).map(\.challenge).hop(to: loop)
    }

    /// SCRAM-SHA-256's first step: the client-first-message in, the server-first-message out.
    func scramBegin(clientFirst: String, clientAddress: String, on loop: any EventLoop) -> EventLoopFuture<SCRAMChallenge> {
        client.callFuture(
            Methods.authSCRAMBegin, SCRAMBeginParams(clientFirst: clientFirst, clientAddress: clientAddress, service: Self.service)
        ).hop(to: loop)
    }

    /// SCRAM-SHA-256's second step: the client proof checked, the session and server signature out.
    func scramFinish(exchange: String, clientFinal: String, on loop: any EventLoop) -> EventLoopFuture<SCRAMResult> {
        client.callFuture(Methods.authSCRAMFinish, SCRAMFinishParams(exchange: exchange, clientFinal: clientFinal)).hop(to: loop)
    }

    /// Whether the logged-in account may send as `address` (itself, a sub-address, an alias of it).
    func maySendAs(session: String, address: String, on loop: any EventLoop) -> EventLoopFuture<Bool> {
        client.callFuture(Methods.authMaySendAs, SendAsParams(session: session, address: address)).map(\.allowed).hop(to: loop)
    }

    func checkRecipient(_ params: DeliveryCheckParams, on loop: any EventLoop) -> EventLoopFuture<RPCProtocol.RecipientOutcome> {
        client.callFuture(Methods.deliveryCheck, params).hop(to: loop)
    }

    func submit(_ params: DeliverySubmitParams, on loop: any EventLoop) -> EventLoopFuture<UploadCommitResult> {
        client.callFuture(Methods.deliverySubmit, params).hop(to: loop)
    }

    func begin(_ params: DeliveryBeginParams, on loop: any EventLoop) -> EventLoopFuture<UploadStarted> {
        client.callFuture(Methods.deliveryBegin, params).hop(to: loop)
    }

    func append(upload: String, bytes: ByteBuffer, on loop: any EventLoop) -> EventLoopFuture<UploadProgress> {
        client.callFuture(Methods.uploadAppend, UploadAppendParams(upload: upload, data: Self.payload(bytes))).hop(to: loop)
    }

    func commit(upload: String, on loop: any EventLoop) -> EventLoopFuture<UploadCommitResult> {
        client.callFuture(Methods.uploadCommit, UploadParams(upload: upload)).hop(to: loop)
    }

    static func payload(_ bytes: ByteBuffer) -> Base64Data {
        Base64Data(copying: bytes.readableBytesView)
    }

    func abort(upload: String) {
        client.callFuture(Methods.uploadAbort, UploadParams(upload: upload)).whenComplete { _ in }
    }
}
