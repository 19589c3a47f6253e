import MailCore
import SASL
import Testing

/// One thing that happens to an exchange after `start`, and what it must answer.
enum Input: Sendable, CustomStringConvertible {
    /// A client response line as sent (base64, empty or `*`).
    case line(String)
    /// The back-end's CRAM-MD5 challenge.
    case challengeIssued(String)
    /// The back-end's answer to a relayed message.
    case relayed(SASLRelayResult)

    var description: String {
        switch self {
        case .line(let line): "C: \(line)"
        case .challengeIssued(let challenge): "challenge \(challenge)"
        case .relayed(let result): "relayed \(result)"
        }
    }
}

/// An exchange from its start to its outcome.
struct Script: Sendable, CustomStringConvertible {
    let name: String
    let mechanism: SASLMechanism
    let initialResponse: SASLInitialResponse?
    let first: SASLAction
    let steps: [(Input, SASLAction)]

    var description: String { name }
}

func b64(_ text: String) -> String { Base64.encode(Array(text.utf8)) }
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// Feeds one input to the exchange.
func feed(_ exchange: inout SASLExchange, _ input: Input) -> SASLAction {
    switch input {
    case .line(let line): exchange.receive(line: Array(line.utf8))
    case .challengeIssued(let challenge): exchange.challengeIssued(challenge)
    case .relayed(let result): exchange.relayed(result)
    }
}

@Suite struct SASLExchangeTests {
    static let rfc2195Challenge = "<1896.697170952@postoffice.reston.mci.net>"
    static let scramClientFirst = "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL"
    static let scramServerFirst = "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"
    static let scramClientFinal = "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    static let scramServerFinal = "v=rmF9pqV8S7suAoZWja4dJRkFsKQ="

    /// Every mechanism, fed its messages as an initial response and as continuation steps.
    static let scripts: [Script] = [
        Script(
            name: "RFC 4616 §4 example 1, PLAIN as a continuation", mechanism: .plain, initialResponse: nil,
            first: .challenge([]),
            steps: [
                (
                    .line(b64("\0tim\0tanstaaftanstaaf")),
                    .authenticate(.plain(authorizationID: "", authenticationID: "tim", password: "tanstaaftanstaaf"))
                )
            ]),
        Script(
            name: "PLAIN as an initial response", mechanism: .plain,
            initialResponse: .bytes(bytes("\0tim\0tanstaaftanstaaf")),
            first: .authenticate(.plain(authorizationID: "", authenticationID: "tim", password: "tanstaaftanstaaf")),
            steps: []),
        Script(
            name: "PLAIN with authzid = authcid", mechanism: .plain, initialResponse: .bytes(bytes("tim\0tim\0pw")),
            first: .authenticate(.plain(authorizationID: "tim", authenticationID: "tim", password: "pw")), steps: []),
        Script(
            name: "LOGIN as continuations", mechanism: .login, initialResponse: nil,
            first: .challenge(bytes("Username:")),
            steps: [
                (.line(b64("alice")), .challenge(bytes("Password:"))),
                (.line(b64("secret")), .authenticate(.login(username: "alice", password: "secret"))),
            ]),
        Script(
            name: "LOGIN with the user name as initial response", mechanism: .login,
            initialResponse: .bytes(bytes("alice")), first: .challenge(bytes("Password:")),
            steps: [(.line(b64("secret")), .authenticate(.login(username: "alice", password: "secret")))]),
        Script(
            name: "LOGIN with an empty initial response asks for the user name", mechanism: .login,
            initialResponse: .empty, first: .challenge(bytes("Username:")),
            steps: [
                (.line(b64("alice")), .challenge(bytes("Password:"))),
                (.line(""), .authenticate(.login(username: "alice", password: ""))),
            ]),
        Script(
            name: "RFC 2195 §2 example, CRAM-MD5", mechanism: .cramMD5, initialResponse: nil,
            first: .issueChallenge(.cramMD5),
            steps: [
                (.challengeIssued(rfc2195Challenge), .challenge(bytes(rfc2195Challenge))),
                (
                    .line("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw"),
                    .authenticate(
                        .cramMD5(username: "tim", digest: "b913a602c7eda7a495b4e6e7334d3890", challenge: rfc2195Challenge))
                ),
            ]),
        Script(
            name: "CRAM-MD5 with upper-case hex, normalised", mechanism: .cramMD5, initialResponse: nil,
            first: .issueChallenge(.cramMD5),
            steps: [
                (.challengeIssued("<1.2@h>"), .challenge(bytes("<1.2@h>"))),
                (
                    .line(b64("tim tom B913A602C7EDA7A495B4E6E7334D3890")),
                    .authenticate(
                        .cramMD5(username: "tim tom", digest: "b913a602c7eda7a495b4e6e7334d3890", challenge: "<1.2@h>"))
                ),
            ]),
        Script(
            name: "SCRAM-SHA-256 relayed, client-first as a continuation", mechanism: .scramSHA256,
            initialResponse: nil, first: .challenge([]),
            steps: [
                (.line(b64(scramClientFirst)), .relay(bytes(scramClientFirst), first: true)),
                (.relayed(.challenge(bytes(scramServerFirst))), .challenge(bytes(scramServerFirst))),
                (.line(b64(scramClientFinal)), .relay(bytes(scramClientFinal), first: false)),
                (
                    .relayed(.succeeded(identity: "user", final: bytes(scramServerFinal))),
                    .challenge(bytes(scramServerFinal))
                ),
                (.line(""), .succeeded(identity: "user", additionalData: nil)),
            ]),
        Script(
            name: "SCRAM-SHA-256 relayed, client-first as initial response", mechanism: .scramSHA256,
            initialResponse: .bytes(bytes(scramClientFirst)), first: .relay(bytes(scramClientFirst), first: true),
            steps: [
                (.relayed(.challenge(bytes(scramServerFirst))), .challenge(bytes(scramServerFirst))),
                (.line(b64(scramClientFinal)), .relay(bytes(scramClientFinal), first: false)),
                (.relayed(.succeeded(identity: "user", final: nil)), .succeeded(identity: "user", additionalData: nil)),
            ]),
        Script(
            name: "SCRAM-SHA-256 with an empty initial response", mechanism: .scramSHA256, initialResponse: .empty,
            first: .relay([], first: true), steps: []),
        Script(
            name: "an unknown configured mechanism is relayed", mechanism: SASLMechanism("X-TOKEN")!,
            initialResponse: nil, first: .challenge([]),
            steps: [(.line(b64("token")), .relay(bytes("token"), first: true))]),
    ]

    @Test(arguments: scripts)
    func runsToItsOutcome(script: Script) {
        var exchange = SASLExchange(mechanism: script.mechanism)
        #expect(exchange.start(initialResponse: script.initialResponse) == script.first)
        for (input, expected) in script.steps {
            #expect(feed(&exchange, input) == expected, "\(input)")
        }
        if case .challenge = script.steps.last?.1 ?? script.first {
            #expect(exchange.isAwaitingResponse)
        } else if case .relay = script.steps.last?.1 ?? script.first {
            #expect(exchange.isAwaitingRelay)
        } else {
            #expect(exchange.isFinished)
        }
    }

    /// `*` ends the exchange at every point where it waits for the client (RFC 4954 §4, RFC 5034
    /// §4, RFC 3501 §6.2.2), and says whether the back-end holds state to forget.
    @Test(arguments: scripts)
    func cancelAtEveryStep(script: Script) {
        let clientTurns = script.steps.indices.filter { if case .line = script.steps[$0].0 { true } else { false } }
        for turn in clientTurns {
            var exchange = SASLExchange(mechanism: script.mechanism)
            _ = exchange.start(initialResponse: script.initialResponse)
            for (input, _) in script.steps[..<turn] { _ = feed(&exchange, input) }
            let relayWasOpen = exchange.isRelayOpen
            #expect(exchange.receive(line: Array("*".utf8)) == .failed(SASLError(.cancelled)), "step \(turn)")
            #expect(exchange.isFinished)
            #expect(exchange.isRelayOpen == relayWasOpen)
            #expect(exchange.receive(line: Array(b64("x").utf8)) == .failed(SASLError(.unexpectedInput)))
        }
    }

    /// The relay is open from the first relayed message until the back-end's outcome.
    @Test func relayOpenTracksTheBackEndsState() {
        var exchange = SASLExchange(mechanism: .scramSHA256)
        _ = exchange.start(initialResponse: nil)
        #expect(!exchange.isRelayOpen)
        _ = exchange.receive(line: Array(b64(Self.scramClientFirst).utf8))
        #expect(exchange.isRelayOpen)
        _ = exchange.relayed(.challenge(bytes(Self.scramServerFirst)))
        #expect(exchange.isRelayOpen)
        _ = exchange.receive(line: Array(b64(Self.scramClientFinal).utf8))
        _ = exchange.relayed(.succeeded(identity: "user", final: bytes(Self.scramServerFinal)))
        #expect(!exchange.isRelayOpen)
        #expect(exchange.receive(line: Array(b64("x").utf8)) == .failed(SASLError(.expectedEmptyResponse)))
    }

    /// LDAP carries server-final data in the bind response, so no empty response is asked for.
    @Test func successDataWithTheOutcome() {
        var exchange = SASLExchange(mechanism: .scramSHA256, successData: .withOutcome)
        _ = exchange.start(initialResponse: .bytes(bytes(Self.scramClientFirst)))
        _ = exchange.relayed(.challenge(bytes(Self.scramServerFirst)))
        _ = exchange.receive(.message(bytes(Self.scramClientFinal)))
        #expect(
            exchange.relayed(.succeeded(identity: "user", final: bytes(Self.scramServerFinal)))
                == .succeeded(identity: "user", additionalData: bytes(Self.scramServerFinal)))
        #expect(exchange.isFinished)
    }

    /// Lines that are not canonical base64 are refused at every client turn, never a crash.
    @Test(arguments: ["not base64!", "=", "QQ", "QQ=", "QR==", "QQ==QQ==", " QUFB", "QUFB ", "QU\u{0}B", "é"])
    func malformedBase64IsRefused(line: String) {
        for script in Self.scripts {
            var exchange = SASLExchange(mechanism: script.mechanism)
            guard case .challenge = exchange.start(initialResponse: nil) else { continue }
            #expect(exchange.receive(line: Array(line.utf8)) == .failed(SASLError(.invalidBase64)), "\(script)")
        }
        if line != "=" {
            #expect(SASLInitialResponse.parse(Array(line.utf8)) == .failure(SASLError(.invalidBase64)))
        }
    }

    @Test(arguments: [
        ("=", Result<SASLInitialResponse, SASLError>.success(.empty)),
        ("AGFsaWNlAHNlY3JldA==", .success(.bytes(bytes("\0alice\0secret")))),
        ("", .failure(SASLError(.invalidBase64))),
        ("==", .failure(SASLError(.invalidBase64))),
        ("*", .failure(SASLError(.invalidBase64))),
        ("YWxpY2U", .failure(SASLError(.invalidBase64))),
    ])
    func initialResponses(argument: String, expected: Result<SASLInitialResponse, SASLError>) {
        #expect(SASLInitialResponse.parse(Array(argument.utf8)) == expected)
    }

    /// `=` is an initial response of zero octets (RFC 4954 §4, RFC 5034 §4, RFC 4959 §3).
    @Test(arguments: [
        (SASLMechanism.plain, SASLAction.failed(SASLError(.malformedMessage))),
        (.login, .challenge(bytes("Username:"))),
        (.cramMD5, .failed(SASLError(.initialResponseNotAllowed))),
        (.scramSHA256, .relay([], first: true)),
    ])
    func emptyInitialResponse(mechanism: SASLMechanism, expected: SASLAction) {
        var exchange = SASLExchange(mechanism: mechanism)
        #expect(exchange.start(initialResponse: .empty) == expected)
    }

    @Test func cramMD5TakesNoInitialResponse() {
        var exchange = SASLExchange(mechanism: .cramMD5)
        #expect(exchange.start(initialResponse: .bytes(bytes("x"))) == .failed(SASLError(.initialResponseNotAllowed)))
    }

    /// Calls the exchange cannot be waiting for end it; none crashes.
    @Test func illegalCallsEndTheExchange() {
        var unstarted = SASLExchange(mechanism: .plain)
        #expect(unstarted.receive(line: Array("".utf8)) == .failed(SASLError(.unexpectedInput)))
        var plain = SASLExchange(mechanism: .plain)
        _ = plain.start(initialResponse: nil)
        #expect(plain.challengeIssued("<1@h>") == .failed(SASLError(.unexpectedInput)))
        var cram = SASLExchange(mechanism: .cramMD5)
        _ = cram.start(initialResponse: nil)
        #expect(cram.receive(line: Array("".utf8)) == .failed(SASLError(.unexpectedInput)))
        var scram = SASLExchange(mechanism: .scramSHA256)
        _ = scram.start(initialResponse: nil)
        #expect(scram.relayed(.challenge([])) == .failed(SASLError(.unexpectedInput)))
        var twice = SASLExchange(mechanism: .login)
        _ = twice.start(initialResponse: nil)
        #expect(twice.start(initialResponse: nil) == .failed(SASLError(.unexpectedInput)))
    }
}
