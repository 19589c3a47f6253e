import POP3Codec
import RPCProtocol
import Testing

@testable import POP3Gateway

/// `POP3Backend`'s error mapping, kind by kind (STYLE §8): what a failed login answers, and
/// which failures are `-ERR [IN-USE]` rather than the `-ERR [SYS/TEMP]` of every other failed
/// call (RFC 2449 §8.1.2, RFC 3206 §4).
struct POP3BackendMappingTests {
    static func error(_ kind: String, retryAfterMs: Int? = nil, temporary: Bool? = nil) -> RPCError {
        RPCError(code: 1, message: "m", data: .init(kind: kind, retryAfterMs: retryAfterMs, temporary: temporary))
    }

    static let logins: [(RPCError, POP3AuthFailure)] = [
        (error("auth_failed"), .invalidCredentials),
        (error("account_disabled"), .invalidCredentials),
        (error("invalid_params"), .invalidCredentials),
        (error("auth_throttled", retryAfterMs: 1500, temporary: true), .throttled(retryAfterSeconds: 2)),
        (error("auth_throttled", temporary: true), .throttled(retryAfterSeconds: nil)),
        (error("storage_full", temporary: true), .temporaryFailure),
        (error("storage_full"), .temporaryFailure),
        (error("internal_error"), .temporaryFailure),
        (error("unavailable", temporary: true), .temporaryFailure),
        (error("overloaded", temporary: true), .temporaryFailure),
        (error("disk_on_fire"), .temporaryFailure),
    ]

    @Test(arguments: logins)
    func aFailedLogin(error: RPCError, failure: POP3AuthFailure) {
        #expect(POP3Backend.authFailure(error) == failure)
    }

    @Test func aNonRPCFailureIsTemporary() {
        struct Broken: Error {}
        #expect(POP3Backend.authFailure(Broken()) == .temporaryFailure)
        #expect(!POP3Backend.isInUse(Broken()))
    }

    static let maildrop: [(RPCError, Bool)] = [
        (error("in_use", temporary: true), true),
        (error("storage_full", temporary: true), false),
        (error("internal_error"), false),
        (error("no_such_lock"), false),
    ]

    @Test(arguments: maildrop)
    func onlyInUseIsInUse(error: RPCError, inUse: Bool) {
        #expect(POP3Backend.isInUse(error) == inUse)
    }
}
