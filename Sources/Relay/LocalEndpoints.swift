import DNSCodec

/// The names and SMTP sockets by which this server is known (RFC 5321 §5.1: "any of the names
/// or addresses by which it might be known in mail transactions"): an MX host, route or
/// smarthost that is one of them is this server, and mail sent there would come back.
///
/// A socket is an address *and* a port: a peer on 127.0.0.2:2525 is not this server's
/// listener on 127.0.0.1:2525, nor one on 127.0.0.2:25. A listener on the wildcard address
/// (0.0.0.0, ::) is reached at every local address: loopback and `interfaceAddresses`.
public struct LocalEndpoints: Sendable, Equatable {
    /// The SMTP gateway's listening sockets, as configured (`smtp.listeners`).
    public var listeners: [Listener]
    /// Host names in any case, a final dot or not (`smtp.hostname`, the EHLO name).
    public var names: Set<String>
    /// This machine's interface addresses, for listeners on the wildcard address.
    public var interfaceAddresses: [String]

    public struct Listener: Sendable, Hashable {
        public var address: String
        public var port: Int
        public init(address: String, port: Int) {
            self.address = address
            self.port = port
        }
    }

    public init(listeners: [Listener] = [], names: Set<String> = [], interfaceAddresses: [String] = []) {
        self.listeners = listeners
        self.names = names
        self.interfaceAddresses = interfaceAddresses
    }

    static func normalized(_ name: String) -> String {
        var name = name.lowercased()
        while name.hasSuffix(".") { name.removeLast() }
        return name
    }

    /// Whether `name` is one of this server's names.
    public func isLocal(name: String) -> Bool {
        let name = Self.normalized(name)
        return !name.isEmpty && names.contains { Self.normalized($0) == name }
    }

    /// Whether connecting to `address`:`port` would reach one of this server's listeners.
    public func isLocal(address: String, port: Int) -> Bool {
        guard let target = Self.parse(address) else { return false }
        let local = Self.isLoopback(target) || interfaceAddresses.compactMap(Self.parse).contains(target)
        return listeners.contains { listener in
            guard listener.port == port else { return false }
            if listener.address.lowercased() == "localhost" { return Self.isLoopback(target) }
            guard let bound = Self.parse(listener.address) else { return false }
            switch bound {
            case .v4(let v4) where v4.rawValue == 0:
                // 0.0.0.0: every local IPv4 address.
                if case .v4 = target { return local }
                return false
            case .v6(let v6) where v6.groups.allSatisfy({ $0 == 0 }):
                // ::, dual-stack as Linux binds it by default: every local address.
                return local
            default:
                return bound == target
            }
        }
    }

    /// An address in one canonical form: IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) as IPv4.
    static func parse(_ text: String) -> IPAddress? {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        guard let address = IPAddress(text) else { return nil }
        if case .v6(let v6) = address, v6.groups[0..<5].allSatisfy({ $0 == 0 }), v6.groups[5] == 0xffff {
            let g = v6.groups
            return .v4(IPv4Address(UInt8(g[6] >> 8), UInt8(g[6] & 0xff), UInt8(g[7] >> 8), UInt8(g[7] & 0xff)))
        }
        return address
    }

    /// 127.0.0.0/8 (RFC 1122 §3.2.1.3: any address in it is this host) and ::1.
    static func isLoopback(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let v4): v4.rawValue >> 24 == 127
        case .v6(let v6): v6.groups == [0, 0, 0, 0, 0, 0, 0, 1]
        }
    }
}

/// What is left of an MX list once this server is taken out of it (RFC 5321 §5.1).
enum SelfExclusion: Equatable {
    /// The hosts to try; this server was not among them, or only at a preference some host
    /// beat.
    case hosts([MXHost])
    /// This server is the best MX (or as good as the best), so nothing is left: the mail would
    /// come back to itself.
    case loop(host: String)
}

extension LocalEndpoints {
    /// RFC 5321 §5.1: "The relay host MUST then inspect the list for any of the names or
    /// addresses by which it might be known in mail transactions. If a matching record is
    /// found, all records at that preference level and higher-numbered ones MUST be discarded
    /// from consideration. If there are no records left at that point, it is an error
    /// condition, and the message MUST be returned as undeliverable."
    ///
    /// `hosts` in preference order; a host is this server when its name is one of ours or any
    /// of its addresses reaches one of our listeners at `port`.
    func excludingSelf(_ hosts: [MXHost], port: Int) -> SelfExclusion {
        let own = hosts.filter { host in isLocal(name: host.name) || host.addresses.contains { isLocal(address: $0, port: port) } }
        guard let ownPreference = own.map(\.preference).min() else { return .hosts(hosts) }
        let better = hosts.filter { $0.preference < ownPreference }
        guard !better.isEmpty else { return .loop(host: own.first { $0.preference == ownPreference }?.name ?? "") }
        return .hosts(better)
    }
}
