import Testing

@testable import DNSCodec

@Suite struct DNSCodecPlaceholderTests {
    @Test func moduleLinks() { _ = DNSCodec.self }
}
