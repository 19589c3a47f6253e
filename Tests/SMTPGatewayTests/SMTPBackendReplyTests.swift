import RPCProtocol
import SMTPCodec
import Testing

@testable import SMTPGateway

/// `SMTPBackend.reply`, the one table from back-end error kinds to SMTP replies (STYLE §8), row
/// by row: the same reply whether the kind comes as an RPC error (a failed `delivery.check`,
/// `delivery.submit`, `upload.*`) or as a recipient's outcome (at RCPT or after the dot).
struct SMTPBackendReplyTests {
    /// Kind name, `data.temporary`, and the reply's code and enhanced code.
    static let table: [(kind: String, temporary: Bool, reply: String)] = [
        ("no_such_user", false, "550 5.1.1"),
        ("relay_denied", false, "550 5.7.1"),
        ("account_disabled", false, "550 5.2.1"),
        ("loop_detected", false, "554 5.4.6"),
        ("too_big", false, "552 5.3.4"),
        ("quota_exceeded", true, "452 4.2.2"),
        ("quota_exceeded", false, "552 5.2.2"),
        ("too_many_recipients", false, "452 4.5.3"),
        // RFC 5321 §4.2.2, RFC 3463 X.3.1; the kind is always temporary (Protocol §5), so a
        // missing flag must not make it permanent.
        ("storage_full", true, "452 4.3.1"),
        ("storage_full", false, "452 4.3.1"),
        ("invalid_address", false, "501 5.1.3"),
        ("internal_error", true, "451 4.3.0"),
        ("internal_error", false, "451 4.3.0"),
        ("unavailable", true, "451 4.3.0"),
        ("timeout", true, "451 4.3.0"),
        ("overloaded", true, "451 4.3.0"),
        ("session_invalid", false, "451 4.3.0"),
        ("no_such_upload", false, "451 4.3.0"),
        // Protocol §5, §11: a kind this build does not know goes by its flag.
        ("disk_on_fire", true, "451 4.3.0"),
        ("disk_on_fire", false, "550 5.0.0"),
    ]

    static func codes(_ reply: SMTPReply?) -> String {
        guard let reply else { return "none" }
        return "\(reply.code) \(reply.enhancedCode.map(String.init(describing:)) ?? "-")"
    }

    @Test(arguments: table)
    func anRPCErrorOfEachKind(kind: String, temporary: Bool, reply: String) {
        let error = RPCError(code: 1, message: "m", data: .init(kind: kind, temporary: temporary ? true : nil))
        #expect(Self.codes(SMTPBackend.reply(for: error)) == reply)
    }

    @Test(arguments: table)
    func aFailedRecipientOfEachKind(kind: String, temporary: Bool, reply: String) {
        let outcome = RPCProtocol.RecipientOutcome(
            recipient: "alice@example.test", status: .failed, kind: kind, message: "m", temporary: temporary)
        #expect(Self.codes(SMTPBackend.reply(for: outcome)) == reply)
    }

    @Test func storageFullHasItsOwnText() {
        let reply = SMTPBackend.reply(for: RPCError(.storageFull, "no space left on device", temporary: true))
        #expect(reply == .insufficientStorage)
        #expect(reply.description == "452 4.3.1 Insufficient system storage\r\n")
    }

    @Test func anythingButAnRPCErrorIsALocalError() {
        struct Broken: Error {}
        #expect(SMTPBackend.reply(for: Broken()) == .localError)
    }

    @Test(arguments: [RPCProtocol.RecipientOutcome.Status.accepted, .delivered, .queued])
    func aRecipientThatDidNotFailHasNoReply(status: RPCProtocol.RecipientOutcome.Status) {
        #expect(SMTPBackend.reply(for: RPCProtocol.RecipientOutcome(recipient: "alice@example.test", status: status)) == nil)
    }
}
