import IMAPCodec
import Testing

@Suite struct IMAPCommandTests {
    @Test func everyCommandHasAName() {
        #expect(IMAPCommand.noop.name == .noop)
        #expect(IMAPCommand.copy(IMAPSequenceSet([.init(.number(1), .star)]), to: IMAPMailbox("INBOX"), uid: true).name == .copy)
    }
}
