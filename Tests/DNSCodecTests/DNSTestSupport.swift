@testable import DNSCodec

/// Builds messages octet by octet, for the inputs `DNSMessage.encoded()` will not write:
/// pointers in odd places, wrong lengths, counts that lie.
struct WireBuilder {
    var bytes: [UInt8] = []

    /// A header with the given counts; flags default to a recursive NOERROR response.
    static func header(
        id: UInt16 = 0x1234, flags: UInt16 = 0x8180, questions: Int = 0, answers: Int = 0, authorities: Int = 0, additionals: Int = 0
    ) -> WireBuilder {
        var builder = WireBuilder()
        for value in [Int(id), Int(flags), questions, answers, authorities, additionals] { builder.u16(value) }
        return builder
    }

    var count: Int { bytes.count }

    mutating func u16(_ value: Int) { bytes += [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    mutating func u32(_ value: UInt32) { bytes += [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: value >> $0) } }
    mutating func raw(_ octets: [UInt8]) { bytes += octets }

    /// Labels from dotted text, uncompressed, ending in the root.
    mutating func name(_ text: String) {
        for label in text.split(separator: ".") {
            bytes.append(UInt8(label.utf8.count))
            bytes += label.utf8
        }
        bytes.append(0)
    }

    mutating func pointer(to offset: Int) { u16(0xC000 | offset) }

    mutating func question(_ text: String, type: UInt16 = 15) {
        name(text)
        u16(Int(type))
        u16(1)
    }

    /// TYPE CLASS TTL RDLENGTH RDATA after an owner name already written.
    mutating func recordTail(type: UInt16, ttl: UInt32 = 300, data: [UInt8]) {
        u16(Int(type))
        u16(1)
        u32(ttl)
        u16(data.count)
        bytes += data
    }
}

extension DNSName {
    /// A name the test knows is valid.
    static func valid(_ text: String) -> DNSName { try! DNSName(text) }
}

/// A response to `question`, built with the codec's own encoder.
func response(
    to question: DNSQuestion, id: UInt16 = 7, code: DNSResponseCode = .noError, truncated: Bool = false,
    answers: [DNSResourceRecord] = [], authorities: [DNSResourceRecord] = [], additionals: [DNSResourceRecord] = []
) -> DNSMessage {
    DNSMessage(
        header: DNSHeader(id: id, isResponse: true, isTruncated: truncated, recursionAvailable: true, responseCode: code),
        questions: [question], answers: answers, authorities: authorities, additionals: additionals)
}

func mx(_ owner: String, _ preference: UInt16, _ exchange: String, ttl: UInt32 = 300) -> DNSResourceRecord {
    DNSResourceRecord(name: .valid(owner), ttl: ttl, data: .mx(preference: preference, exchange: .valid(exchange)))
}

func cname(_ owner: String, _ target: String, ttl: UInt32 = 300) -> DNSResourceRecord {
    DNSResourceRecord(name: .valid(owner), ttl: ttl, data: .cname(.valid(target)))
}

func a(_ owner: String, _ address: String, ttl: UInt32 = 300) -> DNSResourceRecord {
    DNSResourceRecord(name: .valid(owner), ttl: ttl, data: .a(IPv4Address(address)!))
}

func aaaa(_ owner: String, _ address: String, ttl: UInt32 = 300) -> DNSResourceRecord {
    DNSResourceRecord(name: .valid(owner), ttl: ttl, data: .aaaa(IPv6Address(address)!))
}

func soa(_ owner: String, ttl: UInt32, minimum: UInt32) -> DNSResourceRecord {
    DNSResourceRecord(
        name: .valid(owner), ttl: ttl,
        data: .soa(
            DNSStartOfAuthority(
                primaryServer: .valid("ns1.\(owner)"), mailbox: .valid("hostmaster.\(owner)"), serial: 2026_12_02, refresh: 3600,
                retry: 600, expire: 86400, minimum: minimum)))
}

/// A deterministic generator for the shuffles (SplitMix64), so a plan is the same every run.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The code `DNSMessage.parse` throws for `wire`, or nil when it parses.
func parseError(_ wire: some Collection<UInt8>) -> DNSCodecError.Code? {
    do {
        _ = try DNSMessage.parse(wire)
        return nil
    } catch {
        return error.code
    }
}
