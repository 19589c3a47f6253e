import IMAPCodec
import MailCore
import Testing

@Suite struct ModifiedUTF7Tests {
    /// (UTF-8, modified UTF-7); RFC 3501 §5.1.3's example first.
    static let pairs: [(String, String)] = [
        ("~peter/mail/\u{53F0}\u{5317}/\u{65E5}\u{672C}\u{8A9E}", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
        ("INBOX", "INBOX"),
        ("", ""),
        ("&", "&-"),
        ("Tom & Jerry", "Tom &- Jerry"),
        ("&&", "&-&-"),
        ("Entw\u{FC}rfe", "Entw&APw-rfe"),
        ("Gel\u{F6}schte Elemente", "Gel&APY-schte Elemente"),
        ("\u{65E5}&", "&ZeU-&-"),
        ("\u{1F600}", "&2D3eAA-"),
        ("Fun \u{1F389}\u{1F600} stuff", "Fun &2Dzfidg93gA- stuff"),
        ("\u{E9}", "&AOk-"),
        ("\u{E9}\u{E9}", "&AOkA6Q-"),
        ("\u{E9}\u{E9}\u{E9}", "&AOkA6QDp-"),
        ("tab\tname", "tab&AAk-name"),
        ("~", "~"),
    ]

    @Test(arguments: pairs)
    func roundTrips(utf8: String, mutf7: String) {
        #expect(ModifiedUTF7.encode(utf8) == mutf7)
        #expect(ModifiedUTF7.decode(mutf7) == utf8)
    }

    static let malformed = [
        "&",  // unterminated
        "&U,BTFw",  // unterminated run
        "&U/BTFw-",  // "/" is standard base64, not modified
        "&U=-",  // padding
        "&AGE-",  // "a" encoded: not the shortest form
        "&ACY-",  // "&" encoded instead of "&-"
        "&AOk-&AOk-",  // two runs back to back
        "&AO-",  // 12 bits: not a whole unit
        "&AOl-",  // non-zero left-over bits
        "&AOkA-",  // 6 extra bits that are a whole character's worth
        "&2D0-",  // a lone high surrogate
        "&3gA-",  // a lone low surrogate
        "&-\u{E9}",  // 8-bit octet
        "tab\t",  // control character sent raw
        "&AAAA-x",  // 24 bits, 8 left over and zero... still a partial unit beyond 6
    ]

    @Test(arguments: malformed)
    func refusesMalformed(mutf7: String) {
        #expect(ModifiedUTF7.decode(mutf7) == nil)
    }

    @Test func decodesBytes() {
        #expect(ModifiedUTF7.decode(Array("&ZeVnLIqe-".utf8)) == "\u{65E5}\u{672C}\u{8A9E}")
        #expect(ModifiedUTF7.decode([0x26, 0x2D, 0x80]) == nil)
    }

    @Test func everyEncodingDecodes() {
        let samples = ["a\u{0}b", "\u{7F}", "\u{FFFF}", "\u{10FFFF}", "x\u{1F600}y\u{E9}&z", String(repeating: "\u{E9}", count: 100)]
        for sample in samples {
            #expect(ModifiedUTF7.decode(ModifiedUTF7.encode(sample)) == sample, "\(sample.debugDescription)")
        }
    }
}
