import X509

/// Whether a server certificate is for the host name the relay asked for (RFC 6125 §6), checked
/// here as well as by NIOSSL: NIOSSL also takes a certificate whose IP address entry matches
/// the connected address when a host name was asked for, and under `required` the name must
/// match, never the address (the address came from DNS; the name from the configuration or
/// the MX record).
enum CertificateIdentity {
    /// The DNS names a certificate is for: its subjectAltName dNSName entries, or its subject's
    /// common names when it has none (RFC 6125 §6.4.4, as Postfix and OpenSSL do).
    static func dnsNames(derEncoded der: [UInt8]) throws -> [String] {
        let certificate = try Certificate(derEncoded: der)
        let alternatives = (try certificate.extensions.subjectAlternativeNames).map(Array.init) ?? []
        let names = alternatives.compactMap { name -> String? in
            if case .dnsName(let text) = name { return text }
            return nil
        }
        guard names.isEmpty else { return names }
        return certificate.subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.compactMap { String($0.value) }
    }

    /// RFC 6125 §6.4.1: the names compare case-insensitively, ignoring a final dot; §6.4.3: a
    /// `*` is honoured only as the whole leftmost label and stands for exactly one label
    /// (`*.example.net` is for `mx.example.net`, not `example.net` nor `a.mx.example.net`),
    /// and never as the whole name or right under a top-level label (`*`, `*.net`).
    static func matches(_ host: String, _ names: [String]) -> Bool {
        guard !host.isEmpty else { return false }
        let wanted = labels(host)
        return names.contains { name in
            let pattern = labels(name)
            guard pattern.count == wanted.count else { return false }
            if pattern.first == "*" {
                guard pattern.count >= 3 else { return false }
                return pattern.dropFirst() == wanted.dropFirst()
            }
            return pattern == wanted
        }
    }

    private static func labels(_ name: String) -> [Substring] {
        var name = Substring(name.lowercased())
        if name.hasSuffix(".") { name = name.dropLast() }
        return name.split(separator: ".", omittingEmptySubsequences: false)
    }
}
