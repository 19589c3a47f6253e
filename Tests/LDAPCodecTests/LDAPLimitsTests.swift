import LDAPCodec
import Testing

/// Each bound of `LDAPLimits` in a BER message: at the limit it decodes, one past it fails with
/// its own code, the messageID and the operation, and the reply is the request's own response
/// with adminLimitExceeded (the session goes on).
@Suite struct LDAPLimitsTests {
    static func search(_ filter: LDAPFilter, attributes: [String] = [], controls: [LDAPControl] = []) -> [UInt8] {
        LDAPMessage(
            messageID: 4, .searchRequest(LDAPSearchRequest(baseObject: "o=x", filter: filter, attributes: attributes)), controls: controls
        )
        .encoded()
    }

    static func nested(_ depth: Int) -> LDAPFilter {
        var filter = LDAPFilter.substrings(LDAPSubstringFilter("cn", initial: "a"))
        for _ in 1..<depth { filter = .not(filter) }
        return filter
    }

    static func expectLimit(
        _ bytes: [UInt8], _ code: LDAPCodecError.Code, limits: LDAPLimits, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = decodeError(bytes, limits: limits) else {
            Issue.record("decoded", sourceLocation: sourceLocation)
            return
        }
        #expect(error.code == code, sourceLocation: sourceLocation)
        #expect(error.messageID == 4 && error.operation == .searchRequest, sourceLocation: sourceLocation)
        #expect(
            error.reply
                == .respond(
                    LDAPMessage(messageID: 4, .searchResultDone(LDAPResult(.adminLimitExceeded, diagnosticMessage: code.description)))),
            sourceLocation: sourceLocation)
    }

    @Test func filterDepth() throws {
        let limits = LDAPLimits(filterDepth: 8)
        _ = try LDAPMessage(decoding: Self.search(Self.nested(8)), limits: limits)
        Self.expectLimit(Self.search(Self.nested(9)), .filterTooDeep, limits: limits)
    }

    /// The deepest filter the limits allow (42 levels) is within the BER nesting bound, and so is
    /// one level more, which fails as too deep a filter whatever the setting.
    @Test func deepestFilter() throws {
        let limits = LDAPLimits(filterDepth: 1000)
        #expect(limits.filterDepth == 42)
        _ = try LDAPMessage(decoding: Self.search(Self.nested(42)), limits: limits)
        Self.expectLimit(Self.search(Self.nested(43)), .filterTooDeep, limits: limits)
        #expect(decodeError(Self.search(Self.nested(47)), limits: limits)?.code == .nestingTooDeep)
    }

    @Test func filterComponents() throws {
        let limits = LDAPLimits(filterComponents: 20)
        let atLimit = LDAPFilter.and((0..<19).map { .present("a\($0)") })
        _ = try LDAPMessage(decoding: Self.search(atLimit), limits: limits)
        Self.expectLimit(Self.search(.and((0..<20).map { .present("a\($0)") })), .tooManyFilterComponents, limits: limits)
        Self.expectLimit(
            Self.search(.and([.or((0..<10).map { .present("a\($0)") }), .or((0..<10).map { .present("b\($0)") })])),
            .tooManyFilterComponents, limits: limits)
    }

    @Test func searchAttributes() throws {
        let limits = LDAPLimits(searchAttributes: 3)
        _ = try LDAPMessage(decoding: Self.search(.present("cn"), attributes: ["cn", "sn", "mail"]), limits: limits)
        Self.expectLimit(Self.search(.present("cn"), attributes: ["cn", "sn", "mail", "uid"]), .tooManyAttributes, limits: limits)
    }

    @Test func valueLength() throws {
        let limits = LDAPLimits(valueLength: 8)
        let eight = String(repeating: "x", count: 8)
        _ = try LDAPMessage(decoding: Self.search(.equal("cn", eight)), limits: limits)
        _ = try LDAPMessage(
            decoding: Self.search(.substrings(LDAPSubstringFilter("cn", initial: eight, any: [eight], final: eight))), limits: limits)
        for filter: LDAPFilter in [
            .equal("cn", eight + "x"),
            .approxMatch(LDAPAttributeValueAssertion("cn", eight + "x")),
            .substrings(LDAPSubstringFilter("cn", any: [eight + "x"])),
            .extensibleMatch(LDAPMatchingRuleAssertion(type: "cn", matchValue: Array((eight + "x").utf8))),
        ] {
            Self.expectLimit(Self.search(filter), .valueTooLong, limits: limits)
        }
    }

    /// The bound applies to the values of the other requests too, each answered in its kind.
    @Test func valueLengthInOtherRequests() throws {
        let limits = LDAPLimits(valueLength: 2)
        let compare = LDAPMessage(
            messageID: 5, .compareRequest(LDAPCompareRequest(entry: "o=x", assertion: LDAPAttributeValueAssertion("cn", "abc"))))
        #expect(
            decodeError(compare.encoded(), limits: limits)?.reply
                == .respond(
                    LDAPMessage(messageID: 5, .compareResponse(LDAPResult(.adminLimitExceeded, diagnosticMessage: "value too long")))))
        let add = LDAPMessage(messageID: 6, .addRequest(LDAPAddRequest(entry: "o=x", attributes: [LDAPAttribute(type: "o", ["abc"])])))
        #expect(decodeError(add.encoded(), limits: limits)?.operation == .addRequest)
        #expect(try LDAPMessage(decoding: add.encoded(), limits: LDAPLimits(valueLength: 3)) == add)
    }

    @Test func controls() throws {
        let limits = LDAPLimits(controls: 2)
        let two = [LDAPControl(type: "1.2.3"), LDAPControl(type: "1.2.4")]
        _ = try LDAPMessage(decoding: Self.search(.present("cn"), controls: two), limits: limits)
        Self.expectLimit(Self.search(.present("cn"), controls: two + [LDAPControl(type: "1.2.5")]), .tooManyControls, limits: limits)
    }

    /// The PDU size is the framer's bound, and the decoder's for a message that did not come
    /// through a framer.
    @Test func pduSize() throws {
        let message = Self.search(.present("cn"))
        _ = try LDAPMessage(decoding: message, limits: LDAPLimits(pduSize: message.count))
        #expect(decodeError(message, limits: LDAPLimits(pduSize: message.count - 1))?.code == .pduTooLarge)
    }
}
