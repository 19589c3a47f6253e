import LoftTestSupport
import RPCProtocol
import RPCTransport
import Testing

/// The password an administrator sets (issue 14): at least `minPasswordLength` characters
/// (default 8), never the address or its local part, on `account.add` and `account.update`.
@Suite(.timeLimit(.minutes(1))) struct PasswordPolicyTests {
    /// (password, accepted, what the refusal says). The account is carol@example.test.
    static let rows: [(String, Bool, String)] = [
        ("1234567", false, "7 characters long; at least 8"),
        ("12345678", true, ""),
        ("ÅÅÅÅÅÅÅ", false, "7 characters long"),  // characters, not UTF-8 bytes (14 here)
        ("ÅÅÅÅÅÅÅÅ", true, ""),
        ("carolcarol", true, ""),
        ("CAROL@example.test", false, "address or its local part"),
        ("", false, "must not be empty"),
    ]

    static func refusal(_ body: () async throws -> Void) async -> RPCError? {
        do {
            try await body()
            return nil
        } catch {
            return error as? RPCError
        }
    }

    @Test func addAndUpdateFollowTheTable() async throws {
        let h = try await BackendHarness(name: "loft-password-policy") { $0.minPasswordLength = 8 }
        _ = try await h.admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "carol@example.test", password: "a-good-one"))
        for (password, accepted, message) in Self.rows {
            // carol exists, so an add whose password passes fails after the check, on that.
            let add = await Self.refusal {
                _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "carol@example.test", password: password))
            }
            let update = await Self.refusal {
                _ = try await h.admin.call(Methods.accountUpdate, AccountUpdateParams(address: "carol@example.test", password: password))
            }
            if accepted {
                #expect(
                    add?.kind == "account_exists" && update == nil, "\(password): \(String(describing: add)), \(String(describing: update))"
                )
            } else {
                for refusal in [add, update] {
                    #expect(refusal?.kind == "invalid_params", "\(password): \(String(describing: refusal))")
                    #expect(refusal?.message.contains(message) == true, "\(password): \(String(describing: refusal?.message))")
                }
            }
        }
        await h.close()
    }

    /// The local part the refusal means is the account's own, in any case.
    @Test func theLocalPartIsRefusedInAnyCase() async throws {
        let h = try await BackendHarness(name: "loft-password-policy") { $0.minPasswordLength = 8 }
        _ = try await h.admin.call(Methods.domainAdd, DomainParams(name: "example.test"))
        await #expect(throws: RPCError.self) {
            _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "postmaster@example.test", password: "PostMaster"))
        }
        _ = try await h.admin.call(Methods.accountAdd, AccountAddParams(address: "postmaster@example.test", password: "PostMaster1"))
        await h.close()
    }
}
