import Foundation
import GatewayKit
import NIOCore
import RPCProtocol
import RPCTransport
import SASL
import SMTPCodec

/// The back-end calls one SMTP connection makes, as futures completed on the connection's event
/// loop, and every back-end answer mapped to its SMTP reply here and nowhere else (STYLE §8).
struct SMTPBackend: Sendable {
    let session: BackendSession
    var client: RPCClient { session.client }
    static let service = "smtp"

    // MARK: - Replies (Protocol/README.md §5, §8 → RFC 5321 §4.2, RFC 3463)

    /// The reply for a recipient the back-end refused, at RCPT (`delivery.check`) or at commit.
    static func reply(for outcome: RPCProtocol.RecipientOutcome) -> SMTPReply? {
        guard outcome.status == .failed else { return nil }
        return reply(kind: outcome.errorKind, temporary: outcome.temporary ?? false)
    }

    /// The one table from back-end error kinds to SMTP replies.
    static func reply(kind: RPCError.Kind?, temporary: Bool) -> SMTPReply {
        switch kind {
        case .noSuchUser?: .unknownRecipient
        // RFC 5321 §3.6.2: a server that declines to relay for policy reasons answers 550
        // (Protocol §5 says so too; Postfix's relay_domains_reject_code defaults to 554).
        case .relayDenied?: SMTPReply(550, .init(5, 7, 1), "Relay access denied")
        case .accountDisabled?: SMTPReply(550, .init(5, 2, 1), "Mailbox disabled")
        case .loopDetected?: SMTPReply(554, .init(5, 4, 6), "Routing loop detected")
        case .tooBig?: .messageTooBig
        case .quotaExceeded?:
            temporary
                ? SMTPReply(452, .init(4, 2, 2), "Mailbox full, try again later")
                : SMTPReply(552, .init(5, 2, 2), "Mailbox full: the message is larger than the whole quota")
        case .tooManyRecipients?: .tooManyRecipients
        // Protocol §5: always temporary, whatever the flag says; nothing was stored.
        case .storageFull?: .insufficientStorage
        case .invalidAddress?: SMTPReply(501, .init(5, 1, 3), "Bad address syntax")
        case .internalError?, .unavailable?, .timeout?, .overloaded?, .sessionInvalid?, .noSuchUpload?:
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
        return reply(kind: error.knownKind, temporary: error.data?.temporary ?? false)
    }

    /// `auth_failed`, `account_disabled` and a malformed name are wrong credentials (535 5.7.8,
    /// never saying which); `auth_throttled` is 454 4.7.0 with the delay (RFC 4954 §6);
    /// anything else is a temporary failure.
    static func authenticationReply(for error: any Error) -> SMTPReply {
        switch BackendSession.loginFailure(error) {
        case .rejected:
            .authenticationFailed
        case .throttled(let seconds):
            SMTPReply(454, .init(4, 7, 0), "Too many failed logins; try again in \(seconds ?? 1) seconds")
        case .temporary:
            .temporaryAuthenticationFailure
        }
    }

    /// RFC 6409 §6.1, RFC 3463 X.7.1: MAIL FROM an address that is not the user's.
    static func senderNotOwned(_ account: String) -> SMTPReply {
        SMTPReply(553, .init(5, 7, 1), "Sender address rejected: not owned by user \(account)")
    }

    static let tooManyRecipientsForConnection = SMTPReply(
        452, .init(4, 5, 3), "Too many recipients in this connection; try again in a new one")

    // MARK: - Calls

    /// An AUTH mechanism's credential as the back-end session takes it.
    static func credentials(_ credentials: SASLCredentials) -> BackendSession.Credentials {
        switch credentials {
        case .plain(let authorization, let user, let password):
            .password(user: user, password: password, authorizationIdentity: authorization)
        case .login(let user, let password):
            .password(user: user, password: password, authorizationIdentity: nil)
        case .cramMD5(let user, let digest, let challenge):
            .cramMD5(user: user, challenge: challenge, digest: digest)
        }
    }

    /// Whether the logged-in account may send as `address` (itself, a sub-address, an alias of it).
    func maySendAs(session: String, address: String, on loop: any EventLoop) -> EventLoopFuture<Bool> {
        client.callFuture(Methods.authMaySendAs, SendAsParams(session: session, address: address)).map(\.allowed).hop(to: loop)
    }

    func checkRecipient(_ params: DeliveryCheckParams, on loop: any EventLoop) -> EventLoopFuture<RPCProtocol.RecipientOutcome> {
        client.callFuture(Methods.deliveryCheck, params).hop(to: loop)
    }
}
