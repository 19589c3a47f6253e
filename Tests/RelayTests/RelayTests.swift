import Testing

@testable import Relay

@Suite struct RelayPlaceholderTests {
    @Test func moduleLinks() { _ = Relay.self }
}
