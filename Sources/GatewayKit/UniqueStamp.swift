import Foundation
import NIOConcurrencyHelpers

/// Unique `<…@host>` strings: the POP3 APOP greeting timestamp (RFC 1939 §7, "process-ID.clock
/// @hostname") and CRAM-MD5 challenges (RFC 2195 §2, "presumptively arbitrary string of random
/// digits, a timestamp, and the fully-qualified primary host name"). A process-wide counter and
/// 64 random bits make each one unique, so a digest seen once can never be replayed.
public enum UniqueStamp {
    private static let counter = NIOLockedValueBox<UInt64>(0)
    private static let processID = ProcessInfo.processInfo.processIdentifier

    public static func make(hostname: String) -> String {
        let count = counter.withLockedValue { value in
            value &+= 1
            return value
        }
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 36)
        let clock = UInt64(Date().timeIntervalSince1970)
        return "<\(processID).\(clock).\(count).\(random)@\(hostname)>"
    }
}
