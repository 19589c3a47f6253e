import DNSCodec
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import Relay

/// A DNS server on 127.0.0.1 for the resolver's tests: UDP and TCP on the same port number,
/// answering each query with what the script returns (any number of messages, none at all
/// included) and counting the questions it was asked.
final class ScriptedDNSServer: Sendable {
    typealias Script = @Sendable (_ question: DNSQuestion, _ id: UInt16, _ overTCP: Bool) -> [DNSMessage]

    let port: Int
    let log: QueryLog
    private let channels: [any Channel]

    private init(port: Int, log: QueryLog, channels: [any Channel]) {
        self.port = port
        self.log = log
        self.channels = channels
    }

    /// `spoofed` answers are sent first, from another socket on 127.0.0.1: what an off-path
    /// attacker who guessed the port and id would send.
    static func start(_ script: @escaping Script, spoofed: Script? = nil) async throws -> ScriptedDNSServer {
        let group = MultiThreadedEventLoopGroup.singleton
        let log = QueryLog()
        let spoofer = try await DatagramBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        for _ in 0..<10 {
            let udp = try await DatagramBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = DatagramServerHandler(script: script, spoofed: spoofed, spoofer: spoofer, log: log)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            let port = udp.localAddress!.port!
            do {
                let tcp = try await ServerBootstrap(group: group)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(StreamServerHandler(script: script, log: log))
                        }
                    }
                    .bind(host: "127.0.0.1", port: port).get()
                return ScriptedDNSServer(port: port, log: log, channels: [udp, tcp, spoofer])
            } catch {
                try? await udp.close()  // the TCP port was taken: try another pair
            }
        }
        try? await spoofer.close()
        throw ChannelError.inputClosed
    }

    func stop() async {
        for channel in channels { try? await channel.close() }
    }
}

/// The questions a server was asked, by transport. Its lock guards `entries`, the only state,
/// so instances may be shared across event loops and the test.
final class QueryLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(DNSQuestion, Bool)] = []

    func record(_ question: DNSQuestion, overTCP: Bool) { lock.withLock { entries.append((question, overTCP)) } }

    func count(_ name: String, _ type: DNSRecordType, overTCP: Bool? = nil) -> Int {
        let question = DNSQuestion(name: try! DNSName(name), type: type)
        return lock.withLock { entries.filter { $0.0 == question && (overTCP == nil || $0.1 == overTCP) }.count }
    }

    var total: Int { lock.withLock { entries.count } }
}

private func serve(_ bytes: [UInt8], script: ScriptedDNSServer.Script, log: QueryLog, overTCP: Bool) -> [[UInt8]] {
    guard let query = try? DNSMessage.parse(bytes), let question = query.questions.first else { return [] }
    log.record(question, overTCP: overTCP)
    return script(question, query.header.id, overTCP).compactMap { try? $0.encoded() }
}

private final class DatagramServerHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>
    let script: ScriptedDNSServer.Script
    let spoofed: ScriptedDNSServer.Script?
    let spoofer: any Channel
    let log: QueryLog

    init(script: @escaping ScriptedDNSServer.Script, spoofed: ScriptedDNSServer.Script?, spoofer: any Channel, log: QueryLog) {
        self.script = script
        self.spoofed = spoofed
        self.spoofer = spoofer
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        var forgeries: [EventLoopFuture<Void>] = []
        if let spoofed, let query = try? DNSMessage.parse(Array(envelope.data.readableBytesView)), let question = query.questions.first {
            for reply in spoofed(question, query.header.id, false) {
                guard let bytes = try? reply.encoded() else { continue }
                forgeries.append(
                    spoofer.writeAndFlush(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: bytes))))
            }
        }
        let replies = serve(Array(envelope.data.readableBytesView), script: script, log: log, overTCP: false)
        // The real answers leave only once the forged ones have been sent, so the forged arrive first.
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        EventLoopFuture.andAllComplete(forgeries, on: context.eventLoop).whenComplete { _ in
            let context = bound.value
            for reply in replies {
                let envelope = AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: ByteBuffer(bytes: reply))
                context.write(NIOAny(envelope), promise: nil)
            }
            context.flush()
        }
    }
}

private final class StreamServerHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let script: ScriptedDNSServer.Script
    let log: QueryLog
    var framer = DNSTCPFramer()

    init(script: @escaping ScriptedDNSServer.Script, log: QueryLog) {
        self.script = script
        self.log = log
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        framer.append(unwrapInboundIn(data).readableBytesView)
        while let bytes = try? framer.nextMessage() {
            for reply in serve(bytes, script: script, log: log, overTCP: true) {
                context.write(wrapOutboundOut(ByteBuffer(bytes: DNSTCPFramer.frame(reply))), promise: nil)
            }
            context.flush()
        }
    }
}

/// A clock the test moves. Its lock guards `instant`.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var instant = ContinuousClock.now

    func now() -> ContinuousClock.Instant { lock.withLock { instant } }
    func advance(by duration: Duration) { lock.withLock { instant += duration } }
}

// MARK: Zone data

private func name(_ text: String) -> DNSName { try! DNSName(text) }

private func reply(
    _ question: DNSQuestion, id: UInt16, code: DNSResponseCode = .noError, truncated: Bool = false, answers: [DNSResourceRecord] = [],
    authorities: [DNSResourceRecord] = []
) -> DNSMessage {
    DNSMessage(
        header: DNSHeader(id: id, isResponse: true, isTruncated: truncated, recursionAvailable: true, responseCode: code),
        questions: [question], answers: answers, authorities: authorities)
}

private func soa(_ zone: String, ttl: UInt32 = 300, minimum: UInt32 = 60) -> DNSResourceRecord {
    DNSResourceRecord(
        name: name(zone), ttl: ttl,
        data: .soa(
            DNSStartOfAuthority(
                primaryServer: name("ns.\(zone)"), mailbox: name("hostmaster.\(zone)"), serial: 1, refresh: 3600, retry: 600,
                expire: 86400, minimum: minimum)))
}

/// A small zone under `test.`: what a recursive server would answer for each name and type.
/// Names not listed are NXDOMAIN; listed names without the type asked are NODATA.
private func zone(_ question: DNSQuestion, _ id: UInt16) -> DNSMessage {
    let owner = question.name
    func record(_ data: DNSRecordData, ttl: UInt32 = 300) -> DNSResourceRecord { DNSResourceRecord(name: owner, ttl: ttl, data: data) }
    func mx(_ preference: UInt16, _ exchange: String) -> DNSResourceRecord { record(.mx(preference: preference, exchange: name(exchange))) }
    let records: [String: [DNSRecordType: [DNSResourceRecord]]] = [
        "example.test": [.mx: [mx(20, "mx2.example.test"), mx(10, "mx1.example.test")]],
        "mx1.example.test": [.a: [record(.a(IPv4Address(127, 0, 0, 10)))], .aaaa: [record(.aaaa(IPv6Address("::1")!))]],
        "mx2.example.test": [.a: [record(.a(IPv4Address(127, 0, 0, 20))), record(.a(IPv4Address(127, 0, 0, 21)))]],
        "implicit.test": [.a: [record(.a(IPv4Address(127, 0, 0, 5)))]],
        "nullmx.test": [.mx: [mx(0, ".")]],
        "broken.test": [.mx: [mx(10, "gone.test"), mx(20, "noaddress.test")]],
        "flaky.test": [.mx: [mx(10, "gone.test"), mx(20, "servfail.test")]],
        "noaddress.test": [.txt: []],
        "cached.test": [.mx: [record(.mx(preference: 1, exchange: name("mx1.example.test")), ttl: 120)]],
    ]
    if owner == name("servfail.test") { return reply(question, id: id, code: .serverFailure) }
    if owner == name("loop1.test") {
        return reply(question, id: id, answers: [DNSResourceRecord(name: owner, ttl: 300, data: .cname(name("loop2.test")))])
    }
    if owner == name("loop2.test") {
        return reply(question, id: id, answers: [DNSResourceRecord(name: owner, ttl: 300, data: .cname(name("loop1.test")))])
    }
    guard let types = records[owner.lowercased.description] else {
        return reply(question, id: id, code: .nameError, authorities: [soa("test", ttl: 300, minimum: 60)])
    }
    guard let answers = types[question.type], !answers.isEmpty else { return reply(question, id: id, authorities: [soa("test")]) }
    return reply(question, id: id, answers: answers)
}

// MARK: Tests

@Suite struct DNSResolverTests {
    static func resolver(
        _ servers: [ScriptedDNSServer], timeout: Duration = .seconds(20), attempts: Int = 2, clock: TestClock = TestClock()
    ) -> DNSResolver {
        let configuration = DNSResolverConfiguration(
            nameservers: servers.map { (host: "127.0.0.1", port: $0.port) }, timeout: timeout, attempts: attempts, cacheEntries: 100)
        return DNSResolver(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton, now: { clock.now() })
    }

    /// Starts a server with `script`, runs `body` against it, stops it.
    static func withServer(
        _ script: @escaping ScriptedDNSServer.Script = { question, id, _ in [zone(question, id)] },
        spoofed: ScriptedDNSServer.Script? = nil,
        _ body: (ScriptedDNSServer) async throws -> Void
    ) async throws {
        let server = try await ScriptedDNSServer.start(script, spoofed: spoofed)
        do {
            try await body(server)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    @Test func exchangesInPreferenceOrderWithTheirAddresses() async throws {
        try await Self.withServer { server in
            let result = await Self.resolver([server]).resolveMX("Example.TEST.")
            #expect(
                result
                    == .hosts([
                        MXHost(name: "mx1.example.test", preference: 10, addresses: ["::1", "127.0.0.10"]),
                        MXHost(name: "mx2.example.test", preference: 20, addresses: ["127.0.0.20", "127.0.0.21"]),
                    ]))
        }
    }

    @Test func noDataMeansTheImplicitMX() async throws {
        try await Self.withServer { server in
            #expect(
                await Self.resolver([server]).resolveMX("implicit.test")
                    == .hosts([MXHost(name: "implicit.test", preference: 0, addresses: ["127.0.0.5"])]))
            #expect(server.log.count("implicit.test", .a) == 1 && server.log.count("implicit.test", .aaaa) == 1)
        }
    }

    @Test(arguments: [
        ("nowhere.test", MXResolution.noSuchDomain), ("nullmx.test", .nullMX),
        // Every exchange NXDOMAIN or without addresses: RFC 5321 §5.1, "MUST be reported as an error".
        ("broken.test", .noSuchDomain), ("noaddress.test", .noSuchDomain),
        (String(repeating: "a", count: 64) + ".test", .noSuchDomain),
    ])
    func permanentOutcomes(domain: String, expected: MXResolution) async throws {
        try await Self.withServer { server in
            #expect(await Self.resolver([server]).resolveMX(domain) == expected)
        }
    }

    @Test(arguments: ["servfail.test", "flaky.test", "loop1.test"])
    func temporaryOutcomes(domain: String) async throws {
        try await Self.withServer { server in
            guard case .temporaryFailure = await Self.resolver([server]).resolveMX(domain) else {
                Issue.record("\(domain) is not a temporary failure")
                return
            }
        }
    }

    @Test func serverFailureIsAskedOfEveryServerOnEveryAttempt() async throws {
        try await Self.withServer { first in
            try await Self.withServer { second in
                let result = await Self.resolver([first, second], attempts: 2).resolveMX("servfail.test")
                #expect(result == .temporaryFailure("MX servfail.test: SERVFAIL: servfail.test MX"))
                #expect(first.log.count("servfail.test", .mx) == 2 && second.log.count("servfail.test", .mx) == 2)
            }
        }
    }

    @Test func aCNAMELoopAcrossQueriesEnds() async throws {
        try await Self.withServer { server in
            let result = await Self.resolver([server]).resolveMX("loop1.test")
            guard case .temporaryFailure(let text) = result else {
                Issue.record("\(result)")
                return
            }
            #expect(text.contains("CNAME loop"))
            #expect(server.log.count("loop1.test", .mx) == 1 && server.log.count("loop2.test", .mx) == 1)
        }
    }

    @Test func answersWithTheWrongIdOrQuestionAreIgnored() async throws {
        try await Self.withServer({ question, id, _ in
            let right = zone(question, id)
            var wrongID = right
            wrongID.header.id = id &+ 1
            wrongID.answers = [DNSResourceRecord(name: question.name, ttl: 300, data: .a(IPv4Address(127, 0, 0, 66)))]
            var wrongQuestion = wrongID
            wrongQuestion.header.id = id
            wrongQuestion.questions = [DNSQuestion(name: name("evil.test"), type: question.type)]
            var query = right
            query.header.isResponse = false
            return [wrongID, wrongQuestion, query, right]
        }) { server in
            #expect(await Self.resolver([server]).addresses(of: "implicit.test") == .success(["127.0.0.5"]))
        }
    }

    /// The right id and question from the wrong address: ignored, the real answer taken.
    @Test func answersFromAnotherAddressAreIgnored() async throws {
        let forged: ScriptedDNSServer.Script = { question, id, _ in
            [reply(question, id: id, answers: [DNSResourceRecord(name: question.name, ttl: 300, data: .a(IPv4Address(127, 0, 0, 66)))])]
        }
        try await Self.withServer(spoofed: forged) { server in
            #expect(await Self.resolver([server]).addresses(of: "implicit.test") == .success(["127.0.0.5"]))
        }
    }

    @Test func aTruncatedAnswerIsAskedAgainOverTCP() async throws {
        try await Self.withServer({ question, id, overTCP in
            let full = zone(question, id)
            return overTCP ? [full] : [reply(question, id: id, truncated: true)]
        }) { server in
            let result = await Self.resolver([server]).resolveMX("example.test")
            guard case .hosts(let hosts) = result else {
                Issue.record("\(result)")
                return
            }
            #expect(hosts.map(\.name) == ["mx1.example.test", "mx2.example.test"])
            #expect(server.log.count("example.test", .mx, overTCP: false) == 1)
            #expect(server.log.count("example.test", .mx, overTCP: true) == 1)
        }
    }

    @Test func answersAreCachedUntilTheirTTLRunsOut() async throws {
        try await Self.withServer { server in
            let clock = TestClock()
            let resolver = Self.resolver([server], clock: clock)
            let expected = MXResolution.hosts([MXHost(name: "mx1.example.test", preference: 1, addresses: ["::1", "127.0.0.10"])])
            #expect(await resolver.resolveMX("cached.test") == expected)
            #expect(await resolver.resolveMX("CACHED.test") == expected)
            #expect(server.log.count("cached.test", .mx) == 1 && server.log.count("mx1.example.test", .a) == 1)
            clock.advance(by: .seconds(119))
            #expect(await resolver.resolveMX("cached.test") == expected)
            #expect(server.log.count("cached.test", .mx) == 1)
            clock.advance(by: .seconds(1))  // MX TTL 120: gone; the exchange's A (300) stays
            #expect(await resolver.resolveMX("cached.test") == expected)
            #expect(server.log.count("cached.test", .mx) == 2 && server.log.count("mx1.example.test", .a) == 1)
        }
    }

    /// RFC 2308 §5: NXDOMAIN kept for min(SOA TTL, MINIMUM), here 60 seconds.
    @Test func denialsAreCachedForTheirNegativeTTL() async throws {
        try await Self.withServer { server in
            let clock = TestClock()
            let resolver = Self.resolver([server], clock: clock)
            #expect(await resolver.resolveMX("nowhere.test") == .noSuchDomain)
            clock.advance(by: .seconds(59))
            #expect(await resolver.resolveMX("nowhere.test") == .noSuchDomain)
            #expect(server.log.count("nowhere.test", .mx) == 1)
            clock.advance(by: .seconds(1))
            #expect(await resolver.resolveMX("nowhere.test") == .noSuchDomain)
            #expect(server.log.count("nowhere.test", .mx) == 2)
        }
    }

    @Test func failuresAreNotCached() async throws {
        try await Self.withServer { server in
            let resolver = Self.resolver([server], attempts: 1)
            _ = await resolver.resolveMX("servfail.test")
            _ = await resolver.resolveMX("servfail.test")
            #expect(server.log.count("servfail.test", .mx) == 2)
        }
    }

    /// A server that never answers, a short timeout: the result only, not the time it took.
    @Test func aSilentServerTimesOut() async throws {
        try await Self.withServer({ _, _, _ in [] }) { server in
            let result = await Self.resolver([server], timeout: .milliseconds(200), attempts: 1).resolveMX("example.test")
            guard case .temporaryFailure(let text) = result else {
                Issue.record("\(result)")
                return
            }
            #expect(text.hasPrefix("MX example.test: timed out"))
            // One attempt: asked once at most (on a loaded machine the datagram may not even
            // have reached the server's log within the 200 ms).
            #expect(server.log.count("example.test", .mx) <= 1)
        }
    }

    @Test func theNextServerIsTriedAfterASilentOne() async throws {
        try await Self.withServer({ _, _, _ in [] }) { silent in
            try await Self.withServer { server in
                // Long enough for the live server to answer on a loaded machine; the silent one
                // costs the test this much once.
                let resolver = Self.resolver([silent, server], timeout: .seconds(3), attempts: 1)
                #expect(await resolver.addresses(of: "implicit.test") == .success(["127.0.0.5"]))
                #expect(silent.log.count("implicit.test", .a) == 1 && server.log.count("implicit.test", .a) == 1)
            }
        }
    }

    @Test func addressesOfHosts() async throws {
        try await Self.withServer { server in
            let resolver = Self.resolver([server])
            #expect(await resolver.addresses(of: "mx1.example.test") == .success(["::1", "127.0.0.10"]))
            #expect(await resolver.addresses(of: "127.0.0.9") == .success(["127.0.0.9"]))
            #expect(await resolver.addresses(of: "0:0::1") == .success(["::1"]))
            #expect(await resolver.addresses(of: "nowhere.test") == .failure(DNSResolverError(.noSuchDomain, "nowhere.test")))
            #expect(await resolver.addresses(of: "noaddress.test") == .failure(DNSResolverError(.noAddresses, "noaddress.test")))
            #expect(await resolver.addresses(of: "a..test") == .failure(DNSResolverError(.invalidName, "a..test")))
            guard case .failure(let error) = await resolver.addresses(of: "servfail.test") else {
                Issue.record("servfail.test resolved")
                return
            }
            #expect(error.isTemporary)
        }
    }

    @Test func noUsableNameserverIsATemporaryFailure() async {
        let configuration = DNSResolverConfiguration(nameservers: [(host: "not-an-address", port: 53)])
        let resolver = DNSResolver(configuration: configuration, group: MultiThreadedEventLoopGroup.singleton)
        guard case .temporaryFailure = await resolver.resolveMX("example.test") else {
            Issue.record("resolved without a nameserver")
            return
        }
    }
}

struct DNSResolverConfigurationTests {
    @Test func readsResolvConf() {
        let configuration = DNSResolverConfiguration(resolvConf: "nameserver 127.0.0.53\nnameserver ::1\noptions timeout:2 attempts:3\n")
        #expect(configuration.nameservers.map(\.host) == ["127.0.0.53", "::1"])
        #expect(configuration.nameservers.map(\.port) == [53, 53])
        #expect(configuration.timeout == .seconds(2) && configuration.attempts == 3)
        #expect(configuration.cacheEntries == 10_000 && configuration.maximumCNAMEChain == 8)
    }

    @Test func aMissingFileMeansLoopback() {
        let configuration = DNSResolverConfiguration.system(path: "/nonexistent/resolv.conf")
        #expect(configuration.nameservers.map(\.host) == ["127.0.0.1"])
        #expect(configuration.timeout == .seconds(5) && configuration.attempts == 2)
    }
}
