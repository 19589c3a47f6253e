import Crypto
import Foundation
import Testing

@testable import Backend

/// The Sender Rewriting Scheme as a table: what forwarding writes, what a bounce to it reads.
@Suite struct SRSTests {
    static let srs = SRS(masterKey: SymmetricKey(data: Data(repeating: 7, count: 32)))
    static let day: Int64 = 20_424

    @Test func roundTrip() throws {
        let rewritten = Self.srs.forward("Carol.Smith@Elsewhere.example", via: "example.test", day: Self.day)
        #expect(rewritten.hasPrefix("SRS0=") && rewritten.hasSuffix("=Elsewhere.example=Carol.Smith@example.test"))
        #expect(Self.srs.reverse(rewritten, day: Self.day) == "Carol.Smith@Elsewhere.example")
        // Mail systems may fold the case of a local part.
        #expect(Self.srs.reverse(rewritten.lowercased(), day: Self.day + 3) == "carol.smith@elsewhere.example")
        #expect(Self.srs.reverse(rewritten, day: Self.day + SRS.maxAgeDays) != nil)
    }

    @Test(arguments: [
        ("a day too old", 0, SRS.maxAgeDays + 1),
        ("hash changed", 1, 0),
        ("domain changed", 2, 0),
        ("local part changed", 3, 0),
    ])
    func refuses(_ name: String, _ field: Int, _ days: Int64) throws {
        let rewritten = Self.srs.forward("carol@elsewhere.example", via: "example.test", day: Self.day)
        var local = rewritten.split(separator: "@")[0].split(separator: "=", omittingEmptySubsequences: false).map(String.init)
        switch field {
        case 1: local[1] = local[1] == "AAAA" ? "BBBB" : "AAAA"
        case 2: local[3] = "attacker.example"
        case 3: local[4] = "mallory"
        default: break
        }
        let tampered = local.joined(separator: "=") + "@example.test"
        #expect(Self.srs.reverse(tampered, day: Self.day + days) == nil, "\(name)")
    }

    @Test func notSRS() {
        for address in [
            "carol@example.test", "SRS0=@example.test", "SRS0=a=b@example.test", "srs0=x=yy=d=@example.test", "SRS1=x@example.test",
        ] {
            #expect(Self.srs.reverse(address, day: Self.day) == nil, "\(address)")
        }
        // Too long to rewrite within RFC 5321's 64-octet local part: left as it is.
        let long = String(repeating: "l", count: 50) + "@elsewhere.example"
        #expect(Self.srs.forward(long, via: "example.test", day: Self.day) == long)
    }

    /// Days wrap at 1024 (two base32 characters); ages are counted across the wrap.
    @Test func dayWraps() {
        let rewritten = Self.srs.forward("carol@elsewhere.example", via: "example.test", day: 1023)
        #expect(Self.srs.reverse(rewritten, day: 1030) == "carol@elsewhere.example")
    }
}
