import NIOConcurrencyHelpers
public import NIOCore
import RPCProtocol
public import RPCTransport

/// When a gateway offers CRAM-MD5 (RFC 2195). It works only for accounts with a
/// challenge-response secret, and clients such as curl pick it whenever it is offered, so by
/// default it is offered only while the back-end says some account could use it.
public enum CRAMMD5Offer: Sendable, Equatable {
    /// Whenever the gateway's mechanism list has it.
    case always
    /// Only while `auth.mechanisms` answers `challengeResponse: true`, asked every `refresh`;
    /// not while the answer is unknown (before the first one, or when the back-end is down).
    case whileUsable(refresh: TimeAmount)

    /// The production refresh interval.
    public static let automatic = CRAMMD5Offer.whileUsable(refresh: .seconds(10))
}

/// The back-end's `auth.mechanisms` answer, asked in the background at a fixed interval and
/// read without waiting by every new connection.
public final class ChallengeResponseAvailability: Sendable {
    private let known = NIOLockedValueBox<Bool?>(nil)
    private let task = NIOLockedValueBox<RepeatedTask?>(nil)

    public init(client: RPCClient, refresh: TimeAmount, on eventLoop: any EventLoop) {
        let known = self.known
        let timeout = refresh < .seconds(5) ? max(refresh, .milliseconds(500)) : .seconds(5)
        let task = eventLoop.scheduleRepeatedAsyncTask(initialDelay: .zero, delay: refresh) { _ in
            client.callFuture(Methods.authMechanisms, Empty(), timeout: timeout)
                .map { result in known.withLockedValue { $0 = result.challengeResponse } }
                .recover { _ in known.withLockedValue { $0 = nil } }
                .hop(to: eventLoop)
        }
        self.task.withLockedValue { $0 = task }
    }

    /// Whether challenge-response can work for some account; false while unknown.
    public var isUsable: Bool { known.withLockedValue { $0 } ?? false }

    public func stop() {
        task.withLockedValue {
            $0?.cancel()
            $0 = nil
        }
    }
}

extension ChallengeResponseAvailability {
    /// The watcher a gateway needs for `offer`: one only when CRAM-MD5 is among its mechanisms
    /// (`offered`) and is offered `whileUsable`.
    public static func watching(
        _ offer: CRAMMD5Offer, offered: Bool, backend: BackendClients, group: any EventLoopGroup
    ) -> ChallengeResponseAvailability? {
        guard offered, case .whileUsable(let refresh) = offer else { return nil }
        return ChallengeResponseAvailability(client: backend.assign(), refresh: refresh, on: group.next())
    }
}
