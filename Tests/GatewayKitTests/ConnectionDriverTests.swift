import LoftTestSupport
import NIOCore
import NIOEmbedded
import NIOSSL
import Testing

@testable import GatewayKit

/// A toy line protocol, so the driver is tested without SMTP or POP3: `WAIT` asks the
/// "back-end" (the test answers with `answer`), `STARTTLS` upgrades, `LOGIN` logs in, `QUIT`
/// closes, anything else is echoed.
struct ToySession: DrivenSession {
    enum Event {
        case line(String)
        /// Message data after `DATA`, taken as it comes (as SMTP's session takes DATA).
        case bulk(Int)
        case answer
        case signal(ConnectionSignal)
    }
    enum Action {
        case send(String)
        case callBackend
        case startTLS
        case close
    }

    var seen: [String] = []
    var waiting = false
    var loggedIn = false
    var inData = false

    mutating func nextEvent(from inbound: inout ByteBuffer) -> Event? {
        if inData, inbound.readableBytes > 0 {
            let count = inbound.readableBytes
            inbound.moveReaderIndex(forwardBy: count)
            return .bulk(count)
        }
        guard let end = inbound.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        // Bytes, not Characters: Swift takes "\r\n" as one Character.
        let line = inbound.readString(length: end - inbound.readerIndex - 1)!
        inbound.moveReaderIndex(forwardBy: 2)
        return .line(line)
    }

    mutating func receive(_ event: Event) -> [Action] {
        switch event {
        case .line(let line):
            seen.append(line)
            switch line {
            case "WAIT":
                waiting = true
                return [.callBackend]
            case "STARTTLS": return [.send("OK"), .startTLS]
            case "LOGIN":
                loggedIn = true
                return [.send("WELCOME")]
            case "QUIT": return [.send("BYE"), .close]
            case "DATA":
                inData = true
                return [.send("GO AHEAD")]
            default: return [.send("ECHO \(line)")]
            }
        case .bulk:
            return []
        case .answer:
            waiting = false
            return [.send("ANSWERED")]
        case .signal(.timeout(let reason)):
            return [.send("TIMEOUT \(reason)"), .close]
        case .signal:
            return []
        }
    }

    func event(for signal: ConnectionSignal) -> Event? { .signal(signal) }
    var isWaiting: Bool { waiting }
    func hasPartialInput(_ inbound: ByteBuffer) -> Bool { inData || inbound.readableBytes > 0 }
    var isAuthenticated: Bool { loggedIn }
    mutating func discardBufferedInput() {}
}

final class ToyAdapter: ConnectionAdapter {
    typealias Session = ToySession
    var backendCalls = 0
    var closed = false

    func connectionOpened(_ driver: ConnectionDriver<ToyAdapter>) {
        driver.write(ByteBuffer(string: "HELLO\r\n"))
        driver.flushIfNeeded()
    }

    func perform(_ action: ToySession.Action, _ driver: ConnectionDriver<ToyAdapter>) {
        switch action {
        case .send(let text): driver.write(ByteBuffer(string: text + "\r\n"))
        case .callBackend: backendCalls += 1
        case .startTLS: driver.startTLS()
        case .close: driver.closeAfterWrites()
        }
    }

    func connectionClosed(_ driver: ConnectionDriver<ToyAdapter>) { closed = true }
}

/// Holds every write without completing it.
final class StuckWrites: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var held: [EventLoopPromise<Void>?] = []
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        held.append(promise)
    }
    func flush(context: ChannelHandlerContext) {}
    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        for write in held { write?.fail(ChannelError.ioOnClosedChannel) }
        held = []
        context.close(mode: mode, promise: promise)
    }
}

/// Counts the reads that reach the head of the pipeline: what the driver lets through.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer
    var reads = 0
    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

struct ToyConnection {
    let channel: EmbeddedChannel
    let driver: ConnectionDriver<ToyAdapter>
    let adapter: ToyAdapter
    let counter = ReadCounter()
    var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

    init(
        timeouts: ConnectionTimeouts = ConnectionTimeouts(idle: .seconds(300)), limiter: ConnectionLimiter? = nil,
        tls: NIOSSLContext? = nil
    ) throws {
        channel = EmbeddedChannel()
        adapter = ToyAdapter()
        let info = ConnectionInfo(
            clientAddress: ClientAddress(ip: "192.0.2.1"),
            listener: Listener(host: "127.0.0.1", port: 0, tls: tls == nil ? .none : .startTLS), startTLSContext: tls)
        driver = ConnectionDriver(session: ToySession(), adapter: adapter, info: info, timeouts: timeouts, limiter: limiter)
        try channel.pipeline.syncOperations.addHandler(counter)
        try channel.pipeline.syncOperations.addHandler(driver)
        try channel.connect(to: SocketAddress(ipAddress: "192.0.2.1", port: 1)).wait()
    }

    func send(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    /// Everything written since the last call, as text.
    func output() throws -> String {
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }
}

@Suite struct ConnectionDriverTests {
    @Test func pipelinedCommandsAreAnsweredInOrderOneRoundAtATime() throws {
        let c = try ToyConnection()
        #expect(try c.output() == "HELLO\r\n")
        try c.send("A\r\nB\r\nWAIT\r\nC\r\n")
        // Everything before WAIT is answered; C waits for the back-end's answer.
        #expect(try c.output() == "ECHO A\r\nECHO B\r\n")
        #expect(c.driver.session.seen == ["A", "B", "WAIT"])
        c.driver.feed(.answer)
        #expect(try c.output() == "ANSWERED\r\nECHO C\r\n")
        #expect(c.driver.session.seen == ["A", "B", "WAIT", "C"])
    }

    @Test func manyPipelinedCommandsDoNotRecurse() throws {
        let c = try ToyConnection()
        _ = try c.output()
        try c.send(String(repeating: "N\r\n", count: 20_000))
        #expect(c.driver.session.seen.count == 20_000)
    }

    @Test func readsAreHeldWhileTheSessionWaitsAndResumeAfter() throws {
        let c = try ToyConnection()
        try c.send("WAIT\r\n")
        let before = c.counter.reads
        c.channel.pipeline.read()
        c.channel.pipeline.read()
        #expect(c.counter.reads == before)
        c.driver.feed(.answer)
        #expect(c.counter.reads == before + 1)
    }

    @Test func aClientThatNeverReadsStopsBeingRead() throws {
        let c = try ToyConnection()
        c.channel.isWritable = false
        c.channel.pipeline.fireChannelWritabilityChanged()
        let before = c.counter.reads
        c.channel.pipeline.read()
        c.channel.pipeline.read()
        #expect(c.counter.reads == before)
        c.channel.isWritable = true
        c.channel.pipeline.fireChannelWritabilityChanged()
        #expect(c.counter.reads == before + 1)
    }

    @Test func bufferedInputIsBounded() throws {
        let c = try ToyConnection()
        try c.send("WAIT\r\n")
        let chunk = String(repeating: "x", count: 1000) + "\r\n"
        for _ in 0..<70 { try c.send(chunk) }
        let before = c.counter.reads
        c.channel.pipeline.read()
        #expect(c.counter.reads == before)
        #expect(c.driver.inbound.readableBytes <= 70 * 1002)
    }

    @Test func startTLSDropsWhatWasPipelinedAfterIt() throws {
        let files = try TestCertificate.write()
        let tls = try GatewayTLS.serverContext(certificatePath: files.certificate, keyPath: files.key)
        let c = try ToyConnection(tls: tls)
        _ = try c.output()
        try c.send("STARTTLS\r\nSTOLEN\r\n")
        #expect(c.driver.session.seen == ["STARTTLS"])
        #expect(c.driver.inbound.readableBytes == 0)
        #expect((try? c.channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self)) != nil)
        _ = try? c.channel.finish()
    }

    @Test func idleTimeoutOnTheManualClock() throws {
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300), authentication: nil))
        _ = try c.output()
        c.loop.advanceTime(by: .seconds(200))
        try c.send("A\r\n")
        c.loop.advanceTime(by: .seconds(299))
        #expect(try c.output() == "ECHO A\r\n")
        c.loop.advanceTime(by: .seconds(1))
        #expect(try c.output() == "TIMEOUT idle\r\n")
        #expect(!c.channel.isActive)
        #expect(c.adapter.closed)
    }

    @Test func aDrippedCommandLineIsCutAtTheCommandTimeout() throws {
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300), command: .seconds(60), authentication: nil))
        _ = try c.output()
        // One byte every 3 s: the idle timer would restart at each; the command deadline does not.
        for byte in "NOOPNOOPNOOPNOOPNOOP" {
            try c.send(String(byte))
            c.loop.advanceTime(by: .seconds(3))
            if !c.channel.isActive { break }
        }
        #expect(try c.output() == "TIMEOUT command\r\n")
        #expect(!c.channel.isActive)
    }

    @Test func drippedMessageDataIsCutThoughEveryByteIsConsumed() throws {
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300), command: .seconds(60), authentication: nil))
        try c.send("DATA\r\n")
        _ = try c.output()
        for _ in 0..<40 {
            try c.send("z")
            c.loop.advanceTime(by: .seconds(2))
            if !c.channel.isActive { break }
        }
        #expect(try c.output() == "TIMEOUT command\r\n")
        #expect(!c.channel.isActive)
    }

    @Test func slowButSteadyBulkDataKeepsGoing() throws {
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300), command: .seconds(60), authentication: nil))
        _ = try c.output()
        // 4 KiB every 50 s (82 bytes/s) of one long unit: progress each window, never cut.
        for _ in 0..<10 {
            try c.send(String(repeating: "y", count: 4096))
            c.loop.advanceTime(by: .seconds(50))
        }
        #expect(c.channel.isActive)
        try c.send("\r\n")
        #expect(try c.output().hasPrefix("ECHO yyyy"))
    }

    @Test func loginMustHappenInTime() throws {
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300), authentication: .seconds(120)))
        _ = try c.output()
        for _ in 0..<5 {
            c.loop.advanceTime(by: .seconds(25))
            try c.send("NOOP\r\n")
        }
        #expect(try c.output().hasSuffix("TIMEOUT authentication\r\n"))

        let d = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300), authentication: .seconds(120)))
        try d.send("LOGIN\r\n")
        d.loop.advanceTime(by: .seconds(250))
        #expect(d.channel.isActive)
    }

    @Test func underStressStrangersGetShortTimeoutsAndUsersKeepTheirs() throws {
        let limiter = ConnectionLimiter(perAddress: 10, total: 4)
        for address in ["a", "b", "c"] { #expect(limiter.admit(address)) }
        #expect(limiter.isStressed)
        let timeouts = ConnectionTimeouts(idle: .seconds(300), stressedIdle: .seconds(10))
        let stranger = try ToyConnection(timeouts: timeouts, limiter: limiter)
        let user = try ToyConnection(timeouts: timeouts, limiter: limiter)
        try user.send("LOGIN\r\n")
        stranger.loop.advanceTime(by: .seconds(10))
        user.loop.advanceTime(by: .seconds(10))
        #expect(!stranger.channel.isActive)
        #expect(user.channel.isActive)
    }

    @Test func stressBeginningLaterIsNoticed() throws {
        let limiter = ConnectionLimiter(perAddress: 10, total: 4)
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300)), limiter: limiter)
        c.loop.advanceTime(by: .seconds(5))
        #expect(c.channel.isActive)
        for address in ["a", "b", "c"] { #expect(limiter.admit(address)) }
        c.loop.advanceTime(by: .seconds(5))
        #expect(!c.channel.isActive)
    }

    @Test func stressEndingBeforeTheStressedDeadlineLeavesTheNormalOne() throws {
        let limiter = ConnectionLimiter(perAddress: 10, total: 4)
        for address in ["a", "b", "c"] { #expect(limiter.admit(address)) }
        let c = try ToyConnection(
            timeouts: ConnectionTimeouts(idle: .seconds(300), command: .seconds(60), authentication: nil), limiter: limiter)
        try c.send("dripping")
        limiter.release("a")
        #expect(!limiter.isStressed)
        // Past the stressed deadline (10 s) with no stress: the driver must neither cut nor spin.
        c.loop.advanceTime(by: .seconds(30))
        #expect(c.channel.isActive)
        // Stress comes back: the overdue stressed deadline applies within a second.
        #expect(limiter.admit("a"))
        c.loop.advanceTime(by: .seconds(1))
        #expect(!c.channel.isActive)
    }

    @Test func aLoginDeadlinePassingWhileTheBackEndIsAskedNeitherSpinsNorCuts() throws {
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(300), authentication: .seconds(120)))
        c.loop.advanceTime(by: .seconds(119))
        try c.send("WAIT\r\n")
        // Past the login deadline while waiting: looked at once a second, not in a loop.
        c.loop.advanceTime(by: .seconds(30))
        #expect(c.channel.isActive)
        c.driver.feed(.answer)
        c.loop.advanceTime(by: .seconds(1))
        #expect(!c.channel.isActive)
    }

    @Test func aClientThatStopsReadingIsClosedAfterTheGrace() throws {
        let c = try ToyConnection()
        // Writes that never complete: a peer whose window stays shut.
        try c.channel.pipeline.syncOperations.addHandler(StuckWrites(), position: .first)
        c.driver.closeAfterWrites()
        c.loop.advanceTime(by: .seconds(9))
        #expect(c.channel.isActive)
        c.loop.advanceTime(by: .seconds(1))
        #expect(!c.channel.isActive)
    }

    @Test func timeWaitingForTheBackEndIsNotTheClients() throws {
        let c = try ToyConnection(timeouts: ConnectionTimeouts(idle: .seconds(30), command: .seconds(10), authentication: nil))
        try c.send("WAIT\r\npartial")
        c.loop.advanceTime(by: .seconds(100))
        #expect(c.channel.isActive)
        c.driver.feed(.answer)
        c.loop.advanceTime(by: .seconds(9))
        #expect(c.channel.isActive)
        c.loop.advanceTime(by: .seconds(1))
        #expect(!c.channel.isActive)
    }
}

@Suite struct ConnectionDeadlineTests {
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000)
    let timeouts = ConnectionTimeouts(
        idle: .seconds(300), command: .seconds(60), authentication: .seconds(120), progressBytes: 4096,
        stressedIdle: .seconds(10), stressedCommand: .seconds(5), stressedAuthentication: .seconds(30))

    @Test func theEarliestRuleWins() {
        var d = ConnectionDeadlines(timeouts: timeouts, now: t0)
        #expect(d.next(stressed: false) == (t0 + .seconds(120), .authentication))
        d.authenticated()
        #expect(d.next(stressed: false) == (t0 + .seconds(300), .idle))
        d.received(3, partial: true, now: t0 + .seconds(1))
        #expect(d.next(stressed: false) == (t0 + .seconds(61), .command))
        d.received(3, partial: true, now: t0 + .seconds(2))
        #expect(d.next(stressed: false) == (t0 + .seconds(61), .command))
        d.received(3, partial: false, now: t0 + .seconds(3))
        #expect(d.next(stressed: false) == (t0 + .seconds(303), .idle))
    }

    @Test func progressRenewsTheCommandWindow() {
        var d = ConnectionDeadlines(timeouts: timeouts, now: t0)
        d.authenticated()
        d.received(4095, partial: true, now: t0)
        d.received(1, partial: true, now: t0 + .seconds(59))
        #expect(d.next(stressed: false) == (t0 + .seconds(119), .command))
    }

    @Test func stressAppliesOnlyBeforeLogin() {
        var d = ConnectionDeadlines(timeouts: timeouts, now: t0)
        #expect(d.next(stressed: true) == (t0 + .seconds(10), .idle))
        #expect(d.wakeUp(stressed: false) == t0 + .seconds(10))
        d.received(1, partial: true, now: t0 + .seconds(1))
        #expect(d.next(stressed: true) == (t0 + .seconds(6), .command))
        d.authenticated()
        #expect(d.next(stressed: true) == (t0 + .seconds(61), .command))
        #expect(d.expired(now: t0 + .seconds(61), stressed: true) == .command)
        #expect(d.expired(now: t0 + .seconds(60), stressed: true) == nil)
    }

    @Test func stressedValuesNeverExceedTheNormalOnes() {
        let t = ConnectionTimeouts(idle: .seconds(5), command: .seconds(3), authentication: .seconds(4))
        #expect(t.stressedIdle == .seconds(5) && t.stressedCommand == .seconds(3) && t.stressedAuthentication == .seconds(4))
    }
}

@Suite struct StressedLimiterTests {
    @Test func anAddressGetsOnlyItsShareUnderStress() {
        let limiter = ConnectionLimiter(perAddress: 8, total: 8)
        #expect(limiter.stressThreshold == 6 && limiter.stressedPerAddress == 2)
        for _ in 0..<6 { #expect(limiter.admit("crowd")) }
        #expect(limiter.isStressed)
        #expect(!limiter.admit("crowd"))
        #expect(limiter.admit("fresh") && limiter.admit("fresh"))
        #expect(!limiter.admit("fresh"))
    }
}
