import DNSCodec
import Testing

@testable import Relay

struct DNSResolverCacheTests {
    static let start = ContinuousClock.now

    static func question(_ index: Int) -> DNSQuestion { DNSQuestion(name: try! DNSName("h\(index).test"), type: .a) }

    static func positive(_ index: Int, ttl: UInt32) -> (DNSMessage, DNSAnswer) {
        let question = question(index)
        let message = DNSMessage(
            header: DNSHeader(id: 1, isResponse: true), questions: [question],
            answers: [DNSResourceRecord(name: question.name, ttl: ttl, data: .a(IPv4Address(127, 0, 0, 1)))])
        return (message, DNSAnswer(question: question, response: message))
    }

    @Test func keepsUntilTheTTLAndNoLonger() {
        var cache = DNSResolverCache(capacity: 10, maximumTTL: .seconds(86_400))
        let (message, answer) = Self.positive(1, ttl: 30)
        cache.store(message, for: Self.question(1), answer: answer, now: Self.start)
        #expect(cache.response(to: Self.question(1), now: Self.start + .seconds(29)) == message)
        #expect(cache.response(to: Self.question(1), now: Self.start + .seconds(30)) == nil)
        #expect(cache.count == 0)
    }

    @Test func capsTheTTL() {
        var cache = DNSResolverCache(capacity: 10, maximumTTL: .seconds(86_400))
        let (message, answer) = Self.positive(1, ttl: 0x7FFF_FFFF)
        cache.store(message, for: Self.question(1), answer: answer, now: Self.start)
        #expect(cache.response(to: Self.question(1), now: Self.start + .seconds(86_399)) != nil)
        #expect(cache.response(to: Self.question(1), now: Self.start + .seconds(86_400)) == nil)
    }

    @Test func keepsNeitherTTLZeroNorFailuresNorDenialsWithoutSOA() {
        var cache = DNSResolverCache(capacity: 10, maximumTTL: .seconds(86_400))
        let (message, answer) = Self.positive(1, ttl: 0)
        cache.store(message, for: Self.question(1), answer: answer, now: Self.start)
        cache.store(message, for: Self.question(2), answer: .failure(DNSLookupFailure(.serverFailure)), now: Self.start)
        cache.store(message, for: Self.question(3), answer: .noSuchName(canonicalName: .root, negativeTTL: nil), now: Self.start)
        cache.store(message, for: Self.question(4), answer: .noData(canonicalName: .root, negativeTTL: nil), now: Self.start)
        #expect(cache.count == 0)
        cache.store(message, for: Self.question(5), answer: .noData(canonicalName: .root, negativeTTL: 5), now: Self.start)
        #expect(cache.count == 1)
    }

    /// Full at `capacity`: one more entry pushes out what has expired, else the soonest to.
    @Test(arguments: [3, 4])
    func staysWithinCapacity(entries: Int) {
        var cache = DNSResolverCache(capacity: 3, maximumTTL: .seconds(86_400))
        for index in 0..<entries {
            let (message, answer) = Self.positive(index, ttl: UInt32(100 + index))
            cache.store(message, for: Self.question(index), answer: answer, now: Self.start)
        }
        #expect(cache.count == 3)
        let first = cache.response(to: Self.question(0), now: Self.start)
        #expect((first == nil) == (entries == 4))
        #expect(cache.response(to: Self.question(entries - 1), now: Self.start) != nil)
    }

    @Test func expiredEntriesGoFirst() {
        var cache = DNSResolverCache(capacity: 2, maximumTTL: .seconds(86_400))
        for (index, ttl) in [(0, 1000), (1, 10)] {
            let (message, answer) = Self.positive(index, ttl: UInt32(ttl))
            cache.store(message, for: Self.question(index), answer: answer, now: Self.start)
        }
        let (message, answer) = Self.positive(2, ttl: 50)
        cache.store(message, for: Self.question(2), answer: answer, now: Self.start + .seconds(20))
        #expect(cache.count == 2)
        #expect(cache.response(to: Self.question(0), now: Self.start + .seconds(20)) != nil)
    }
}
