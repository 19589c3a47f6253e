import Testing

@testable import Relay

/// RFC 6125 §6.4: the relay's own check of a verified certificate's names.
@Suite struct CertificateIdentityTests {
    static let cases: [(String, [String], Bool)] = [
        ("mx.example.net", ["mx.example.net"], true),
        ("MX.Example.NET.", ["mx.example.net"], true),
        ("mx.example.net", ["other.example.net", "MX.EXAMPLE.NET"], true),
        ("mx.example.net", ["mx.other.test"], false),
        ("mx.example.net", [], false),
        ("mx.example.net", ["*.example.net"], true),
        ("example.net", ["*.example.net"], false),  // a wildcard is exactly one label
        ("a.mx.example.net", ["*.example.net"], false),
        ("mx.net", ["*.net"], false),  // not right under a top-level label
        ("mx", ["*"], false),
        ("mx.example.net", ["m*.example.net"], false),  // only a whole-label wildcard
        ("mx.example.net", ["mx.*.net"], false),
        ("", [""], false),
        ("127.0.0.1", ["127.0.0.1"], true),  // as text; addresses never get here (NIOSSL checks them)
    ]

    @Test(arguments: cases)
    func namesMatch(host: String, names: [String], matches: Bool) {
        #expect(CertificateIdentity.matches(host, names) == matches)
    }
}
