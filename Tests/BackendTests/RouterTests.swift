import Testing

@testable import Backend
@testable import Storage

/// The routing rules as a table over an in-memory directory (no database).
@Suite struct RouterTests {
    static func account(_ id: Int64, _ address: String, forward: String? = nil, keep: Bool = false, enabled: Bool = true) -> AccountRecord {
        AccountRecord(
            id: id, address: address, displayName: nil, passwordHash: "", scramSHA256: nil, quotaBytes: 0, maxMessageBytes: 0,
            forwardTo: forward, forwardKeepCopy: keep, apopSecret: nil, mayManageMailboxes: true, enabled: enabled, usedBytes: 0,
            messageCount: 0, createdAt: 0)
    }

    static let directory: [String: LocalAddress] = [
        "alice@a.test": .account(account(1, "alice@a.test")),
        "bob@a.test": .account(account(2, "bob@a.test", forward: "far@remote.test", keep: true)),
        "carol@a.test": .account(account(3, "carol@a.test", forward: "alice@a.test", keep: false)),
        "off@a.test": .account(account(4, "off@a.test", enabled: false)),
        "loop1@a.test": .account(account(5, "loop1@a.test", forward: "loop2@a.test")),
        "loop2@a.test": .account(account(6, "loop2@a.test", forward: "loop1@a.test")),
        "team@a.test": .group(members: ["alice@a.test", "bob@a.test", "ALICE@a.test", "team@a.test", "all@a.test"]),
        "all@a.test": .group(members: ["team@a.test", "carol@a.test", "ext@remote.test"]),
        "postmaster@a.test": .alias(targets: ["alice@a.test", "nobody@a.test"]),
        "self@a.test": .alias(targets: ["self@a.test"]),
    ]

    var router: Router {
        Router(isLocalDomain: { $0 == "a.test" }, lookup: { Self.directory[$0] ?? .none })
    }

    @Test(
        arguments: [
            ("alice@a.test", false, [1], [], nil),
            ("ALICE@A.TEST", false, [1], [], nil),
            ("alice+news@a.test", false, [1], [], nil),
            ("bob@a.test", false, [2], ["far@remote.test"], nil),
            ("carol@a.test", false, [1], [], nil),
            ("off@a.test", false, [], [], .disabled),
            ("loop1@a.test", false, [], [], .loop),
            ("self@a.test", false, [], [], .loop),
            ("nobody@a.test", false, [], [], .noSuchUser),
            ("postmaster@a.test", false, [1], [], nil),
            ("team@a.test", false, [1, 2], ["far@remote.test", "ext@remote.test"], nil),
            ("x@remote.test", false, [], [], .relayDenied),
            ("x@remote.test", true, [], ["x@remote.test"], nil),
        ] as [(String, Bool, [Int64], [String], Route.Failure?)])
    func route(recipient: String, mayRelay: Bool, accounts: [Int64], remote: [String], failure: Route.Failure?) throws {
        let r = try router.route(recipient, mayRelay: mayRelay)
        #expect(r.accounts.map(\.id) == accounts)
        #expect(r.remote == remote)
        #expect(r.isEmpty ? r.failure == failure : true)
    }

    @Test func expansionIsBounded() throws {
        // a group of 200 groups of 200 members each stops at Router.maxExpansion addresses
        let big = Router(
            isLocalDomain: { _ in true },
            lookup: { address in
                if address == "top@x.test" { return .group(members: (0..<200).map { "g\($0)@x.test" }) }
                if address.hasPrefix("g") { return .group(members: (0..<200).map { "m\($0)-\(address)" }) }
                return .account(Self.account(Int64(address.hashValue & 0xFFFF), address))
            })
        let r = try big.route("top@x.test", mayRelay: false)
        #expect(r.accounts.count < Router.maxExpansion)
    }
}

@Suite struct LoginThrottleTests {
    @Test func delaysGrowAndDecay() {
        var policy = LoginThrottle.Policy()
        policy.freeAttempts = 2
        policy.baseDelayMs = 1000
        policy.maxDelayMs = 4000
        var t = LoginThrottle(policy: policy)
        var now: Int64 = 1_000_000
        #expect(t.retryAfterMs(account: "a", address: "1.1.1.1", nowMs: now) == nil)
        t.recordFailure(account: "a", address: "1.1.1.1", nowMs: now)
        #expect(t.retryAfterMs(account: "a", address: "1.1.1.1", nowMs: now) == nil)
        t.recordFailure(account: "a", address: "1.1.1.1", nowMs: now)
        #expect(t.retryAfterMs(account: "a", address: "9.9.9.9", nowMs: now) == 1000)  // per account
        #expect(t.retryAfterMs(account: "b", address: "1.1.1.1", nowMs: now) == nil)  // not per address alone
        now += 1000
        #expect(t.retryAfterMs(account: "a", address: "1.1.1.1", nowMs: now) == nil)
        t.recordFailure(account: "a", address: "1.1.1.1", nowMs: now)
        #expect(t.retryAfterMs(account: "a", address: nil, nowMs: now) == 2000)
        for _ in 0..<10 { t.recordFailure(account: "a", address: nil, nowMs: now) }
        #expect(t.retryAfterMs(account: "a", address: nil, nowMs: now) == 4000)  // capped
        now += Int64(policy.forgetAfterMs)
        #expect(t.retryAfterMs(account: "a", address: nil, nowMs: now) == nil)
        t.recordFailure(account: "a", address: nil, nowMs: now)
        #expect(t.retryAfterMs(account: "a", address: nil, nowMs: now) == nil)  // forgotten, counts anew
    }

    @Test func successClears() {
        var t = LoginThrottle(policy: LoginThrottle.Policy())
        for _ in 0..<5 { t.recordFailure(account: "a", address: "x", nowMs: 0) }
        t.recordSuccess(account: "a", address: "x")
        #expect(t.retryAfterMs(account: "a", address: "x", nowMs: 0) == nil)
    }

    /// One step of a throttle table: a failure recorded, or a question asked, at a time.
    enum Step: Sendable, CustomTestStringConvertible {
        case fail(String, from: String, at: Int64)
        case succeed(String, from: String)
        case allowed(String, from: String, at: Int64)
        case refused(String, from: String, at: Int64)
        var testDescription: String { "\(self)" }
    }

    static let nat = "192.0.2.1"
    static let tables: [(String, [Step])] = [
        (
            "three failures for alice do not throttle bob behind the same address",
            [
                .fail("alice", from: nat, at: 0), .fail("alice", from: nat, at: 0), .fail("alice", from: nat, at: 0),
                .refused("alice", from: nat, at: 0), .refused("alice", from: "198.51.100.7", at: 0), .allowed("bob", from: nat, at: 0),
            ]
        ),
        (
            "failures across many accounts from one address throttle it at ten times the threshold",
            (0..<29).map { Step.fail("u\($0)", from: nat, at: 0) } + [
                .allowed("bob", from: nat, at: 0), .fail("u29", from: nat, at: 0),
                .refused("bob", from: nat, at: 0), .allowed("bob", from: "198.51.100.7", at: 0),
            ]
        ),
        (
            "the address's throttle decays like the others",
            (0..<30).map { Step.fail("u\($0)", from: nat, at: 0) } + [
                .refused("bob", from: nat, at: 999), .allowed("bob", from: nat, at: 1000),
            ]
        ),
        (
            "a success clears the account and the pair, not the address",
            (0..<30).map { Step.fail("u\($0 % 3)", from: nat, at: 0) } + [.succeed("u0", from: nat), .refused("u0", from: nat, at: 0)]
        ),
        (
            "per-account throttling holds across addresses",
            [
                .fail("alice", from: "198.51.100.1", at: 0), .fail("alice", from: "198.51.100.2", at: 0),
                .fail("alice", from: "198.51.100.3", at: 0), .refused("alice", from: "198.51.100.4", at: 0),
                .allowed("bob", from: "198.51.100.1", at: 0),
            ]
        ),
    ]

    @Test(arguments: tables) func perAddressAndAccount(name: String, steps: [Step]) {
        var t = LoginThrottle(policy: LoginThrottle.Policy())
        for step in steps {
            switch step {
            case .fail(let account, let address, let now): t.recordFailure(account: account, address: address, nowMs: now)
            case .succeed(let account, let address): t.recordSuccess(account: account, address: address)
            case .allowed(let account, let address, let now):
                #expect(t.retryAfterMs(account: account, address: address, nowMs: now) == nil, "\(name): \(step)")
            case .refused(let account, let address, let now):
                #expect(t.retryAfterMs(account: account, address: address, nowMs: now) != nil, "\(name): \(step)")
            }
        }
    }

    @Test func memoryIsBounded() {
        var policy = LoginThrottle.Policy()
        policy.maxKeys = 100
        var t = LoginThrottle(policy: policy)
        for i in 0..<1000 { t.recordFailure(account: "u\(i)", address: nil, nowMs: Int64(i)) }
        #expect(t.entries.count <= 100)
    }
}

@Suite struct CredentialTests {
    @Test func rfcVectors() {
        // RFC 1939 §7 and RFC 2195 §2 examples.
        #expect(
            Credentials.apopDigest(timestamp: "<1896.697170952@dbc.mtview.ca.us>", secret: "tanstaaf") == "c4c9334bac560ecc979e58001b3e22fb"
        )
        #expect(
            Credentials.cramDigest(challenge: "<1896.697170952@postoffice.reston.mci.net>", secret: "tanstaaftanstaaf")
                == "b913a602c7eda7a495b4e6e7334d3890")
    }
}
