public import NIOSSL

/// Where a gateway's certificate chain and private key are (PEM).
public struct TLSFiles: Sendable, Hashable {
    public var certificate: String
    public var key: String

    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }

    /// The configured files, or the self-signed pair `loft serve` makes in `<data>/tls` on first
    /// start when the configuration names none.
    public init(dataDirectory: String, certificate: String, key: String) {
        if certificate.isEmpty && key.isEmpty {
            self.init(certificate: dataDirectory + "/tls/cert.pem", key: dataDirectory + "/tls/key.pem")
        } else {
            self.init(certificate: certificate, key: key)
        }
    }
}

/// The TLS server context every listener of a gateway shares, from PEM files.
public enum GatewayTLS {
    /// The context for `listeners`, or nil when none of them uses TLS.
    public static func serverContext(for listeners: [Listener], files: TLSFiles?) throws -> NIOSSLContext? {
        guard listeners.contains(where: { $0.tls != .none }) else { return nil }
        guard let files else { throw GatewayError("TLS listeners need a certificate and key") }
        return try serverContext(certificatePath: files.certificate, keyPath: files.key)
    }

    /// A server context for `certificatePath` (a PEM chain, leaf first) and `keyPath`. TLS 1.2
    /// is the minimum (RFC 8996 retired 1.0 and 1.1).
    public static func serverContext(certificatePath: String, keyPath: String) throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw GatewayError("cannot load the TLS certificate \(certificatePath) and key \(keyPath): \(error)")
        }
        guard !chain.isEmpty else { throw GatewayError("no certificate in \(certificatePath)") }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }
}

/// A gateway start-up failure with a message a person can act on.
public struct GatewayError: Error, CustomStringConvertible, Sendable {
    public let description: String
    /// A listener could not be opened because its port is in use or one this user may not
    /// bind: starting again will not help until the administrator changes something.
    public let isListenFailure: Bool
    public init(_ description: String, isListenFailure: Bool = false) {
        self.description = description
        self.isListenFailure = isListenFailure
    }
}
