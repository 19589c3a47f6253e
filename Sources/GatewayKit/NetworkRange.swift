#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR notation (`192.0.2.0/24`, `2001:db8::/32`, or one address),
/// for the trusted-networks setting (Postfix's `mynetworks`).
public struct NetworkRange: Sendable, Hashable, CustomStringConvertible {
    /// 4 or 16 bytes.
    let address: [UInt8]
    let prefixLength: Int

    /// Parses `address[/prefix]`; nil when it is neither an IPv4 nor an IPv6 network.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.parseAddress(String(parts[0])) else { return nil }
        let maximum = bytes.count * 8
        var length = maximum
        if parts.count == 2 {
            guard let n = Int(parts[1]), (0...maximum).contains(n), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = n
        }
        address = bytes
        prefixLength = length
    }

    public var description: String {
        let text =
            address.count == 4
            ? address.map(String.init).joined(separator: ".")
            : stride(from: 0, to: 16, by: 2).map { String(UInt16(address[$0]) << 8 | UInt16(address[$0 + 1]), radix: 16) }
                .joined(separator: ":")
        return "\(text)/\(prefixLength)"
    }

    /// Whether the client address (the text `ClientAddress` carries) is inside the network. An
    /// IPv4 client matches only IPv4 networks.
    public func contains(_ text: String) -> Bool {
        guard let candidate = Self.parseAddress(text), candidate.count == address.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address, candidate) {
            if remaining <= 0 { return true }
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if a & mask != b & mask { return false }
            remaining -= 8
        }
        return true
    }

    static func parseAddress(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
