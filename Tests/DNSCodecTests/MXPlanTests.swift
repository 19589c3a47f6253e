import Testing

@testable import DNSCodec

struct DNSAnswerTests {
    static let question = DNSQuestion(name: .valid("example.org"), type: .mx)

    static let cases: [(String, DNSMessage, DNSAnswer)] = [
        (
            "records",
            response(to: question, answers: [mx("example.org", 10, "mx.example.org", ttl: 600), a("mx.example.org", "192.0.2.1")]),
            .records([.mx(preference: 10, exchange: .valid("mx.example.org"))], canonicalName: .valid("example.org"), ttl: 600)
        ),
        (
            "owner in another case", response(to: question, answers: [mx("EXAMPLE.ORG", 10, "mx.example.org")]),
            .records([.mx(preference: 10, exchange: .valid("mx.example.org"))], canonicalName: .valid("example.org"), ttl: 300)
        ),
        (
            "records for other names ignored", response(to: question, answers: [mx("evil.example", 10, "mx.evil.example")]),
            .noData(canonicalName: .valid("example.org"), negativeTTL: nil)
        ),
        (
            "a chain of two",
            response(
                to: question,
                answers: [
                    cname("example.org", "mail.example.net", ttl: 100), cname("mail.example.net", "mail.example.com", ttl: 900),
                    mx("mail.example.com", 5, "mx.example.com", ttl: 600),
                ]),
            .records([.mx(preference: 5, exchange: .valid("mx.example.com"))], canonicalName: .valid("mail.example.com"), ttl: 100)
        ),
        (
            "a chain that stops", response(to: question, answers: [cname("example.org", "elsewhere.example", ttl: 50)]),
            .alias(.valid("elsewhere.example"), via: [.valid("example.org")], ttl: 50)
        ),
        (
            "NODATA after a chain",
            response(
                to: question, answers: [cname("example.org", "elsewhere.example", ttl: 500)],
                authorities: [soa("example", ttl: 3600, minimum: 900)]),
            .noData(canonicalName: .valid("elsewhere.example"), negativeTTL: 500)
        ),
        (
            "NODATA, SOA TTL lower", response(to: question, authorities: [soa("example.org", ttl: 60, minimum: 3600)]),
            .noData(canonicalName: .valid("example.org"), negativeTTL: 60)
        ),
        (
            "NODATA, MINIMUM lower", response(to: question, authorities: [soa("example.org", ttl: 3600, minimum: 120)]),
            .noData(canonicalName: .valid("example.org"), negativeTTL: 120)
        ),
        (
            "NXDOMAIN", response(to: question, code: .nameError, authorities: [soa("org", ttl: 900, minimum: 86400)]),
            .noSuchName(canonicalName: .valid("example.org"), negativeTTL: 900)
        ),
        (
            "NXDOMAIN at the end of a chain", response(to: question, code: .nameError, answers: [cname("example.org", "gone.example")]),
            .noSuchName(canonicalName: .valid("gone.example"), negativeTTL: nil)
        ),
        (
            "a loop", response(to: question, answers: [cname("example.org", "b.example"), cname("b.example", "example.org")]),
            .failure(DNSLookupFailure(.aliasLoop))
        ),
        (
            "a name aliased to itself", response(to: question, answers: [cname("example.org", "EXAMPLE.org")]),
            .failure(DNSLookupFailure(.aliasLoop))
        ),
        ("SERVFAIL", response(to: question, code: .serverFailure), .failure(DNSLookupFailure(.serverFailure))),
        ("REFUSED", response(to: question, code: .refused), .failure(DNSLookupFailure(.refused))),
        ("FORMERR", response(to: question, code: .formatError), .failure(DNSLookupFailure(.responseCode))),
    ]

    @Test(arguments: cases)
    func reads(label: String, message: DNSMessage, expected: DNSAnswer) throws {
        // Through the wire, so compression and parsing are part of it.
        let answer = DNSAnswer(question: Self.question, response: try DNSMessage.parse(try message.encoded()))
        #expect(Self.withoutDetail(answer) == expected, "\(label)")
    }

    static func withoutDetail(_ answer: DNSAnswer) -> DNSAnswer {
        if case .failure(let failure) = answer { return .failure(DNSLookupFailure(failure.code)) }
        return answer
    }

    /// Eight aliases followed, then the records: accepted; nine: too many.
    @Test(arguments: [(8, true), (9, false)])
    func aliasChainLimit(length: Int, accepted: Bool) {
        let names = (0...length).map { "n\($0).example" }
        var records = (0..<length).map { cname(names[$0], names[$0 + 1]) }
        records.append(mx(names[length], 1, "mx.example"))
        let question = DNSQuestion(name: .valid(names[0]), type: .mx)
        let answer = DNSAnswer(question: question, response: response(to: question, answers: records))
        if accepted {
            #expect(
                answer == .records([.mx(preference: 1, exchange: .valid("mx.example"))], canonicalName: .valid(names[length]), ttl: 300))
        } else {
            #expect(Self.withoutDetail(answer) == .failure(DNSLookupFailure(.tooManyAliases)))
        }
    }

    @Test func aliasesFromEarlierQueriesCount() {
        let question = DNSQuestion(name: .valid("b.example"), type: .a)
        let message = response(to: question, answers: [cname("b.example", "a.example")])
        let loop = DNSAnswer(question: question, response: message, aliasesFollowed: [.valid("a.example")])
        #expect(Self.withoutDetail(loop) == .failure(DNSLookupFailure(.aliasLoop)))
        let earlier = (0..<8).map { DNSName.valid("e\($0).example") }
        let long = DNSAnswer(question: question, response: message, aliasesFollowed: earlier)
        #expect(Self.withoutDetail(long) == .failure(DNSLookupFailure(.tooManyAliases)))
        let again = DNSAnswer(question: question, response: message, aliasesFollowed: [.valid("b.example")])
        #expect(Self.withoutDetail(again) == .failure(DNSLookupFailure(.aliasLoop)))
    }
}

struct MXPlanTests {
    static let question = DNSQuestion(name: .valid("example.org"), type: .mx)

    static func plan(_ message: DNSMessage, seed: UInt64 = 1) -> MXPlan {
        var generator = SeededGenerator(seed: seed)
        return MXPlan(answer: DNSAnswer(question: question, response: message), using: &generator)
    }

    static func exchanges(_ list: [(String, UInt16)]) -> MXPlan {
        .exchanges(list.map { MXExchange(host: .valid($0.0), preference: $0.1) })
    }

    static let cases: [(String, DNSMessage, MXPlan)] = [
        (
            "sorted by preference",
            response(to: question, answers: [mx("example.org", 20, "b.example"), mx("example.org", 10, "a.example")]),
            exchanges([("a.example", 10), ("b.example", 20)])
        ),
        ("null MX", response(to: question, answers: [mx("example.org", 0, ".")]), .nullMX),
        ("null MX with a preference of 10", response(to: question, answers: [mx("example.org", 10, ".")]), .nullMX),
        (
            "null MX beside a real one",
            response(to: question, answers: [mx("example.org", 0, "."), mx("example.org", 10, "mx.example.org")]),
            exchanges([("mx.example.org", 10)])
        ),
        (
            "a host listed twice keeps its best preference",
            response(to: question, answers: [mx("example.org", 30, "mx.example.org"), mx("example.org", 10, "MX.example.org")]),
            exchanges([("mx.example.org", 10)])
        ),
        (
            "NODATA", response(to: question, authorities: [soa("example.org", ttl: 60, minimum: 60)]),
            .implicitMX(.valid("example.org"))
        ),
        (
            "NODATA after a CNAME",
            response(
                to: question, answers: [cname("example.org", "host.example.net")], authorities: [soa("example.net", ttl: 60, minimum: 60)]),
            .implicitMX(.valid("host.example.net"))
        ),
        ("NXDOMAIN", response(to: question, code: .nameError), .noSuchDomain),
        ("a chain to follow", response(to: question, answers: [cname("example.org", "x.example")]), .alias(.valid("x.example"))),
        (
            "MX after a CNAME", response(to: question, answers: [cname("example.org", "x.example"), mx("x.example", 5, "mx.x.example")]),
            exchanges([("mx.x.example", 5)])
        ),
        ("SERVFAIL", response(to: question, code: .serverFailure), .temporaryFailure(DNSLookupFailure(.serverFailure, "example.org MX"))),
    ]

    @Test(arguments: cases)
    func plans(label: String, message: DNSMessage, expected: MXPlan) {
        #expect(Self.plan(message) == expected, "\(label)")
    }

    @Test func timeoutsAndTruncationAreTemporary() {
        var generator = SeededGenerator(seed: 1)
        for code in [DNSLookupFailure.Code.timeout, .truncated, .network] {
            let failure = DNSLookupFailure(code)
            #expect(MXPlan(answer: .failure(failure), using: &generator) == .temporaryFailure(failure))
        }
    }

    /// Equal preferences come out in an order the generator decides, every order for some
    /// seed, and always after the better preference and before the worse.
    @Test func shufflesEqualPreferences() {
        let message = response(
            to: Self.question,
            answers: [
                mx("example.org", 20, "z.example"), mx("example.org", 10, "b.example"), mx("example.org", 10, "c.example"),
                mx("example.org", 10, "a.example"), mx("example.org", 5, "first.example"),
            ])
        var orders: Set<[String]> = []
        for seed in 0..<200 as Range<UInt64> {
            guard case .exchanges(let list) = Self.plan(message, seed: seed) else {
                Issue.record("not exchanges")
                return
            }
            #expect(list.map(\.preference) == [5, 10, 10, 10, 20])
            #expect(list.first?.host == .valid("first.example") && list.last?.host == .valid("z.example"))
            orders.insert(list[1...3].map(\.host.description))
        }
        #expect(orders.count == 6)
        #expect(Self.plan(message, seed: 42) == Self.plan(message, seed: 42))
    }
}

struct ResolvConfTests {
    static let cases: [(String, String, ResolvConf)] = [
        ("empty", "", .default),
        (
            "a Debian file", "# Generated by NetworkManager\nsearch example.org\nnameserver 192.0.2.53\nnameserver 2001:db8::53\n",
            ResolvConf(nameservers: [IPAddress("192.0.2.53")!, IPAddress("2001:db8::53")!])
        ),
        (
            "at most three", "nameserver 192.0.2.1\nnameserver 192.0.2.2\nnameserver 192.0.2.3\nnameserver 192.0.2.4\n",
            ResolvConf(nameservers: ["192.0.2.1", "192.0.2.2", "192.0.2.3"].map { IPAddress($0)! })
        ),
        (
            "comments and bad lines",
            "; comment\n#nameserver 192.0.2.9\nnameserver\nnameserver localhost\nnameserver fe80::1%eth0\n"
                + "  nameserver\t192.0.2.7 # the office\nnameservers 192.0.2.8\r\n",
            ResolvConf(nameservers: [IPAddress("192.0.2.7")!])
        ),
        (
            "options", "nameserver ::1\noptions ndots:2 timeout:3 attempts:4 rotate\n",
            ResolvConf(nameservers: [IPAddress("::1")!], timeoutSeconds: 3, attempts: 4)
        ),
        ("the last options win", "options timeout:3\noptions timeout:7\n", ResolvConf(timeoutSeconds: 7)),
        ("options at the maximum", "options timeout:30 attempts:5", ResolvConf(timeoutSeconds: 30, attempts: 5)),
        ("options over the maximum", "options timeout:31 attempts:6", ResolvConf(timeoutSeconds: 30, attempts: 5)),
        ("options far over", "options timeout:99999999999999999999", ResolvConf(timeoutSeconds: 30)),
        ("options of zero", "options timeout:0 attempts:0", ResolvConf(timeoutSeconds: 1, attempts: 1)),
        ("options not numbers", "options timeout:x attempts:-1 timeout:", .default),
        ("no nameserver that parses", "nameserver 999.1.1.1\n", .default),
    ]

    @Test(arguments: cases)
    func parses(label: String, text: String, expected: ResolvConf) {
        #expect(ResolvConf.parse(text) == expected, "\(label)")
    }

    @Test func defaultsAreGlibcs() {
        #expect(ResolvConf.default.nameservers == [IPAddress("127.0.0.1")!])
        #expect(ResolvConf.default.timeoutSeconds == 5 && ResolvConf.default.attempts == 2)
    }
}
