import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
public import RPCProtocol
import RPCTransport

/// A gateway socket in front of a real back-end that passes every call through, except those
/// to methods a test has told it to answer itself. Gateway tests use it to see how a gateway
/// takes answers that the real back-end gives only in conditions a unit test cannot make (a
/// full disk: `storage_full`), while everything else — logins, locks, stored messages — stays
/// real.
public final class FaultProxy: Sendable {
    /// Where gateways connect instead of `gateway.sock`.
    public let path: String
    let upstream: RPCClient
    let server: RPCServer
    let answers: NIOLockedValueBox<[String: Answer]>

    enum Answer: Sendable {
        case error(RPCError)
        case result(JSONValue)
    }

    /// Listens on `path` and passes calls on to the back-end's socket at `upstream`.
    public init(path: String, upstream: String) async throws {
        var logger = Logger(label: "fault-proxy")
        logger.logLevel = .error
        let answers = NIOLockedValueBox<[String: Answer]>([:])
        let client = RPCClient(path: upstream, software: "fault-proxy")
        self.path = path
        self.upstream = client
        self.answers = answers
        self.server = try await RPCServer.bind(
            path: path, role: .gateway, group: MultiThreadedEventLoopGroup.singleton,
            dispatcher: Forwarder(upstream: client, answers: answers),
            identity: RPCServerIdentity(server: "fault-proxy", capabilities: ["events", "uploads", "locks", "sections"]),
            logger: logger)
    }

    /// From now on every call to `method` fails with `error`, and the back-end never sees it.
    public func fail(_ method: String, with error: RPCError) {
        answers.withLockedValue { $0[method] = .error(error) }
    }

    /// From now on every call to `method` succeeds with `result`, and the back-end never sees it.
    public func answer<P, R>(_ method: RPCMethod<P, R>, with result: R) throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(result))
        answers.withLockedValue { $0[method.name] = .result(value) }
    }

    /// Calls to `method` go to the back-end again.
    public func passThrough(_ method: String) {
        _ = answers.withLockedValue { $0.removeValue(forKey: method) }
    }

    public func close() async {
        await server.close()
        await upstream.close()
    }

    struct Forwarder: RPCDispatcher {
        let upstream: RPCClient
        let answers: NIOLockedValueBox<[String: Answer]>

        func dispatch(_ request: RPCRequest, connection: RPCConnection, responder: RPCResponder) {
            switch answers.withLockedValue({ $0[request.method] }) {
            case .error(let error)?:
                return responder.fail(error)
            case .result(let value)?:
                return responder.succeed(value)
            case nil:
                break
            }
            let params: Data
            do {
                params = try JSONEncoder().encode(try request.params(JSONValue.self))
            } catch let error as RPCError {
                return responder.fail(error)
            } catch {
                return responder.fail(RPCError(.internalError, "fault proxy: cannot pass the params on: \(error)"))
            }
            upstream.callRaw(method: request.method, paramsJSON: params).whenComplete { result in
                switch result {
                case .success(let line):
                    do {
                        responder.succeed(try JSONRPC.decodeResult(JSONValue.self, from: line))
                    } catch {
                        responder.fail(RPCError(.internalError, "fault proxy: unreadable answer: \(error)"))
                    }
                case .failure(let error as RPCError):
                    responder.fail(error)
                case .failure(let error):
                    responder.fail(RPCError(.unavailable, "fault proxy: \(error)", temporary: true))
                }
            }
        }
    }
}
